"""Push expert: come down behind the cube on the line from the goal through it, then push along it.

From the observation alone: each step it finds the point behind the cube (seen from the goal); away from
it, it goes there over the cube (up first when low beside the cube), then down to the cube's centre height;
on the line, it pushes toward the point where its fingers stand when the cube is on the goal, correcting
any sideways drift as it goes.
"""

from __future__ import annotations

import numpy as np

from robokit.policies.experts.base import Expert

HOVER_M = 0.04  # clearance above the cube's top while going round it
GAP_M = 0.03  # the end effector's distance behind the cube's face before the push (fingers ~1 cm thick)
LINE_TOL_M = 0.012  # how far off the push line (sideways) still counts as on it
DONE_FRACTION = 0.5  # it stops pushing inside this fraction of the task's success radius, for good:
# chasing the last centimetres meant going round the cube again, which moved the arm for seconds after
# success and sometimes knocked the cube out again (PandaPush: 7.2 cm/s median tip path while "holding")
PUSH_GAIN = 0.3  # fraction of the remaining way per step while pushing (slows down near the goal)
PUSH_MAX = 0.4  # the largest push step, in ee_delta units: a faster push makes the cube slide on


def push_move(
    expert: Expert,
    ee: np.ndarray,
    obj: np.ndarray,
    goal: np.ndarray,
    half_m: float,
    done_m: float,
    speed: float | None = None,
) -> np.ndarray:
    """ee_delta move (3,) pushing an object of half width ``half_m`` at ``obj`` toward ``goal`` (xy), at
    ``speed`` (ee_delta units per step; None: slowing down toward the goal, at most ``PUSH_MAX``); no
    move once the object is within ``done_m`` (m) of the goal."""
    d = goal[:2] - obj[:2]
    dist = float(np.linalg.norm(d))
    if dist < done_m:
        return np.zeros(3)
    u = d / dist
    r = ee[:2] - obj[:2]
    along = float(r @ u)
    side = r - along * u
    z_push = obj[2]
    behind = obj[:2] - u * (half_m + GAP_M)
    on_line = -(half_m + 2 * GAP_M) < along < -half_m and float(np.linalg.norm(side)) < LINE_TOL_M
    if on_line and abs(ee[2] - z_push) < 0.012:
        if speed is None:
            speed = min(PUSH_MAX, PUSH_GAIN * dist / expert.scale_m)
        correction = expert.toward(ee, np.array([*(ee[:2] - side), z_push]))
        return np.array([*(u * speed), 0.0]) + correction
    z_safe = obj[2] + half_m + HOVER_M
    to_behind = float(np.linalg.norm(ee[:2] - behind))
    if to_behind < 0.02 and ee[2] < z_safe:  # down (or along, when low) to the push point
        return expert.toward(ee, np.array([*behind, z_push]), 0.7)
    if to_behind > 0.008:
        near = float(np.linalg.norm(r)) < half_m + 0.06
        if near and ee[2] < z_safe - 0.015:
            return expert.toward(ee, np.array([*ee[:2], z_safe]))
        return expert.toward(ee, np.array([*behind, z_safe if near else max(z_push, ee[2] - 0.05)]))
    return expert.toward(ee, np.array([*behind, z_push]), 0.7)


class PushExpert(Expert):
    """Pushes the cube to the goal with the gripper closed (3-D action)."""

    task = "push"

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        ee, obj = self.ee(obs), self.object_position(obs)
        goal = np.asarray(obs["desired_goal"], dtype=np.float64)
        done_m = DONE_FRACTION * float(self.settings["distance_threshold_m"])
        return self.action(push_move(self, ee, obj, goal, self.object_size_m / 2, done_m))
