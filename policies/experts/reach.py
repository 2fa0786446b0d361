"""The Reach expert: a proportional step toward the goal in the end effector's frame of motion.

``a = clip((desired_goal - achieved_goal) / ee_delta_scale_m, -1, 1)``: the same map as
``robokit.policies.scripted`` (one action moves the tip at most ``ee_delta_scale_m`` per axis), so it
reaches a goal in a few steps. It needs the ``ee_delta`` control mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ReachExpert:
    """Expert for Reach on an ``ee_delta`` env; ValueError (NoExpertError) for another control mode."""

    def __init__(self, env: Any) -> None:
        base = env.unwrapped
        if base.controller.mode != "ee_delta":
            from robokit.policies.experts import NoExpertError

            raise NoExpertError(f"the Reach expert needs an ee_delta env, not {base.controller.mode}")
        self.scale_m = float(base.robot.ee_delta_scale_m)
        self.action_dim = int(base.action_space.shape[0])
        self.gripper_actuated = False  # Reach never moves the gripper (demonstrations read this)

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """obs: the env's dict (achieved_goal, desired_goal: (3,) m) -> action (action_dim,) float32 in
        [-1, 1]; the entries after the first three (a gripper) stay 0."""
        step = (np.asarray(obs["desired_goal"], np.float64) - obs["achieved_goal"]) / self.scale_m
        action = np.zeros(self.action_dim, dtype=np.float32)
        action[:3] = np.clip(step, -1.0, 1.0)
        return action
