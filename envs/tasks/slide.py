"""Slide: strike a low-friction puck so it slides to a goal beyond the arm's reach (panda-gym's Slide).

Defaults (panda-gym v3 ``Slide``): a puck 6 cm across and 3 cm high, 1 kg, lateral friction 0.04 (PyBullet
multiplies it with the table's); puck uniform over a 0.3 m x 0.3 m square 0.6 m ahead of the Panda's base,
the goal over the same square moved 0.4 m further (1.0 m ahead); success within 5 cm; 50 steps. As in
panda-gym, the goal's height is half the puck's diameter (3 cm), 1.5 cm above the resting puck's centre.
The robot's table is extended to cover the goal range (panda-gym's 1.4 m Slide table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robokit.envs.bullet import Bullet
from robokit.envs.tasks.objects import ObjectTask


class Slide(ObjectTask):
    """A puck (``object``) slid to a goal (3,) on the table. Robot settings (robot.yaml ``tasks.slide``):
    those of Push plus ``lateral_friction`` (the puck's) and ``table_xy_m`` (the xy extent of the table the
    task adds under the goals, its top at z = 0; None: none added)."""

    gripper_actuated = False
    shape = "cylinder"
    colours = ((0.1, 0.9, 0.1),)
    default_settings: Mapping[str, Any] = {
        **ObjectTask.default_settings,
        "object_size_m": 0.06,
        "lateral_friction": 0.04,
        "goal_xy_m": [[0.85, -0.15], [1.15, 0.15]],
        "table_xy_m": [[-0.2, -0.35], [1.2, 0.35]],  # panda-gym's 1.4 m x 0.7 m Slide table
    }

    def add_bodies(self, bullet: Bullet, visuals: bool) -> None:
        """The long table (static, top at z = 0, 0.4 m thick as the Panda's), then the puck and marker."""
        table = self.settings["table_xy_m"]
        if table is not None:
            lo, hi = np.asarray(table, dtype=np.float64)
            half = [*((hi - lo) / 2).tolist(), 0.2]
            bullet.add_box(
                half, [*((hi + lo) / 2).tolist(), -0.2], (0.95, 0.95, 0.95, 1.0), name="slide_table"
            )
            self.own("slide_table")
        super().add_bodies(bullet, visuals)

    @property
    def max_goal_z_m(self) -> float:
        """Slide's goals sit at half the puck's diameter (panda-gym)."""
        return self.object_size_m / 2

    def sample_goal(self, np_random: np.random.Generator) -> np.ndarray:
        """A goal at a point of ``goal_xy_m``, at half the puck's diameter above the table (panda-gym)."""
        return np.array([*self.uniform_xy(np_random, self.goal_xy_m), self.object_size_m / 2])
