"""Stack: put two cubes on a goal, one on the other (panda-gym's Stack).

Defaults (panda-gym v3 ``Stack``): two 4 cm cubes, ``object1`` (blue, 2 kg) and ``object2`` (green,
1 kg); each starts uniform over a 0.3 m x 0.3 m square 0.6 m ahead of the Panda's base; the goal is a
point of the same square: object1 on the table there, object2 on top of it. Success: the 6-D distance of
both cubes to their goals within 10 cm; 100 steps; a 4-D action (the gripper). Unlike panda-gym, which
drops object2 from 6 cm (onto object1 when their squares overlap), both start resting on the table:
object2's start is drawn again until the two do not overlap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from robokit.envs.tasks.objects import ENTRIES_PER_OBJECT, ObjectTask

MAX_DRAWS = 1000


class Stack(ObjectTask):
    """Two cubes; goal (6,) = object1's then object2's goal position. Robot settings (robot.yaml
    ``tasks.stack``): those of Push, ``object_mass_kg`` a mass or one per cube."""

    objects = ("object1", "object2")
    goal_dim = 6
    obs_dim = 2 * ENTRIES_PER_OBJECT
    state_bodies = ("object1", "object2")
    colours = ((0.1, 0.1, 0.9), (0.1, 0.9, 0.1))
    gripper_actuated = True
    max_episode_steps = 100
    default_settings: Mapping[str, Any] = {
        **ObjectTask.default_settings,
        "distance_threshold_m": 0.1,
        "object_mass_kg": [2.0, 1.0],
    }

    @property
    def max_goal_z_m(self) -> float:
        """object2's goal sits one cube above object1's."""
        return 1.5 * self.object_size_m

    def sample_goal(self, np_random: np.random.Generator) -> np.ndarray:
        """object1 resting at a point of ``goal_xy_m``, object2 one cube higher."""
        xy = self.uniform_xy(np_random, self.goal_xy_m)
        size = self.object_size_m
        return np.array([*xy, size / 2, *xy, 3 * size / 2])

    def sample_objects(self, np_random: np.random.Generator) -> list[np.ndarray]:
        """Both cubes resting on the table, their squares apart (object2 drawn again until they are)."""
        first, second = super().sample_objects(np_random)
        for _ in range(MAX_DRAWS):
            if np.max(np.abs(first[:2] - second[:2])) > self.object_size_m * 1.05:
                break
            second[:2] = self.uniform_xy(np_random, self.object_xy_m)
        return [first, second]
