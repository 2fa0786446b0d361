"""Each robot's declared workspace agrees with its kinematics and its Reach goals, and goals outside it
are refused with the workspace in the message."""

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs  # noqa: F401
from robokit.core.bullet_client import p
from robokit.core.kinematics import Kinematics, link_index
from robokit.robots import GoalOutsideWorkspace, get_robot

ENV = {
    "servo_arm": "robokit/ServoArmReach-v0",
    "panda": "robokit/PandaReach-v0",
    "so101": "robokit/So101Reach-v0",
}
SHOULDER_JOINT = {"servo_arm": "shoulder", "panda": "panda_joint2", "so101": "shoulder_lift"}


@pytest.mark.parametrize("name", ["servo_arm", "panda", "so101"])
def test_reach_shell_contains_every_reachable_tip_position_and_is_tight(name):
    spec = get_robot(name)
    kin = Kinematics(spec)
    try:
        lo, hi = spec.arrays()
        rng = np.random.default_rng(1)
        tips = np.array([kin.fk(rng.uniform(lo, hi)) for _ in range(4000)])
    finally:
        kin.close()
    d = np.linalg.norm(tips - np.asarray(spec.workspace.shoulder_m), axis=1)
    assert d.max() <= spec.workspace.reach_m + 1e-6
    assert d.max() >= spec.workspace.reach_m - 0.03  # the shell is not padded far beyond the arm
    assert d.min() >= spec.workspace.min_reach_m - 1e-6


@pytest.mark.parametrize("name", ["servo_arm", "panda", "so101"])
def test_shoulder_is_where_the_shoulder_joint_is(name):
    spec = get_robot(name)
    cid = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(spec.urdf, useFixedBase=True, physicsClientId=cid)
        j = [
            i
            for i in range(p.getNumJoints(body, physicsClientId=cid))
            if p.getJointInfo(body, i, physicsClientId=cid)[1].decode() == SHOULDER_JOINT[name]
        ][0]
        assert j == link_index(body, p.getJointInfo(body, j, physicsClientId=cid)[12].decode(), cid)
        pos = p.getLinkState(body, j, physicsClientId=cid)[4]
    finally:
        p.disconnect(cid)
    np.testing.assert_allclose(pos, spec.workspace.shoulder_m, atol=1e-3)


@pytest.mark.parametrize("name", ["servo_arm", "panda", "so101"])
def test_every_training_goal_is_accepted_without_a_warning(name):
    spec = get_robot(name)
    env = gym.make(ENV[name])
    try:
        for seed in range(300):
            goal = env.reset(seed=seed)[0]["desired_goal"]
            assert spec.check_goal(goal) == []
    finally:
        env.close()


@pytest.mark.parametrize(
    "goal, words",
    [
        ((10.0, 10.0, 10.0), "beyond the reach"),
        ((0.0, 0.0, -1.0), "below the floor"),
        ((1e308, 0.0, 0.2), "beyond the reach"),
        ((0.2, 0.0, float("nan")), "finite"),
        ((0.0, 0.0, 0.10), "closer than"),
    ],
)
def test_unreachable_goals_are_refused_with_the_workspace_stated(goal, words):
    spec = get_robot("servo_arm")
    with pytest.raises(GoalOutsideWorkspace) as err:
        spec.check_goal(goal)
    assert words in str(err.value)
    assert "servo_arm workspace: reachable: 0.12-0.35 m from the shoulder" in str(err.value)


def test_a_reachable_goal_outside_the_training_region_gets_a_warning():
    spec = get_robot("servo_arm")
    warnings = spec.check_goal((0.15, 0.0, 0.015))  # above the 1 cm floor, below trained goals (3 cm)
    assert len(warnings) == 1 and "outside the region training sampled goals from" in warnings[0]
