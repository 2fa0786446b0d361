"""PickAndPlace expert: open, come down on the cube, grip it gently, carry it to the goal.

From the observation alone: the cube counts as held when the end effector is at it and the fingers have
closed on it (opening about the cube's width); otherwise the expert goes over the cube with the gripper
open (rising first when low beside it), comes down, and grips once it is around the cube. It grips with
the jaws commanded just inside the cube (``GENTLE``), not shut, and lets go of a cube it has placed on a
goal on the table. On a robot whose jaws reach past the end effector (the servo arm's) it grasps no lower
than 1 cm above the floor keep-out; on a servo-driven gripper the observed q is the servo's setpoint, so
held means gripping and at the cube.
"""

from __future__ import annotations

import numpy as np

from robokit.policies.experts.base import OPEN, Expert

HOVER_M = 0.05  # height above the cube's centre from which it comes down
AT_M = 0.008  # xy distance to the cube's centre that counts as over it
GRASP_Z_M = 0.008  # height above the cube's centre that counts as around it
HELD_M = 0.03  # the cube's distance from the end effector while held (it may slip a little)
HELD_SLACK = 0.15  # opening above the cube's width (fraction of the full opening) that still holds it
CARRY_MAX = 0.5  # the largest step with the cube held, in ee_delta units: faster, the 1 kg cube slips
GENTLE = 0.1  # the grip command's opening this far (fraction of the full opening) inside the cube's width:
# a servo's torque grows with its position error, so commanding "shut" on a cube stalls it for as long as it
# holds (a hobby servo burns); just inside the cube, the jaws hold it with a small error
PLACED_FRACTION = 0.5  # a cube on a goal on the table within this fraction of the success radius is let go
ON_TABLE_M = 0.005  # a goal this close to the resting cube's height is on the table


def _capped(move: np.ndarray, top: float = CARRY_MAX) -> np.ndarray:
    """``move`` scaled down to norm ``top`` at most."""
    return move * min(1.0, top / max(float(np.linalg.norm(move)), 1e-9))


def pick_move(
    expert: Expert,
    obs: dict,
    obj: np.ndarray,
    target: np.ndarray,
    clearance_m: float = 0.0,
    release_m: float = 0.0,
) -> tuple[np.ndarray, float]:
    """(move (3,), gripper command) bringing the cube at ``obj`` to ``target`` (3,) m. While held, it is
    carried ``clearance_m`` above the target's height until over the target (0: straight there), and let
    go once within ``release_m`` of the target (0: held there, still once within ``expert.hold_m``)."""
    ee = expert.ee(obs)
    opening = expert.opening(obs)
    closed_on = expert.held_opening - 2 * HELD_SLACK < opening < expert.held_opening  # not shut on nothing
    held = closed_on and float(np.linalg.norm(ee - obj)) < HELD_M
    grip = expert.grip_command
    if held:
        if float(np.linalg.norm(obj - target)) < release_m:
            return np.zeros(3), OPEN
        if release_m <= 0 and float(np.linalg.norm(obj - target)) < expert.hold_m:  # there: hold still
            return np.zeros(3), grip
        if clearance_m > 0 and float(np.linalg.norm(obj[:2] - target[:2])) > 0.01:
            high = max(target[2] + clearance_m, obj[2])
            if obj[2] < high - 0.01 and float(np.linalg.norm(obj[:2] - target[:2])) > 0.03:
                return _capped(expert.toward(ee, np.array([*ee[:2], high]))), grip
            return _capped(expert.toward(ee, ee + np.array([*(target[:2] - obj[:2]), high - obj[2]]))), grip
        return _capped(expert.toward(ee, ee + (target - obj))), grip
    hover = obj[2] + HOVER_M
    off = float(np.linalg.norm(ee[:2] - obj[:2]))
    if off > AT_M:
        if off < 0.04 and ee[2] < hover - 0.02:  # low and close: straight over it without rising
            return expert.toward(ee, np.array([*obj[:2], ee[2]])), OPEN
        if ee[2] < hover - 0.02 and off > 0.04:
            return expert.toward(ee, np.array([*ee[:2], hover])), OPEN
        return expert.toward(ee, np.array([*obj[:2], hover])), OPEN
    grasp = np.array([*obj[:2], max(obj[2], expert.grasp_z_min_m)])
    if ee[2] - grasp[2] > GRASP_Z_M:
        ready = expert.opening(obs) > expert.held_opening + 0.1
        return expert.toward(ee, np.array([*obj[:2], grasp[2] if ready else ee[2]]), 0.8), OPEN
    return expert.toward(ee, grasp, 0.5), grip


class PickAndPlaceExpert(Expert):
    """Grasps the cube and carries it to the goal (4-D action)."""

    task = "pick_and_place"

    def __init__(self, env) -> None:
        super().__init__(env)
        on_object = self.settings.get("grip_opening_on_object")
        if on_object is None:  # parallel jaws: the cube's width over both fingers' travel
            on_object = self.object_size_m / (float(np.mean(self._open - self._closed)) * 2)
        hold = max(0.0, float(on_object) - GENTLE)  # the opening it commands on the cube
        self.grip_command = 2.0 * hold - 1.0  # action: -1 closed .. +1 open
        # a held cube this close to its target is there: the arm holds still (chasing the last millimetres
        # of a swaying cube kept the Panda's tip moving 4-7 cm/s while holding in the air)
        self.hold_m = PLACED_FRACTION * float(self.settings["distance_threshold_m"])
        if env.unwrapped.robot.servo_driven:  # q observed is the servo's setpoint: the command, cube or not
            self.held_opening = hold + HELD_SLACK
        else:
            self.held_opening = float(on_object) + HELD_SLACK
        # the end effector's lowest grasp height: jaws reaching past it (the servo arm's, 1.5 cm) stay clear
        # of the table when it keeps 1 cm above the robot's floor keep-out (the Panda's: 0, so at the cube)
        self.grasp_z_min_m = float(env.unwrapped.robot.floor_z_m) + 0.01

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        goal = np.asarray(obs["desired_goal"], dtype=np.float64)
        obj = self.object_position(obs)
        placed = float(np.linalg.norm(obj - goal)) < PLACED_FRACTION * float(
            self.settings["distance_threshold_m"]
        )
        if (
            placed and goal[2] < self.object_size_m / 2 + ON_TABLE_M
        ):  # on a goal on the table: let go, keep still
            return self.action(np.zeros(3), OPEN)
        move, grip = pick_move(self, obs, obj, goal)
        return self.action(move, grip)
