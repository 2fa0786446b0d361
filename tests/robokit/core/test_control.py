import numpy as np
import pytest

from robokit.core.control import CONTROL_MODES, Controller, check_action
from robokit.core.kinematics import Kinematics
from robokit.robots import get_robot


@pytest.fixture(scope="module")
def servo():
    spec = get_robot("servo_arm")
    kin = Kinematics(spec)
    yield spec, kin
    kin.close()


def test_modes_and_action_dims(servo):
    spec, kin = servo
    assert CONTROL_MODES == ("joint_delta", "joint_absolute", "ee_delta")
    assert Controller(spec, "ee_delta", kin).action_dim == 3
    assert Controller(spec, "joint_delta", kin).action_dim == 5
    assert Controller(spec, "joint_delta", kin, gripper_actuated=True).action_dim == 6
    with pytest.raises(ValueError, match="unknown control mode"):
        Controller(spec, "torque", kin)


def test_joint_delta_and_absolute(servo):
    spec, kin = servo
    home = np.asarray(spec.home_q)
    a = np.array([1.0, -0.5, 0.0, 0.2, 0.0])
    out = Controller(spec, "joint_delta", kin).targets(a, home)
    assert np.allclose(out[:5], home[:5] + a * spec.joint_delta_scale)
    assert out[5] == home[5]  # gripper not actuated: holds home
    lo, hi = spec.arrays()
    absol = Controller(spec, "joint_absolute", kin)
    assert np.allclose(absol.targets(-np.ones(5), home)[:5], lo[:5])
    assert np.allclose(absol.targets(np.ones(5), home)[:5], hi[:5])
    assert np.allclose(absol.targets(np.zeros(5), home)[:5], (lo[:5] + hi[:5]) / 2)


def test_ee_delta_moves_the_end_effector_by_the_scale(servo):
    spec, kin = servo
    home = np.asarray(spec.home_q)
    ctrl = Controller(spec, "ee_delta", kin)
    for a in ([1, 0, 0], [0, -1, 0], [0, 0, 1], [0.5, 0.5, -0.5]):
        a = np.asarray(a, dtype=float)
        moved = kin.fk(ctrl.targets(a, home)) - kin.fk(home)
        want = a * spec.ee_delta_scale_m
        assert np.linalg.norm(moved - want) < 0.2 * np.linalg.norm(want)  # one DLS step: close, not exact


def test_gripper_actuated_maps_onto_open_closed(servo):
    spec, kin = servo
    ctrl = Controller(spec, "ee_delta", kin, gripper_actuated=True)
    home = np.asarray(spec.home_q)
    assert ctrl.targets(np.array([0, 0, 0, 1.0]), home)[5] == pytest.approx(spec.gripper.open_q[0])
    assert ctrl.targets(np.array([0, 0, 0, -1.0]), home)[5] == pytest.approx(spec.gripper.closed_q[0])


def test_bad_actions():
    assert np.array_equal(check_action([2.0, -3.0, 0.5], 3), [1.0, -1.0, 0.5])  # clipped, documented
    with pytest.raises(ValueError, match="NaN or inf"):
        check_action([np.nan, 0, 0], 3)
    with pytest.raises(ValueError, match="NaN or inf"):
        check_action([0, np.inf, 0], 3)
    with pytest.raises(ValueError, match="shape"):
        check_action([0, 0], 3)
