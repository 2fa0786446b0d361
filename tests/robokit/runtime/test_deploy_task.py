"""The deploy runs the env's own Task code: built from the policy's env id with the robot folder's task
settings, it gives the observation entries, the achieved goal and success; the policy spec's success
distance wins over the robot's, and the summary says when they disagree. The arm is a FakeArm (a test
double, no physics); the env it is compared with is the real PyBullet one."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest

from robokit.core.kinematics import Kinematics
from robokit.envs.tasks.reach import Reach
from robokit.policies import scripted_policy
from robokit.robots import get_robot, robot_folder
from robokit.runtime.fake_arm import FakeArm
from robokit.runtime.loop import DeployLoop, PolicyMismatch


class Zero:
    def __init__(self, spec: dict) -> None:
        self.spec = spec

    def act(self, obs: dict) -> np.ndarray:
        return np.zeros(3, dtype=np.float32)


def _goal_above_home(robot_name: str, dz_m: float) -> np.ndarray:
    robot = get_robot(robot_name)
    kin = Kinematics(robot)
    goal = kin.fk(np.asarray(robot.home_q)) + np.array([0.0, 0.0, dz_m])
    kin.close()
    return goal


def test_the_loop_builds_the_policys_task_with_the_robots_task_settings():
    panda = scripted_policy("robokit/PandaReach-v0")
    loop = DeployLoop(panda, None, robot=get_robot("panda"))
    try:
        assert type(loop.task) is Reach and loop.task.kin is loop.kin
        box = robot_folder("panda").task_settings("reach")["goal_box_m"]
        assert np.allclose(loop.task.goal_box_m, box)  # the Panda's settings, not Reach's defaults
        assert loop.tolerance_m == loop.task.distance_threshold_m == 0.05
    finally:
        loop.close()


@pytest.mark.parametrize("env_id", ["robokit/ServoArmReach-v0", "robokit/PandaReach-v0"])
def test_deploy_observations_and_achieved_goals_are_the_envs_for_the_same_state(env_id):
    """Step the real env, then give the loop's task and observer the env's arm state, goal and last
    action: the observation and the achieved goal are the env's, bit for bit."""
    policy = scripted_policy(env_id)
    env = gym.make(env_id)
    obs, _ = env.reset(seed=3)
    u = env.unwrapped
    loop = DeployLoop(policy, None, robot=u.robot)
    try:
        for _ in range(5):
            action = np.asarray(policy.act(obs), dtype=np.float32)
            obs, *_ = env.step(action)
            state = u._state
            task = loop.task
            mine = loop.observer.observe(state, obs["desired_goal"], u._last_action, None)
            mine["achieved_goal"] = task.achieved_goal(state)
            for key in ("observation", "achieved_goal", "desired_goal"):
                assert mine[key].dtype == obs[key].dtype and np.array_equal(mine[key], obs[key]), key
            assert task.is_success(mine["achieved_goal"], obs["desired_goal"]) == u.task.is_success(
                obs["achieved_goal"], obs["desired_goal"]
            )
    finally:
        loop.close()
        env.close()


def test_a_spec_without_a_threshold_gets_the_robots_task_setting_and_says_so(tmp_path):
    """A Panda goal 3 cm above where the tip stays: reached with the Panda's own 0.05 m (robot.yaml),
    where the old fixed 0.02 m default would have missed it."""
    spec = copy.deepcopy(scripted_policy("robokit/PandaReach-v0").spec)
    del spec["distance_threshold_m"]
    arm = FakeArm("panda", enabled=True, q_is_measured=True)
    loop = DeployLoop(Zero(spec), None, robot=arm.spec, log_dir=tmp_path / "log")
    loop.arm = arm
    assert loop.tolerance_m == 0.05
    summary = loop.run([_goal_above_home("panda", 0.03)], seconds_per_goal=0.2)
    loop.close()
    assert summary.goals[0]["reached"] and summary.success_threshold_m == 0.05
    assert any("records none" in n and "0.05 m" in n for n in summary.notes)


def test_when_spec_and_robot_disagree_the_spec_wins_and_the_summary_says_so(tmp_path):
    spec = {**copy.deepcopy(scripted_policy("robokit/PandaReach-v0").spec), "distance_threshold_m": 0.02}
    arm = FakeArm("panda", enabled=True, q_is_measured=True)
    loop = DeployLoop(Zero(spec), None, robot=arm.spec, log_dir=tmp_path / "log")
    loop.arm = arm
    summary = loop.run([_goal_above_home("panda", 0.03)], seconds_per_goal=0.2)
    loop.close()
    assert not summary.goals[0]["reached"] and summary.success_threshold_m == 0.02
    note = [n for n in summary.notes if n.startswith("success threshold")]
    assert note == [
        "success threshold: the policy file's 0.02 m is used; the robot's task settings give 0.05 m"
    ]


def test_agreeing_thresholds_add_no_note(tmp_path):
    arm = FakeArm("servo_arm", enabled=True)
    loop = DeployLoop(scripted_policy(), None, robot=arm.spec)
    loop.arm = arm
    summary = loop.run([np.array([0.20, 0.05, 0.15])], seconds_per_goal=0.1)
    loop.close()
    assert not [n for n in summary.notes if n.startswith("success threshold")]


def test_a_policy_whose_goal_size_is_not_the_tasks_is_refused():
    spec = copy.deepcopy(scripted_policy().spec)
    for key in ("desired_goal", "achieved_goal"):
        spec["obs_spaces"][key] = {
            **spec["obs_spaces"][key],
            "shape": [4],
            "low": [-5.0] * 4,
            "high": [5.0] * 4,
        }
    with pytest.raises(
        PolicyMismatch, match=r"desired_goal.: policy expects shape \[4\], target gives \[3\]"
    ):
        DeployLoop(Zero(spec), None, robot=get_robot("servo_arm"))


def test_a_policy_for_an_env_id_this_robokit_does_not_know_is_refused_not_run_as_reach(tmp_path):
    """The attack on issue 10 relabelled a servo-arm Reach policy robokit/ServoArmPush-v0: the deploy ran
    it as Reach (exit 0) and said so only after the run. Now it is refused before any arm exists."""
    import copy

    from robokit.policies import PolicyMismatchError
    from robokit.policies.scripted import scripted_policy
    from robokit.runtime.loop import DeployLoop

    policy = scripted_policy("robokit/ServoArmReach-v0")
    policy.spec = {**copy.deepcopy(policy.spec), "env_id": "robokit/ServoArmSlide-v0"}  # no such id
    with pytest.raises(PolicyMismatchError, match="not one this robokit knows"):
        DeployLoop(policy, log_dir=tmp_path / "log")
    assert not (tmp_path / "log").exists()
    # ServoArmPush-v0 exists since issue 11: the relabelled Reach policy is refused on its observation
    policy.spec = {**copy.deepcopy(policy.spec), "env_id": "robokit/ServoArmPush-v0"}
    with pytest.raises(PolicyMismatchError):
        DeployLoop(policy, log_dir=tmp_path / "log")
    assert not (tmp_path / "log").exists()
