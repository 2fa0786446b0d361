"""The Observer: observations from ArmState + goal (+ last action), shared by sim and hardware.

``observation`` = [ee position (3, m, base frame), q (n_joints, rad/m), last action (action_dim)];
``achieved_goal`` = ee position (3,); ``desired_goal`` = goal (3,). All float32. No velocities: the
hardware cannot report them.
"""

from __future__ import annotations

import numpy as np

from robokit.arm import ArmState
from robokit.kinematics import Kinematics


def observation_dim(n_joints: int, action_dim: int) -> int:
    """Size of ``observation``: ee position (3) + q (n_joints) + last action (action_dim)."""
    return 3 + n_joints + action_dim


class Observer:
    """Builds goal-conditioned observation dicts."""

    def __init__(self, kinematics: Kinematics, action_dim: int) -> None:
        self.kin = kinematics
        self.action_dim = action_dim
        self.obs_dim = observation_dim(kinematics.spec.n_joints, action_dim)

    def layout(self) -> dict[str, list[int]]:
        """Slices of ``observation``: name -> [start, stop)."""
        n = self.kin.spec.n_joints
        return {"ee_pos_m": [0, 3], "q": [3, 3 + n], "last_action": [3 + n, self.obs_dim]}

    def observe(self, state: ArmState, goal_m: np.ndarray, last_action: np.ndarray) -> dict[str, np.ndarray]:
        ee = self.kin.fk(state.q)
        obs = np.empty(self.obs_dim, dtype=np.float32)
        n = len(state.q)
        obs[:3] = ee
        obs[3 : 3 + n] = state.q
        obs[3 + n :] = last_action
        return {
            "observation": obs,
            "achieved_goal": obs[:3].copy(),
            "desired_goal": np.array(goal_m, dtype=np.float32),
        }
