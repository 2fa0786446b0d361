"""RobotTaskEnv: a Gymnasium goal env composing SimArm + Task with the shared core.

A step validates the action (NaN/inf -> ValueError; outside [-1, 1] -> clipped), maps it with the
shared Controller, passes the targets through the shared Safety layer, simulates one control period,
then observes with the shared Observer: exactly the path a deploy takes on hardware.

Options: ``terminate_on_success`` (default True) ends an episode at its first success; with False it
runs to the time limit and ``info["is_success"]`` still reports success at every step.
``reset(options={"goal": [x, y, z]})`` sets the goal (m, base frame) instead of sampling one.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from robokit.core.arm import ArmState
from robokit.core.control import CONTROL_MODES, Controller, check_action
from robokit.core.kinematics import Kinematics
from robokit.core.observer import Observer
from robokit.core.safety import Safety, SafetySettings
from robokit.envs.bullet import Bullet
from robokit.envs.registration import MAX_RENDER_SIDE
from robokit.envs.sim_arm import SimArm
from robokit.envs.tasks import TASKS
from robokit.robots import default_robot, robot_folder

CAMERA_KEYS = ("target", "distance_m", "yaw_deg", "pitch_deg", "fov_deg")  # Bullet.render's arguments
RESET_OPTIONS = ("goal",)


def _positive_int(name: str, value: Any, top: int | None = None) -> None:
    """ValueError unless ``value`` is an int in [1, top]."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1
    if not ok or (top is not None and value > top):
        span = f"1..{top}" if top else ">= 1"
        raise ValueError(f"{name} must be an integer in {span}, not {value!r}")


def _check_options(
    control_mode: str,
    task: str,
    render_mode: str | None,
    render_size: tuple[Any, Any],
    camera: dict | None,
    sim: dict[str, Any],
    terminate_on_success: Any,
) -> None:
    """Every constructor argument checked before a PyBullet client exists; ValueError names the bad one."""
    if control_mode not in CONTROL_MODES:
        raise ValueError(f"unknown control mode {control_mode!r}; choose one of {CONTROL_MODES}")
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; known: {sorted(TASKS)}")
    if render_mode is not None and render_mode not in RobotTaskEnv.metadata["render_modes"]:
        raise ValueError(
            f"render_mode must be one of {RobotTaskEnv.metadata['render_modes']}, not {render_mode!r}"
        )
    _positive_int("render_width", render_size[0], MAX_RENDER_SIDE)
    _positive_int("render_height", render_size[1], MAX_RENDER_SIDE)
    if camera is not None and (not isinstance(camera, dict) or set(camera) - set(CAMERA_KEYS)):
        raise ValueError(f"camera must be a dict with keys among {CAMERA_KEYS}, not {camera!r}")
    timestep = sim["sim_timestep_s"]
    if timestep is not None and not (isinstance(timestep, numbers.Real) and 0 < timestep <= 0.1):
        raise ValueError(f"sim_timestep_s must be in (0, 0.1] s, not {timestep!r}")
    for name in ("sim_substeps", "solver_iterations"):
        if sim[name] is not None:
            _positive_int(name, sim[name], 10_000)
    if not isinstance(terminate_on_success, bool):
        raise ValueError(f"terminate_on_success must be True or False, not {terminate_on_success!r}")


def _sim_overrides(period_s: float, sim: dict[str, Any]) -> dict[str, Any]:
    """The robot's physics step (s) and steps per control period as given: one of them sets the other
    (their product is the control period); both must agree. ValueError otherwise."""
    timestep, substeps = sim["sim_timestep_s"], sim["sim_substeps"]
    if timestep is None and substeps is None:
        return {}
    if timestep is None:
        return {"sim_timestep_s": period_s / substeps, "sim_substeps": substeps}
    n = max(1, round(period_s / timestep))
    if substeps is not None and substeps != n:
        raise ValueError(
            f"sim_timestep_s {timestep:g} s x sim_substeps {substeps} is not the control period {period_s:g} s"
        )
    return {"sim_timestep_s": timestep, "sim_substeps": n}


