"""A new task is one Task subclass: its own observation entries and achieved goal reach the env's
observation through the shared Observer, its scene bodies are its own by name, its ``is_success`` is the
one the env reports, and the env still passes Gymnasium's checker."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from robokit.core.arm import ArmState
from robokit.envs.robot_env import RobotTaskEnv
from robokit.envs.tasks import TASKS
from robokit.envs.tasks.reach import Reach

OFFSET_M = np.array([0.0, 0.0, -0.05], dtype=np.float32)


class ReachWithProbe(Reach):
    """Reach with a 5 cm probe below the end effector: the probe tip is the achieved goal, and the
    observation carries the goal as the task's own entries (as Push would carry its object)."""

    obs_dim = 3

    def achieved_goal(self, state: ArmState) -> np.ndarray:
        return super().achieved_goal(state) + OFFSET_M

    def observation(self) -> np.ndarray:
        return self.goal.copy()


class DropCube(Reach):
    """An object task in miniature: a 4 cm cube dropped beside the arm; the achieved goal is the cube,
    read through the sim wrapper by the body's name, and success needs the cube at rest as well."""

    obs_dim = 6  # cube position (3, m), cube velocity (3, m/s)
    START_M = (0.1, 0.25, 0.3)

    def add_bodies(self, bullet, visuals: bool) -> None:
        bullet.add_box([0.02, 0.02, 0.02], self.START_M, name="cube", mass_kg=0.1)
        self.own("cube")

    def reset(self, np_random):
        self.bullet.move("cube", self.START_M)
        return super().reset(np_random)

    def achieved_goal(self, state: ArmState) -> np.ndarray:
        return self.position("cube").astype(np.float32)

    def observation(self) -> np.ndarray:
        return np.concatenate([self.position("cube"), self.velocity("cube")]).astype(np.float32)

    def is_success(self, achieved, desired):
        at_rest = float(np.linalg.norm(self.velocity("cube"))) < 1e-3
        return super().is_success(achieved, desired) & at_rest


def test_a_task_adds_observation_entries_and_its_own_achieved_goal(monkeypatch):
    monkeypatch.setitem(TASKS, "reach_probe", ReachWithProbe)
    env = RobotTaskEnv(robot="servo_arm", task="reach_probe")
    plain = RobotTaskEnv(robot="servo_arm", task="reach")
    obs, info = env.reset(seed=3)
    assert (
        obs["observation"].shape
        == (plain.observer.obs_dim + 3,)
        == env.observation_space["observation"].shape
    )
    assert env.observer.layout()["task"] == [plain.observer.obs_dim, plain.observer.obs_dim + 3]
    assert np.array_equal(obs["observation"][-3:], obs["desired_goal"])
    assert np.allclose(obs["achieved_goal"], obs["observation"][:3] + OFFSET_M)
    obs, reward, *_, info = env.step(np.zeros(3, dtype=np.float32))
    d = float(np.linalg.norm(obs["achieved_goal"] - obs["desired_goal"]))
    assert abs(info["distance_m"] - d) < 1e-6 and reward == (0.0 if d < 0.02 else -1.0)
    check_env(env, skip_render_check=True)
    env.close()
    plain.close()


def test_an_object_task_owns_its_bodies_reads_their_state_and_decides_success(monkeypatch):
    monkeypatch.setitem(TASKS, "drop_cube", DropCube)
    env = RobotTaskEnv(robot="servo_arm", task="drop_cube")
    assert env.task.bodies == ["table", "cube"]  # the robot's table belongs to the task's scene
    assert set(env.task.bodies) == set(env.bullet.bodies)
    obs, _ = env.reset(seed=0, options={"goal": [0.1, 0.25, 0.035]})
    assert np.allclose(obs["achieved_goal"], DropCube.START_M)
    assert np.allclose(obs["observation"][-6:], [*DropCube.START_M, 0, 0, 0])
    obs, *_, info = env.step(np.zeros(3, dtype=np.float32))
    assert obs["observation"][-1] < 0.0  # falling: negative z velocity (m/s)
    assert obs["achieved_goal"][2] < DropCube.START_M[2]
    assert not info["is_success"]  # moving
    for _ in range(40):
        obs, *_, info = env.step(np.zeros(3, dtype=np.float32))
    assert abs(obs["achieved_goal"][2] - 0.02) < 2e-3  # resting on the table top (z = 0)
    assert info["is_success"] and info["distance_m"] < 0.02  # at rest within the threshold
    obs, _ = env.reset(seed=1, options={"goal": [0.1, 0.25, 0.035]})  # reset brings the cube back
    assert np.allclose(obs["achieved_goal"], DropCube.START_M)
    with pytest.raises(KeyError, match="no body named 'ball'"):
        env.task.position("ball")
    env.close()


class NeverDone(Reach):
    """Reach whose own success rule never holds: its reward must follow that rule, not the distance."""

    def is_success(self, achieved, desired):
        return np.zeros(np.shape(achieved)[:-1], dtype=bool) if np.ndim(achieved) > 1 else False


def test_a_tasks_own_success_rule_also_decides_its_sparse_reward(monkeypatch):
    monkeypatch.setitem(TASKS, "never_done", NeverDone)
    env = RobotTaskEnv(robot="servo_arm", task="never_done")
    obs, _ = env.reset(seed=0)
    obs, _ = env.reset(seed=0, options={"goal": obs["achieved_goal"]})  # the goal is where the tip is
    obs, reward, terminated, _, info = env.step(np.zeros(3, dtype=np.float32))
    assert info["distance_m"] < 0.02 and not info["is_success"] and reward == -1.0 and not terminated
    batch = np.stack([obs["achieved_goal"]] * 4)
    assert np.array_equal(env.compute_reward(batch, batch, {}), np.full(4, -1.0, np.float32))
    plain = RobotTaskEnv(robot="servo_arm", task="reach")
    assert np.array_equal(plain.compute_reward(batch, batch, {}), np.zeros(4, np.float32))
    env.close()
    plain.close()
