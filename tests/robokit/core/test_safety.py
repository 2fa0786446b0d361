import numpy as np
import pytest

from robokit.core.kinematics import Kinematics
from robokit.core.safety import Safety, SafetySettings, UnsafeTarget
from robokit.robots import get_robot


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


def _below_floor_pose(spec, kin, floor):
    """A pose whose tip is below the floor, found by lowering the shoulder from home."""
    q = np.asarray(spec.home_q, dtype=float)
    for shoulder in np.linspace(0.0, 1.5, 61):
        q[1] = shoulder
        if kin.fk(q)[2] < floor - 0.005:
            return q.copy()
    raise AssertionError("no pose below the floor")


def test_an_arm_that_overshot_below_the_floor_is_held_at_the_last_safe_target_not_where_it_is():
    """A sim arm with momentum (or a sagging one) passes its target; holding 'where it is now' would
    ratchet it down tick by tick (found deploying a diving Panda policy)."""
    spec = get_robot("servo_arm")
    kin = Kinematics(spec)
    try:
        s = Safety(SafetySettings.from_spec(spec), kin)
        home = np.asarray(spec.home_q, dtype=float)
        assert np.array_equal(s.apply(home, home), home)  # passes: the last safe target
        low = _below_floor_pose(spec, kin, spec.floor_z_m)
        deeper = low.copy()
        deeper[1] += 0.05
        out = s.apply(deeper, low)  # the arm is below the floor and the policy pushes further down
        assert kin.fk(out)[2] >= kin.fk(low)[2]  # never deeper than where it already is
        assert not np.array_equal(out, low)  # and not "stay down there"
        up = low.copy()
        up[1] -= 0.05
        assert np.array_equal(s.apply(up, low), up)  # a target that raises the tip is the way out
    finally:
        kin.close()


def test_the_floor_fallback_stays_inside_the_joint_limits_when_the_arm_reads_just_outside_them():
    """Firmware angles are quantised to 1e-4 rad: an elbow at its limit reads 1.5708 > pi/2. Holding or
    stepping from there must still give a target inside the limits (HardwareArm refuses others)."""
    spec = get_robot("servo_arm")
    kin = Kinematics(spec)
    try:
        s = Safety(SafetySettings.from_spec(spec), kin)
        lo, hi = spec.arrays()
        rng = np.random.default_rng(3)
        for _ in range(200):
            q_now = rng.uniform(lo, hi)
            q_now[rng.integers(0, 5)] = hi[2] + 3.7e-6  # just past a limit, as the firmware reports it
            target = q_now + rng.uniform(-0.3, 0.3, q_now.shape)
            out = s.apply(target, q_now)
            assert np.all(out >= lo) and np.all(out <= hi)
    finally:
        kin.close()