class RobotTaskEnv(gym.Env):
    """robot x task x control mode. Observation: Dict(observation, achieved_goal, desired_goal)."""

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 25}

    def __init__(
        self,
        robot: str | None = None,
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
        terminate_on_success: bool = True,
    ) -> None:
        sim = {"sim_timestep_s": sim_timestep_s, "sim_substeps": sim_substeps}
        _check_options(
            control_mode,
            task,
            render_mode,
            (render_width, render_height),
            camera,
            {**sim, "solver_iterations": solver_iterations},
            terminate_on_success,
        )
        folder = robot_folder(robot or default_robot())
        robot_spec = folder.spec
        overrides = _sim_overrides(robot_spec.control_period_s, sim)
        self.robot = dataclasses.replace(robot_spec, **overrides) if overrides else robot_spec
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        self.render_width, self.render_height = render_width, render_height
        self.camera = {**folder.camera, **(camera or {})}
        self.metadata = {**self.metadata, "render_fps": self.robot.control_hz}
        self.control_period_s = self.robot.control_period_s

        self.bullet = Bullet(
            self.robot.sim_timestep_s, gui=render_mode == "human", solver_iterations=solver_iterations
        )
        self.arm = SimArm(self.robot, self.bullet)
        self.kin = Kinematics(self.robot)
        settings = folder.task_settings(task)
        self.task = TASKS[task](self.robot, self.kin, reward_type, settings=settings, **(task_kwargs or {}))
        self.task.setup_scene(self.bullet, folder.boxes, visuals=render_mode is not None)
        self.arm.save()  # reset() restores this bit-exactly

        self.controller = Controller(self.robot, control_mode, self.kin, self.task.gripper_actuated)
        self.safety_settings = SafetySettings.from_spec(self.robot)
        self.safety = Safety(self.safety_settings, self.kin)
        self.observer = Observer(self.kin, self.controller.action_dim, self.task.obs_dim)
        self.action_space, self.observation_space = self._spaces()
        self._state: ArmState = self.arm.read()
        self._last_action = np.zeros(self.controller.action_dim)

    def _spaces(self) -> tuple[spaces.Box, spaces.Dict]:
        """Action Box (action_dim,) in [-1, 1]; observation Dict(observation, achieved_goal, desired_goal)."""
        goal = spaces.Box(-5.0, 5.0, (self.task.goal_dim,), dtype=np.float32)
        observation = spaces.Box(-10.0, 10.0, (self.observer.obs_dim,), dtype=np.float32)
        return (
            spaces.Box(-1.0, 1.0, (self.controller.action_dim,), dtype=np.float32),
            spaces.Dict({"observation": observation, "achieved_goal": goal, "desired_goal": goal}),
        )

    def _obs(self) -> dict[str, np.ndarray]:
        """The Observer's observation (the task's entries appended), the task's achieved goal."""
        task_obs, achieved = self.task.observe(self._state)  # one read of the scene for both
        return self.observer.observe(self._state, self.task.goal, self._last_action, task_obs, achieved)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """Back to the home pose with a new goal. ``options={"goal": [x, y, z]}`` sets the goal (m, base
        frame) instead of sampling it; raises ValueError, before anything moves, for an unknown option or a
        goal the task refuses (wrong shape, not finite, out of the robot's reach). A goal the arm can
        reach but that lies outside the region training samples goals from gives a UserWarning."""
        goal = self._goal_option(options)
        super().reset(seed=seed)
        self.arm.reset()
        self.safety.reset()
        self.task.reset(self.np_random)  # sampled even with a given goal: the random stream stays the same
        if goal is not None:
            self.task.set_goal(goal)
        start = self.task.start_q(self.np_random)
        if start is not None:
            self.arm.set_pose(start)
        self._state = self.arm.read()
        self._last_action = np.zeros(self.controller.action_dim)
        obs = self._obs()
        return obs, self._info(obs)

    def _goal_option(self, options: dict | None) -> np.ndarray | None:
        """The validated ``options["goal"]`` (goal_dim,) float32, or None when none is given."""
        if options is None:
            return None
        if not isinstance(options, dict):
            raise ValueError(f"reset options must be a dict, not {type(options).__name__}")
        unknown = sorted(set(options) - set(RESET_OPTIONS), key=str)
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; known: {list(RESET_OPTIONS)}")
        if options.get("goal") is None:
            return None
        goal, notes = self.task.check_goal(options["goal"])
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=3)
        return goal

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
        reward = float(self.task.step_reward(info["is_success"], info["distance_m"]))
        return obs, reward, info["is_success"] and self.terminate_on_success, False, info

    def _info(self, obs: dict[str, np.ndarray]) -> dict[str, Any]:
        success, distance_m = self.task.outcome(obs["achieved_goal"], obs["desired_goal"])
        return {"is_success": success, "distance_m": distance_m}

    def grip_squeeze(self) -> float | None:
        """How far the gripper's position command lies inside where its jaws stand, as a fraction of the
        full opening (the opening's error: mean over the gripper's joints, so a cube shifted between two
        fingers counts as its width; 0 when the jaws are where they are commanded or beyond): a Panda
        commanded shut on its 4 cm cube is at about 0.5. A position servo's torque
        grows with this error up to stall, so gripping at a large squeeze for long burns hobby servos.
        None for a task whose gripper does not act. Simulation only (the jaws' measured q)."""
        if not self.task.gripper_actuated or self.robot.gripper is None:
            return None
        idx = list(self.robot.gripper_indices)
        span = np.asarray(self.robot.gripper.open_q, dtype=float) - np.asarray(self.robot.gripper.closed_q)
        error = (self.arm.measured_q()[idx] - self.arm.commanded_q()[idx]) / span
        return max(0.0, float(np.mean(error)))

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> np.ndarray:
        """Vectorised over a batch, as SB3's HER calls it: (B, 3), (B, 3) -> (B,)."""
        return self.task.compute_reward(achieved_goal, desired_goal, info)

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self.bullet.render(self.render_width, self.render_height, **self.camera)
        return None

    def close(self) -> None:
        """Disconnect both PyBullet clients; calling it again does nothing (an env dropped without it is
        cleaned up when collected)."""
        self.kin.close()
        self.bullet.close()
