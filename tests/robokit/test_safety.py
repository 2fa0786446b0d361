import numpy as np
import pytest

from robokit.kinematics import Kinematics
from robokit.robots import get_robot
from robokit.safety import Safety, SafetySettings, UnsafeTarget


@pytest.fixture(scope="module")
def safety():
    spec = get_robot("servo_arm")
    kin = Kinematics(spec)
    yield spec, kin, Safety(SafetySettings.from_spec(spec), kin)
    kin.close()


def test_non_finite_and_wrong_shape_are_refused(safety):
    spec, _, s = safety
    home = np.asarray(spec.home_q)
    for bad in (np.nan, np.inf, -np.inf):
        t = home.copy()
        t[2] = bad
        with pytest.raises(UnsafeTarget, match="non-finite"):
            s.apply(t, home)
    with pytest.raises(UnsafeTarget, match="shape"):
        s.apply(home[:4], home)


def test_limits_and_max_step(safety):
    spec, _, s = safety
    lo, hi = spec.arrays()
    q_now = np.clip(np.asarray(spec.home_q), lo, hi)
    out = s.apply(q_now + 10.0, q_now)
    assert np.all(out <= hi) and np.all(out >= lo)
    assert np.all(np.abs(out - q_now) <= spec.max_target_step + 1e-12)
    small = q_now.copy()
    small[0] += 0.05
    assert np.array_equal(s.apply(small, q_now), small)  # a safe target passes untouched


def test_floor_keep_out(safety):
    spec, kin, s = safety
    q_now = np.array([0.0, 1.2, 0.8, 0.0, 0.0, 0.0])  # leaning forward, ee 3.8 cm above the floor
    assert kin.fk(q_now)[2] > spec.floor_z_m
    q_down = np.array([0.0, 1.3, 0.9, 0.25, 0.0, 0.0])
    assert kin.fk(q_down)[2] < spec.floor_z_m  # this target would drive the tip into the floor
    before = s.counts["floor"]
    out = s.apply(q_down, q_now)
    assert kin.fk(out)[2] >= spec.floor_z_m
    assert s.counts["floor"] == before + 1


def test_settings_round_trip():
    spec = get_robot("panda")
    st = SafetySettings.from_spec(spec)
    assert SafetySettings.from_dict(st.to_dict()) == st


@pytest.mark.parametrize("robot", ["servo_arm", "panda"])
def test_floor_shortcut_changes_no_target(robot):
    """Safety with its FK-free floor shortcut returns exactly what an FK of every target gives, on random
    targets around a tip near the floor (with the ee_delta IK step's cached Jacobian, as in a tick)."""
    spec = get_robot(robot)
    kin, ref_kin = Kinematics(spec), Kinematics(spec)
    ref_kin.ee_z_lower_bound_m = lambda q_from, q_to: -np.inf  # always the FK
    fast = Safety(SafetySettings.from_spec(spec), kin)
    ref = Safety(SafetySettings.from_spec(spec), ref_kin)
    rng = np.random.default_rng(2)
    lo, hi = spec.arrays()
    shortcuts = 0
    for _ in range(400):
        q_now = rng.uniform(lo, hi)
        if kin.fk(q_now)[2] < spec.floor_z_m or kin.fk(q_now)[2] > spec.floor_z_m + 0.15:
            continue
        target = kin.ik_step(q_now, kin.fk(q_now) + rng.uniform(-0.05, 0.05, 3))
        target += rng.uniform(-0.05, 0.05, target.shape) * (rng.random() < 0.5)
        if rng.random() < 0.2:  # tiny steps, where PyBullet's float32 FK rounding matters
            target = q_now + rng.uniform(-1e-6, 1e-6, q_now.shape)
        before = kin.fk(q_now).copy()
        shortcuts += kin.ee_z_lower_bound_m(q_now, target) >= spec.floor_z_m
        assert np.array_equal(kin.fk(q_now), before)
        kin.ik_step(q_now, kin.fk(q_now) + 0.01)  # the Jacobian at q_now cached again
        assert np.array_equal(fast.apply(target, q_now), ref.apply(target, q_now))
    assert fast.counts == ref.counts
    assert shortcuts > 20 and fast.counts["floor"] > 0  # both paths ran
    kin.close()
    ref_kin.close()
