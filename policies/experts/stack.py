"""Stack expert: object1 onto its goal, then object2 onto object1, with the PickAndPlace moves.

From the observation alone: while object1 is away from its goal it is carried there and let go (object2
first moved out of the way when it stands on that goal); then object2 is carried onto object1. Cubes are
carried above the goal's height until over it, so they pass over the other cube.
"""

from __future__ import annotations

import numpy as np

from robokit.policies.experts.base import OPEN
from robokit.policies.experts.pick_and_place import PickAndPlaceExpert, pick_move

PLACED_M = 0.03  # object1's distance from its goal that counts as placed
RELEASE_M = 0.01  # a carried cube's distance from its target at which the gripper opens
CLEARANCE_M = 0.035  # carrying height above the target's
ASIDE_M = 0.1  # how far from object1's goal a cube in the way is put


class StackExpert(PickAndPlaceExpert):
    """Stacks object2 on object1 on the goal (4-D action)."""

    task = "stack"

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        first, second = self.object_position(obs, 0), self.object_position(obs, 1)
        goal = np.asarray(obs["desired_goal"], dtype=np.float64)
        size = self.object_size_m
        if float(np.linalg.norm(first - goal[:3])) > PLACED_M:
            away = second[:2] - goal[:2]
            if float(np.max(np.abs(away))) < 1.5 * size:  # object2 on object1's goal: out of the way
                n = float(np.linalg.norm(away))
                direction = away / n if n > 1e-6 else np.array([-1.0, 0.0])
                spot = np.array([*(goal[:2] + direction * ASIDE_M), size / 2])
                return self.action(*pick_move(self, obs, second, spot, CLEARANCE_M, RELEASE_M))
            return self.action(*pick_move(self, obs, first, goal[:3], CLEARANCE_M, RELEASE_M))
        on_top = first + np.array([0.0, 0.0, size])
        let_go = self.opening(obs) > self.held_opening
        if let_go and float(np.linalg.norm(second - on_top)) < PLACED_M:  # stacked and let go: keep still
            return self.action(np.zeros(3), OPEN)
        return self.action(*pick_move(self, obs, second, on_top, CLEARANCE_M, RELEASE_M))
