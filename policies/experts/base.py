"""What the scripted experts share: reading an observation dict by its layout, and Cartesian moves.

An expert is built from an env (its robot spec, observation layout and task settings are read once) and
then acts from the observation dict alone: no simulator access, no hidden state, so it runs as a policy
anywhere (a deploy loop on a real arm included) and as a demonstrator. Its actions are the env's
``ee_delta`` actions: the end effector's displacement over one control period in units of
``ee_delta_scale_m`` (the robot's IK does the rest), plus the gripper command (+1 open, -1 closed) for
tasks whose gripper acts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from robokit.envs.tasks.objects import ENTRIES_PER_OBJECT

OPEN, CLOSED = 1.0, -1.0


class Expert:
    """Base of the scripted experts: ``act(obs) -> action`` (action_dim,) float32 in [-1, 1].

    Raises ValueError for an env that is not ``ee_delta`` or whose task is not the expert's."""

    task: str = ""

    def __init__(self, env: Any) -> None:
        env = env.unwrapped
        if env.controller.mode != "ee_delta":
            raise ValueError(f"{type(self).__name__} acts in ee_delta; this env is {env.controller.mode}")
        if type(env.task).__name__.lower() != self.task.replace("_", ""):
            raise ValueError(f"{type(self).__name__} is for {self.task}, not {type(env.task).__name__}")
        spec = env.robot
        self.scale_m = float(spec.ee_delta_scale_m)
        # targets stay above the floor keep-out: an ee_delta target below it holds the arm where it is
        self.lowest_m = float(spec.floor_z_m) + 0.002
        self.action_dim = int(env.action_space.shape[0])
        self.gripper_actuated = bool(env.task.gripper_actuated)
        layout = env.observer.layout()
        q0 = layout["q"][0]
        self._grip = [q0 + i for i in spec.gripper_indices]
        if spec.gripper is not None:
            self._closed = np.asarray(spec.gripper.closed_q, dtype=np.float64)
            self._open = np.asarray(spec.gripper.open_q, dtype=np.float64)
        self._task0 = layout["task"][0]
        self.settings = dict(env.task.settings)
        self.object_size_m = float(self.settings["object_size_m"])

    def ee(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """End-effector position (3,) m, base frame."""
        return np.asarray(obs["observation"][:3], dtype=np.float64)

    def opening(self, obs: dict[str, np.ndarray]) -> float:
        """Gripper opening: 0 closed .. 1 open (mean over its joints), from q."""
        q = np.asarray(obs["observation"][self._grip], dtype=np.float64)
        return float(np.mean((q - self._closed) / (self._open - self._closed)))

    def object_position(self, obs: dict[str, np.ndarray], i: int = 0) -> np.ndarray:
        """Object ``i``'s position (3,) m."""
        start = self._task0 + ENTRIES_PER_OBJECT * i
        return np.asarray(obs["observation"][start : start + 3], dtype=np.float64)

    def object_velocity(self, obs: dict[str, np.ndarray], i: int = 0) -> np.ndarray:
        """Object ``i``'s linear velocity (3,) m/s."""
        start = self._task0 + ENTRIES_PER_OBJECT * i + 6
        return np.asarray(obs["observation"][start : start + 3], dtype=np.float64)

    def toward(self, ee: np.ndarray, target: np.ndarray, gain: float = 1.0) -> np.ndarray:
        """ee_delta action (3,) moving the end effector toward ``target`` (3,) m, clipped to [-1, 1]; the
        target's z kept above the robot's floor keep-out."""
        target = np.array([target[0], target[1], max(float(target[2]), self.lowest_m)])
        return np.clip(gain * (target - ee) / self.scale_m, -1.0, 1.0)

    def action(self, move: np.ndarray, gripper: float = CLOSED) -> np.ndarray:
        """The env's action: ``move`` (3,), then the gripper command where the gripper acts."""
        out = np.zeros(self.action_dim, dtype=np.float32)
        out[:3] = move
        if self.gripper_actuated:
            out[3] = gripper
        return out

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The action (action_dim,) float32 for one observation dict."""
        raise NotImplementedError
