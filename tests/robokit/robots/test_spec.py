import dataclasses

import numpy as np
import pytest

from robokit.core.bullet_client import p
from robokit.core.kinematics import joint_index_map
from robokit.robots import get_robot, list_robots


@pytest.mark.parametrize("name", ["servo_arm", "panda", "so101"])
def test_spec_matches_its_urdf(name):
    spec = get_robot(name)
    cid = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(spec.urdf, useFixedBase=True, physicsClientId=cid)
        joints, movable = joint_index_map(body, spec.joint_names, cid)
        assert sorted(joints) == movable  # every movable joint is in the spec, once
        for i, j in enumerate(joints):
            info = p.getJointInfo(body, j, physicsClientId=cid)
            assert info[8] == pytest.approx(spec.lower[i], abs=1e-4)
            assert info[9] == pytest.approx(spec.upper[i], abs=1e-4)
    finally:
        p.disconnect(cid)
    lo, hi = spec.arrays()
    assert np.all(lo <= np.asarray(spec.home_q)) and np.all(np.asarray(spec.home_q) <= hi)


def test_servo_arm_is_a_hobby_arm():
    spec = get_robot("servo_arm")
    assert spec.joint_names == ("base_yaw", "shoulder", "elbow", "wrist_pitch", "wrist_roll", "gripper")
    lo, hi = spec.arrays()
    assert np.all(hi - lo <= np.pi + 1e-9)  # 180-degree servos
    assert spec.servo_driven and spec.control_hz == 25.0
    assert spec.gripper_indices == (5,) and spec.arm_indices == (0, 1, 2, 3, 4)


def test_servo_arm_reach_is_so100_class():
    from robokit.core.kinematics import Kinematics

    spec = get_robot("servo_arm")
    kin = Kinematics(spec)
    q = np.zeros(6)
    q[1] = np.pi / 2  # shoulder forward, everything else straight: the arm lies horizontal
    ee = kin.fk(q)
    reach = np.hypot(ee[0], ee[1])
    assert 0.33 <= reach <= 0.40
    kin.close()


def test_unknown_robot_and_bad_spec_raise():
    assert set(list_robots()) == {"servo_arm", "panda", "so101"}
    with pytest.raises(KeyError, match="unknown robot"):
        get_robot("ur5")
    spec = get_robot("servo_arm")
    with pytest.raises(ValueError, match="home_q"):
        dataclasses.replace(spec, home_q=(0.0,) * 5)
    with pytest.raises(ValueError, match="contain home_q"):
        dataclasses.replace(spec, home_q=(3.0, 0, 0, 0, 0, 0))
    with pytest.raises(FileNotFoundError):
        dataclasses.replace(spec, urdf="/nonexistent.urdf")
