"""Slide expert: push the puck toward the goal until it moves fast enough to slide there, then let go.

From the observation alone: the puck's speed toward the goal is read from its velocity entries; the
speed that carries it to the goal against friction is ``sqrt(2 a d)`` (a: its deceleration, d: the
distance left). Below that speed the expert pushes as the Push expert does, at that speed; at it, the
expert stops and the puck slides on.
"""

from __future__ import annotations

import math

import numpy as np

from robokit.policies.experts.base import Expert
from robokit.policies.experts.push import push_move

G_M_S2 = 9.81
TABLE_FRICTION = 0.5  # PyBullet's default lateral friction (the table's); a contact's is the product
CONTACT_FACTOR = 1.12  # measured: a puck of friction 0.04 slows at 0.22 m/s^2, not 0.196
OVERSPEED = 1.15  # aim a little past the goal: the episode ends at the first step within the threshold
RELEASE_FRACTION = 0.95  # the fraction of the needed speed at which it lets go


class SlideExpert(Expert):
    """Slides the puck to the goal with the gripper closed (3-D action)."""

    task = "slide"

    def __init__(self, env) -> None:
        super().__init__(env)
        friction = float(self.settings["lateral_friction"]) * TABLE_FRICTION
        self.deceleration_m_s2 = friction * G_M_S2 * CONTACT_FACTOR
        self.period_s = float(env.unwrapped.control_period_s)

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        ee, puck = self.ee(obs), self.object_position(obs)
        goal = np.asarray(obs["desired_goal"], dtype=np.float64)
        d = goal[:2] - puck[:2]
        dist = float(np.linalg.norm(d))
        if dist < 1e-6:
            return self.action(np.zeros(3))
        along = float(self.object_velocity(obs)[:2] @ (d / dist))
        needed = OVERSPEED * math.sqrt(2 * self.deceleration_m_s2 * dist)
        if along >= RELEASE_FRACTION * needed:
            return self.action(np.zeros(3))
        speed = min(1.0, needed * self.period_s / self.scale_m)
        return self.action(push_move(self, ee, puck, goal, self.object_size_m / 2, speed))
