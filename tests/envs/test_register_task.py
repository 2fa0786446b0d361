"""A task from outside the repository: ``register_task`` names it, then a robot folder registered from a
temporary folder lists it and gets its env ids, with no robokit file edited."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from robokit.envs import registration
from robokit.envs.registration import register_task
from robokit.envs.tasks import TASKS, Task
from robokit.envs.tasks.reach import Reach
from robokit.robots import register_robot, registry


class HighReach(Reach):
    """Reach whose goals are 5 cm above Reach's."""

    def reset(self, np_random):
        goal = super().reset(np_random) + np.float32(0.05)
        self.set_goal(goal)
        return goal


@pytest.fixture
def clean_tasks():
    tasks, parts = dict(TASKS), dict(registration.ID_PARTS["task"])
    yield
    TASKS.clear()
    TASKS.update(tasks)
    registration.ID_PARTS["task"].clear()
    registration.ID_PARTS["task"].update(parts)


@pytest.mark.usefixtures("clean_registry", "clean_tasks")
def test_a_registered_task_gets_env_ids_on_a_robot_folder_that_lists_it(tmp_path):
    import gymnasium as gym

    register_task("high_reach", HighReach)
    register_task("high_reach", HighReach)  # again: nothing happens
    folder = tmp_path / "tall_arm"
    shutil.copytree(Path(registry.__file__).parent / "servo_arm", folder)
    text = (folder / "robot.yaml").read_text()
    text = text.replace("envs:", "envs:\n  - {task: high_reach, train: {td3: {steps: 100}}}", 1)
    (folder / "robot.yaml").write_text(text.replace("  reach: {distance_threshold_m: 0.02}", "  reach: {}"))
    register_robot(folder)
    env = gym.make("robokit/TallArmHighReach-v0")
    obs, _ = env.reset(seed=0)
    assert isinstance(env.unwrapped.task, HighReach) and obs["desired_goal"].shape == (3,)
    env.close()


@pytest.mark.usefixtures("clean_tasks")
@pytest.mark.parametrize(
    "args, words",
    [
        (("High-Reach", HighReach), "snake_case"),
        (("high_reach", dict), "not a robokit.envs.tasks.Task"),
        (("reach", HighReach), "a task named 'reach' exists"),
        (("other_reach", HighReach, "Reach"), "belongs to task 'reach'"),
        (("high_reach", HighReach, "high"), "CamelCase"),
    ],
)
def test_bad_task_registrations_are_refused(args, words):
    with pytest.raises(ValueError, match=words):
        register_task(*args)
    assert "High-Reach" not in TASKS and TASKS.get("other_reach") is None


class Hover(Task):  # a subclass that writes no constructor of its own
    """Hold the end effector at a fixed point: the smallest Task a user can write."""

    default_settings = {"distance_threshold_m": 0.03, "height_m": 0.2}

    def reset(self, np_random):
        self.set_goal(np.array([0.15, 0.0, self.settings["height_m"]]))
        return self.goal.copy()

    def achieved_goal(self, state):
        return np.asarray(self.kin.fk(state.q), dtype=np.float32)


@pytest.mark.usefixtures("clean_tasks")
def test_a_task_without_its_own_constructor_takes_the_robots_settings():
    from robokit.envs.robot_env import RobotTaskEnv

    register_task("hover", Hover)
    env = RobotTaskEnv(robot="servo_arm", task="hover")
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.task.distance_threshold_m == 0.03 and obs["desired_goal"][2] == pytest.approx(0.2)
    env.close()
    with pytest.raises(ValueError, match="unknown robot setting"):
        Hover(env.robot, env.kin, settings={"height": 1.0})
