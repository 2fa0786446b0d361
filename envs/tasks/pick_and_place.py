"""PickAndPlace: grasp a cube and bring it to a goal, often in the air (panda-gym's PickAndPlace).

Defaults (panda-gym v3 ``PickAndPlace``): a 4 cm cube of 1 kg; cube and goal xy uniform over a
0.3 m x 0.3 m square 0.6 m ahead of the Panda's base; the goal's centre up to 0.2 m above the resting
cube's, on the table with probability 0.3; success within 5 cm; 50 steps; a 4-D action (the gripper).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robokit.envs.tasks.objects import ObjectTask


class PickAndPlace(ObjectTask):
    """One cube (``object``) carried to a goal (3,). Robot settings (robot.yaml ``tasks.pick_and_place``):
    those of Push plus ``goal_height_m`` ([low, high] m above the resting cube's centre),
    ``goal_on_table_probability`` and ``grip_opening_on_object`` (the gripper's opening, 0 closed .. 1
    open, at which its jaws close on the cube; None: the cube's width over the full opening, right for
    parallel jaws such as the Panda's; the expert grips just inside it instead of at full force)."""

    gripper_actuated = True
    default_settings: Mapping[str, Any] = {
        **ObjectTask.default_settings,
        "goal_height_m": [0.0, 0.2],
        "goal_on_table_probability": 0.3,
        "grip_opening_on_object": None,
    }

    def sample_goal(self, np_random: np.random.Generator) -> np.ndarray:
        """xy in ``goal_xy_m``, height in ``goal_height_m`` unless the goal is on the table (panda-gym's
        draw order: the 3-D point, then the on-table coin)."""
        xy = self.uniform_xy(np_random, self.goal_xy_m)
        height = np_random.uniform(*self.settings["goal_height_m"])
        if np_random.random() < self.settings["goal_on_table_probability"]:
            height = 0.0
        return np.array([*xy, self.object_height_m / 2 + height])
