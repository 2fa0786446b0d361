"""A new task is one Task subclass: its own observation entries and achieved goal reach the env's
observation through the shared Observer, and the env still passes Gymnasium's checker."""

import numpy as np
from gymnasium.utils.env_checker import check_env

from robokit.envs.robot_env import RobotTaskEnv
from robokit.envs.tasks import TASKS
from robokit.envs.tasks.reach import Reach

OFFSET_M = np.array([0.0, 0.0, -0.05], dtype=np.float32)


class ReachWithProbe(Reach):
    """Reach with a 5 cm probe below the end effector: the probe tip is the achieved goal, and the
    observation carries the goal as the task's own entries (as Push would carry its object)."""

    obs_dim = 3
    achieved_goal_is_ee = False

    def achieved_goal(self, ee_pos_m: np.ndarray) -> np.ndarray:
        return np.asarray(ee_pos_m, dtype=np.float32) + OFFSET_M

    def observation(self) -> np.ndarray:
        return self.goal.copy()


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
