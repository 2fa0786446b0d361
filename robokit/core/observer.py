"""The Observer: observations from ArmState + goal (+ last action), shared by sim and hardware.

``observation`` = [ee position (3, m, base frame), q (n_joints, rad/m), last action (action_dim), task
entries (task_dim, e.g. an object's position; none for Reach)];
``achieved_goal`` = the task's (Reach: the ee position (3,)); ``desired_goal`` = goal (goal_dim,). All
float32. No velocities: the hardware cannot report them.
"""

from __future__ import annotations

import numpy as np

from robokit.core.arm import ArmState
from robokit.core.kinematics import Kinematics


def observation_dim(n_joints: int, action_dim: int, task_dim: int = 0) -> int:
    """Size of ``observation``: ee position (3) + q (n_joints) + last action (action_dim) + task (task_dim)."""
    return 3 + n_joints + action_dim + task_dim


class Observer:
    """Builds goal-conditioned observation dicts. ``task_dim``: entries a task appends (an object's
    position, say); Reach appends none."""

    def __init__(self, kinematics: Kinematics, action_dim: int, task_dim: int = 0) -> None:
        self.kin = kinematics
        self.action_dim, self.task_dim = action_dim, task_dim
        self.obs_dim = observation_dim(kinematics.spec.n_joints, action_dim, task_dim)

    def layout(self) -> dict[str, list[int]]:
        """Slices of ``observation``: name -> [start, stop)."""
        n, a = self.kin.spec.n_joints, self.action_dim
        out = {"ee_pos_m": [0, 3], "q": [3, 3 + n], "last_action": [3 + n, 3 + n + a]}
        if self.task_dim:
            out["task"] = [3 + n + a, self.obs_dim]
        return out

    def observe(
        self,
        state: ArmState,
        goal_m: np.ndarray,
        last_action: np.ndarray,
        task_obs: np.ndarray | None = None,
        achieved_goal: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """observation (obs_dim,), achieved_goal (the task's, or (3,) the end effector when None),
        desired_goal (goal_dim,); float32."""
        ee = self.kin.fk(state.q)
        parts = [ee, state.q, last_action]
        if self.task_dim:
            if task_obs is None or np.shape(task_obs) != (self.task_dim,):
                raise ValueError(f"the task must give {self.task_dim} observation entries, got {task_obs!r}")
            parts.append(task_obs)
        # one cast of the parts to float32 (the same rounding as element-wise assignment)
        obs = np.concatenate(parts, dtype=np.float32)
        if obs.shape != (self.obs_dim,) or len(last_action) != self.action_dim:
            raise ValueError(
                f"observation parts of sizes {[len(x) for x in parts]}, expected 3, n_joints, "
                f"{self.action_dim}{f', {self.task_dim}' if self.task_dim else ''} (obs_dim {self.obs_dim})"
            )
        return {
            "observation": obs,
            "achieved_goal": obs[:3].copy()
            if achieved_goal is None
            else np.asarray(achieved_goal, np.float32),
            "desired_goal": np.array(goal_m, dtype=np.float32),
        }
