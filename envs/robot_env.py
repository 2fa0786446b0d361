"""RobotTaskEnv: a Gymnasium goal env composing SimArm + Task with the shared core.

A step validates the action (NaN/inf -> ValueError; outside [-1, 1] -> clipped), maps it with the
shared Controller, passes the targets through the shared Safety layer, simulates one control period,
then observes with the shared Observer: exactly the path a deploy takes on hardware.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from robokit.arm import ArmState
from robokit.control import Controller, check_action
from robokit.envs.bullet import Bullet
from robokit.envs.sim_arm import SimArm
from robokit.envs.tasks import TASKS
from robokit.kinematics import Kinematics
from robokit.observer import Observer
from robokit.robots import get_robot
from robokit.safety import Safety, SafetySettings

CAMERAS = {  # target (m), distance (m), yaw, pitch (deg)
    "servo_arm": {"target": (0.12, 0.0, 0.12), "distance_m": 0.6, "yaw_deg": 50.0, "pitch_deg": -28.0},
    "panda": {"target": (0.5, 0.0, 0.15), "distance_m": 1.4, "yaw_deg": 45.0, "pitch_deg": -30.0},
}


class RobotTaskEnv(gym.Env):
    """robot x task x control mode. Observation: Dict(observation, achieved_goal, desired_goal)."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 25}

    def __init__(
        self,
        robot: str = "servo_arm",
        task: str = "reach",
        control_mode: str = "ee_delta",
        reward_type: str = "sparse",
        render_mode: str | None = None,
        render_width: int = 480,
        render_height: int = 360,
        camera: dict | None = None,
        sim_timestep_s: float | None = None,
        sim_substeps: int | None = None,
        solver_iterations: int | None = None,
        task_kwargs: dict | None = None,
    ) -> None:
        robot_spec = get_robot(robot)
        overrides = {
            k: v for k, v in (("sim_timestep_s", sim_timestep_s), ("sim_substeps", sim_substeps)) if v
        }
        self.robot = dataclasses.replace(robot_spec, **overrides) if overrides else robot_spec
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, not {render_mode!r}"
            )
        self.render_mode = render_mode
        self.render_width, self.render_height = render_width, render_height
        self.camera = {**CAMERAS.get(robot, CAMERAS["servo_arm"]), **(camera or {})}
        self.metadata = {**self.metadata, "render_fps": self.robot.control_hz}
        self.control_period_s = self.robot.control_period_s

        self.bullet = Bullet(
            self.robot.sim_timestep_s, gui=render_mode == "human", solver_iterations=solver_iterations
        )
        self._build_scene()
        self.arm = SimArm(self.robot, self.bullet)
        self.kin = Kinematics(self.robot)
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)}")
        self.task = TASKS[task](self.robot, self.kin, reward_type=reward_type, **(task_kwargs or {}))
        self.task.setup_scene(self.bullet, visuals=render_mode is not None)
        self.arm.save()  # reset() restores this bit-exactly

        self.controller = Controller(self.robot, control_mode, self.kin, self.task.gripper_actuated)
        self.safety_settings = SafetySettings.from_spec(self.robot)
        self.safety = Safety(self.safety_settings, self.kin)
        self.observer = Observer(self.kin, self.controller.action_dim, self.task.obs_dim)
        self.action_space = spaces.Box(-1.0, 1.0, (self.controller.action_dim,), dtype=np.float32)
        goal = spaces.Box(-5.0, 5.0, (self.task.goal_dim,), dtype=np.float32)
        self.observation_space = spaces.Dict(
            {
                "observation": spaces.Box(-10.0, 10.0, (self.observer.obs_dim,), dtype=np.float32),
                "achieved_goal": goal,
                "desired_goal": goal,
            }
        )
        self._state: ArmState = self.arm.read()
        self._last_action = np.zeros(self.controller.action_dim)

    def _build_scene(self) -> None:
        if self.robot.name == "panda":  # panda-gym's scene: a table whose top is the base's z = 0
            self.bullet.add_box([1.5, 1.5, 0.01], [0.3, 0.0, -0.41], (0.9, 0.9, 0.9, 1))
            self.bullet.add_box([0.55, 0.35, 0.2], [0.3, 0.0, -0.2], (0.95, 0.95, 0.95, 1))
        else:
            self.bullet.add_box([0.5, 0.5, 0.01], [0.15, 0.0, -0.01], (0.85, 0.85, 0.85, 1))

    def _obs(self) -> dict[str, np.ndarray]:
        task = self.task
        if task.obs_dim == 0 and task.achieved_goal_is_ee:  # Reach: the shared Observer alone
            return self.observer.observe(self._state, task.goal, self._last_action)
        obs = self.observer.observe(self._state, task.goal, self._last_action, task.observation())
        if not task.achieved_goal_is_ee:
            obs["achieved_goal"] = np.asarray(task.achieved_goal(obs["observation"][:3]), dtype=np.float32)
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        self.arm.reset()
        self.task.reset(self.np_random)
        self._state = self.arm.read()
        self._last_action = np.zeros(self.controller.action_dim)
        obs = self._obs()
        return obs, self._info(obs)

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        a = check_action(action, self.controller.action_dim)  # before anything touches the sim
        q_target = self.safety.apply(self.controller.targets_checked(a, self._state.q), self._state.q)
        self.arm.command(q_target)
        self.arm.advance(self.control_period_s)
        self._state = self.arm.read()
        if self._state.q_is_measured:  # the sim's bodies are at q: their FK is bit-exact and cheaper
            self.kin.seed(self._state.q, self.arm.link_position(self.kin.ee_link_index))
        self._last_action = a
        obs = self._obs()
        info = self._info(obs)
        reward = float(self.task.reward_from_distance(info["distance_m"]))
        return obs, reward, info["is_success"], False, info

    def _info(self, obs: dict[str, np.ndarray]) -> dict[str, Any]:
        d = math.dist(obs["achieved_goal"].tolist(), obs["desired_goal"].tolist())  # in float64
        return {"is_success": d < self.task.distance_threshold_m, "distance_m": d}

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> np.ndarray:
        """Vectorised over a batch, as SB3's HER calls it: (B, 3), (B, 3) -> (B,)."""
        return self.task.compute_reward(achieved_goal, desired_goal, info)

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self.bullet.render(self.render_width, self.render_height, **self.camera)
        return None

    def close(self) -> None:
        self.kin.close()
        self.bullet.close()
