"""Task-state sources: a task that needs object state is refused without a source (before the arm is
touched, naming what is missing); with one, its entries reach the observation. The task here is a
test-only declaration on a Reach subclass; the arm is a FakeArm (a test double, no physics)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from robokit.core.observer import observation_dim
from robokit.envs.tasks.reach import Reach
from robokit.policies import scripted_policy
from robokit.robots import get_robot
from robokit.runtime.fake_arm import FakeArm
from robokit.runtime.loop import DeployLoop
from robokit.runtime.task_state import MissingTaskState, TaskNeeds, needs_for_spec

OBJECT_M = np.array([0.18, -0.02, 0.01])


class ReachAnObject(Reach):
    """Test-only: a task whose observation carries an object's position, read on hardware from a
    task-state source named "object_pos_m", which is also the achieved goal."""

    obs_dim = 3
    task_state_entries = ("object_pos_m",)
    achieved_goal_entry = "object_pos_m"


class ObjectSource:
    """A task-state source giving a fixed object position (a camera would track it)."""

    entries = ("object_pos_m",)

    def __init__(self) -> None:
        self.reads = 0

    def read(self) -> dict[str, np.ndarray]:
        self.reads += 1
        return {"object_pos_m": OBJECT_M.copy()}


class StillPolicy:
    """Zero actions, with a spec whose observation has the object's 3 entries."""

    def __init__(self) -> None:
        spec = copy.deepcopy(scripted_policy().spec)
        robot = get_robot("servo_arm")
        spec["obs_spaces"]["observation"]["shape"] = [observation_dim(robot.n_joints, 3, 3)]
        spec["obs_spaces"]["observation"]["low"] = [-10.0] * spec["obs_spaces"]["observation"]["shape"][0]
        spec["obs_spaces"]["observation"]["high"] = [10.0] * spec["obs_spaces"]["observation"]["shape"][0]
        spec["obs_layout"] = {**spec["obs_layout"], "task": [robot.n_joints + 6, robot.n_joints + 9]}
        spec["network"] = {"hidden": [4], "activation": "relu", "output": "tanh"}
        self.spec, self.seen = spec, []

    def act(self, obs: dict) -> np.ndarray:
        self.seen.append({k: np.array(v) for k, v in obs.items()})
        return np.zeros(3, dtype=np.float32)


def test_reach_needs_no_task_state():
    needs = needs_for_spec(scripted_policy().spec)
    assert needs.task == "reach" and needs.state_entries == () and needs.obs_dim == 0


def test_a_task_needing_object_state_is_refused_without_a_source_before_the_arm(tmp_path):
    arm = FakeArm()
    with pytest.raises(MissingTaskState, match="needs task state \\(object_pos_m\\)") as exc:
        DeployLoop(StillPolicy(), arm, robot=arm.spec, task=ReachAnObject, log_dir=tmp_path / "log")
    assert "no task-state source" in str(exc.value)
    assert arm.calls == ["connect"] and arm.reads == 0 and not (tmp_path / "log").exists()


def test_an_undeclared_task_observation_is_refused_too():
    class Undeclared(Reach):
        obs_dim = 3  # entries, but no task_state_entries saying where they come from

    with pytest.raises(MissingTaskState, match="3 undeclared observation entries"):
        DeployLoop(StillPolicy(), None, robot=get_robot("servo_arm"), task=TaskNeeds.of(Undeclared))


def test_with_a_source_the_entries_reach_the_observation_and_are_the_achieved_goal(tmp_path):
    policy, source = StillPolicy(), ObjectSource()
    arm = FakeArm(enabled=True)
    loop = DeployLoop(policy, None, robot=arm.spec, task=ReachAnObject, sources=[source])
    loop.arm = arm
    goal = OBJECT_M + np.array([0.0, 0.0, 0.01])
    summary = loop.run([goal], seconds_per_goal=0.2)
    loop.close()
    obs = policy.seen[-1]
    assert np.allclose(obs["observation"][-3:], OBJECT_M) and np.allclose(obs["achieved_goal"], OBJECT_M)
    assert source.reads >= 5 and summary.goals[0]["reached"]  # 1 cm from the object: inside 2 cm
    assert summary.goals[0]["reach_error_m"] == pytest.approx(0.01, abs=1e-6)
