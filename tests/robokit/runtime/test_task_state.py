"""Task-state sources: a task that reads object state is refused without a source (before the arm is
touched, naming what is missing); with one, the task's own code reads it and its entries reach the
observation. The task here is a test-only Reach subclass reading one body; the arm is a FakeArm (a test
double, no physics)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from robokit.core.arm import ArmState
from robokit.core.kinematics import Kinematics
from robokit.core.observer import observation_dim
from robokit.envs.tasks.reach import Reach
from robokit.policies import scripted_policy
from robokit.robots import get_robot
from robokit.runtime.fake_arm import FakeArm
from robokit.runtime.loop import DeployLoop
from robokit.runtime.task_state import BodyState, MissingTaskState, SensedScene, deploy_task

OBJECT_M = np.array([0.18, -0.02, 0.01])


class ReachAnObject(Reach):
    """Test-only: a task whose observation carries the position of its body "object" (read by name, as
    an object task reads the simulator), which is also the achieved goal."""

    obs_dim = 3
    state_bodies = ("object",)

    def observation(self) -> np.ndarray:
        return self.position("object").astype(np.float32)

    def achieved_goal(self, state: ArmState) -> np.ndarray:
        return self.position("object").astype(np.float32)


class ObjectSource:
    """A task-state source giving a fixed object position (a camera would track it)."""

    bodies = ("object",)

    def __init__(self) -> None:
        self.reads = 0

    def read(self) -> dict[str, np.ndarray]:
        self.reads += 1
        return {"object": OBJECT_M.copy()}


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
    robot = get_robot("servo_arm")
    kin = Kinematics(robot)
    task, notes = deploy_task(scripted_policy().spec, robot, kin)
    kin.close()
    assert type(task) is Reach and task.state_bodies == () and task.obs_dim == 0 and notes == []


def test_a_task_needing_object_state_is_refused_without_a_source_before_the_arm(tmp_path):
    arm = FakeArm()
    with pytest.raises(MissingTaskState, match="needs task state \\(object\\)") as exc:
        DeployLoop(StillPolicy(), arm, robot=arm.spec, task=ReachAnObject, log_dir=tmp_path / "log")
    assert "no task-state source" in str(exc.value)
    assert arm.calls == ["connect"] and arm.reads == 0 and not (tmp_path / "log").exists()


def test_an_undeclared_task_observation_is_refused_too():
    class Undeclared(Reach):
        obs_dim = 3  # entries, but no state_bodies saying what they are read from

    with pytest.raises(MissingTaskState, match="3 undeclared observation entries"):
        DeployLoop(StillPolicy(), None, robot=get_robot("servo_arm"), task=Undeclared)


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


def test_a_source_that_leaves_out_a_body_or_gives_a_bad_value_is_an_error_not_a_guess():
    class Bad:
        bodies = ("object",)

        def __init__(self, value) -> None:
            self.value = value

        def read(self) -> dict:
            return self.value

    with pytest.raises(ValueError, match="no state for object"):
        SensedScene("t", ("object",), [Bad({})]).refresh()
    with pytest.raises(ValueError, match="position_m must be 3 finite numbers"):
        SensedScene("t", ("object",), [Bad({"object": [0.1, np.nan, 0.0]})]).refresh()
    scene = SensedScene(
        "t", ("object",), [Bad({"object": BodyState([0.1, 0.2, 0.3], velocity_m_s=[1, 0, 0])})]
    )
    scene.refresh()
    assert scene.position("object").tolist() == [0.1, 0.2, 0.3] and scene.velocity("object")[0] == 1.0
    assert scene.orientation("object").tolist() == [0.0, 0.0, 0.0, 1.0]
