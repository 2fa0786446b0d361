"""Slide expert: carry the puck on a corner (or the face) of the closed fingers along the line to the goal,
steering by the puck's velocity, and let go once it moves fast enough to slide past the goal.

Why a corner: the closed fingers' front face pushes the puck along the face's normal, and the hand's yaw
follows the arm (ee_delta actions cannot turn it; it points roughly away from the base), so a face push
goes where the hand happens to point. A corner pushes the puck along the line from the contact to the
puck's centre: the expert holds the corner (beside the end effector by the fingers' half width, on the
side the goal direction leans to from the face's normal) on the line through the puck along the aim.

From the observation alone: the hand's yaw and forward lean are the forward kinematics of q (a private
PyBullet client on the robot's URDF, built once; near the base the hand leans forward and its fingers
reach further out). It comes down behind the contact point, pushes slowly until the puck moves, then
speeds up, each step up to ``SPEED_UP_M_S`` faster than the puck, to the release speed
``sqrt(2 a d + v_end^2)`` (a: the puck's deceleration, d: the distance left), after which it keeps still
(as it does once the puck is at the goal, past it, or sliding on its own): the puck is still moving when it
crosses the goal (an episode ends at its first success). Once the puck is
fast, its velocity is the contact's normal: the aim turns by ``STEER_GAIN`` times the angle between that
velocity and the goal direction (a point push drifts; this holds it on the line).

Measured (seeds 0-99 of robokit/PandaSlide-v0): 92%; the misses are mostly pucks near the base, where
the leaning hand's body catches the puck as the fingers come down behind it.
"""

from __future__ import annotations

import math

import numpy as np

from robokit.core.bullet_client import p
from robokit.core.kinematics import Kinematics
from robokit.policies.experts.base import Expert

G_M_S2 = 9.81
TABLE_FRICTION = 0.5  # PyBullet's default lateral friction (the table's); a contact's is the product
CONTACT_FACTOR = 1.12  # measured: a puck of friction 0.04 slows at 0.22 m/s^2, not 0.196
# the closed fingers' footprint at the puck's height, measured with PyBullet's closest points (margins
# included): the face's distance ahead of the end effector, the corner's beside it (hand x, y axes)
FACE_M = 0.0125
CORNER_M = 0.0235
LEAN_M_RAD = 0.02  # measured: the face moves out this much per rad the hand leans forward (near the base)
LEAN0_RAD = 0.19  # the lean at which FACE_M was measured (0.6 m ahead of the base)
GAP_M = 0.02  # clearance behind the puck before contact
HOVER_M = 0.04  # clearance above the puck while going round it
END_SPEED_M_S = 0.3  # the puck's speed left at the goal
CARRY_M_S = 0.12  # push speed until the puck moves
STEER_GAIN = 0.7  # aim correction per rad of the puck's direction error
STEER_MAX_RAD = math.radians(8.0)  # the largest aim correction
STEER_FROM_M_S = 0.25  # puck speed from which it steers by the puck's velocity
SIDE_RAD = math.radians(1.0)  # below this angle from the face's normal it pushes with the face
MOVING_M_S = 0.06  # puck speed (toward the goal) above which the push speeds up
SPEED_UP_M_S = 0.15  # speed added per step once on the line
FREE_M = 0.04  # the hand this far beyond the puck's rim is off it: a puck moving then slides on its own


class HandFrame(Kinematics):
    """The end effector link's orientation from q: forward kinematics on the robot's URDF (the parent's
    private client, at q; no simulator state)."""

    def yaw_lean(self, q: np.ndarray) -> tuple[float, float]:
        """The yaw (rad, base frame) of the end effector link's x axis, and how far (rad) it points down."""
        self._set_q(np.asarray(q, dtype=np.float64))
        state = p.getLinkState(self._body, self._ee, computeForwardKinematics=1, physicsClientId=self._client)
        x_axis = np.asarray(p.getMatrixFromQuaternion(state[5])).reshape(3, 3)[:, 0]
        return math.atan2(x_axis[1], x_axis[0]), -math.asin(max(-1.0, min(1.0, x_axis[2])))


def rotate(v: np.ndarray, angle: float) -> np.ndarray:
    """A 2-D vector (2,) turned by ``angle`` rad."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def wrap(angle: float) -> float:
    """An angle (rad) in [-pi, pi)."""
    return (angle + math.pi) % (2 * math.pi) - math.pi


class SlideExpert(Expert):
    """Slides the puck to the goal with the gripper closed (3-D action)."""

    task = "slide"

    def __init__(self, env) -> None:
        super().__init__(env)
        unwrapped = env.unwrapped
        friction = float(self.settings["lateral_friction"]) * TABLE_FRICTION
        self.deceleration_m_s2 = friction * G_M_S2 * CONTACT_FACTOR
        self.period_s = float(unwrapped.control_period_s)
        self.radius_m = self.object_size_m / 2
        self.threshold_m = float(self.settings["distance_threshold_m"])
        self.hand = HandFrame(unwrapped.robot)
        q0, q1 = unwrapped.observer.layout()["q"]
        self._q = slice(q0, q1)

    def hand_axes(self, obs: dict[str, np.ndarray], u: np.ndarray) -> tuple[float, float, float]:
        """The yaw (rad) of the fingers' face that looks along ``u`` (2,), u's angle from its normal, and
        how far (rad) that face leans forward."""
        psi, pitch = self.hand.yaw_lean(np.asarray(obs["observation"][self._q], dtype=np.float64))
        theta = wrap(math.atan2(u[1], u[0]) - psi)
        if abs(theta) > math.pi / 2:  # the hand's back face is the nearer one
            psi, theta, pitch = psi + math.pi, wrap(theta + math.pi), -pitch
        return psi, theta, pitch

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        ee, puck = self.ee(obs), self.object_position(obs)
        goal = np.asarray(obs["desired_goal"], dtype=np.float64)
        d = goal[:2] - puck[:2]
        dist = float(np.linalg.norm(d))
        if dist < 1e-6:
            return self.action(np.zeros(3))
        u = d / dist
        v = self.object_velocity(obs)[:2]
        release = math.sqrt(2 * self.deceleration_m_s2 * dist + END_SPEED_M_S**2)
        if self.done_or_sliding(ee, puck, goal, v, dist, release):
            return self.action(np.zeros(3))
        aim = u
        if float(v @ u) > STEER_FROM_M_S:  # the puck's velocity is the contact's normal: turn it onto u
            err = wrap(math.atan2(u[1], u[0]) - math.atan2(v[1], v[0]))
            aim = rotate(u, float(np.clip(STEER_GAIN * err, -STEER_MAX_RAD, STEER_MAX_RAD)))
        psi, theta, pitch = self.hand_axes(obs, aim)
        side = math.copysign(CORNER_M, theta) if abs(theta) > SIDE_RAD else 0.0
        face = FACE_M + LEAN_M_RAD * (pitch - LEAN0_RAD)
        offset = -self.radius_m * aim - rotate(np.array([face, side]), psi)
        return self.action(self.approach(ee, puck, v, puck[:2] + offset, aim, release))

    def done_or_sliding(self, ee, puck, goal, v, dist, release) -> bool:
        """Whether to keep still: the puck is at the goal, past it (farther from the base: out of reach),
        released (as fast as the release speed), or sliding away from the hand."""
        if dist < self.threshold_m or float(np.linalg.norm(puck[:2])) > float(np.linalg.norm(goal[:2])):
            return True
        speed = float(np.linalg.norm(v))
        away = float(np.linalg.norm(ee[:2] - puck[:2])) > self.radius_m + FREE_M
        return speed >= release or (speed > MOVING_M_S and away)

    def approach(self, ee, puck, v, contact, u, release) -> np.ndarray:
        """ee_delta move (3,): over the puck to behind ``contact`` (2,), the end effector's point of
        contact for a push along ``u`` (2,), down, then the push (``push``)."""
        z_push = puck[2]
        pre = contact - u * GAP_M
        r = ee[:2] - contact
        along = float(r @ u)
        lateral = r - along * u
        z_safe = puck[2] + self.radius_m + HOVER_M
        line_tol = 0.015 if float(v @ u) > MOVING_M_S else 0.006
        if (
            ee[2] < z_push + 0.008
            and float(np.linalg.norm(lateral)) < line_tol
            and -GAP_M - 0.01 < along < 0.005
        ):
            return self.push(ee, puck, v, u, along, lateral, release)
        to_pre = float(np.linalg.norm(ee[:2] - pre))
        if to_pre < 0.008 or (to_pre < 0.02 and along < -0.01 and ee[2] < z_safe - 0.005):
            return self.toward(ee, np.array([*pre, z_push]), 0.6)
        near = float(np.linalg.norm(ee[:2] - puck[:2])) < self.radius_m + 0.05
        if near and ee[2] < z_safe - 0.015:
            return self.toward(ee, np.array([*ee[:2], z_safe]))
        return self.toward(ee, np.array([*pre, z_safe]))

    def push(self, ee, puck, v, u, along, lateral, release) -> np.ndarray:
        """ee_delta move (3,) on the push line: slowly until the puck moves, then with it and faster, up
        to a little over the release speed, keeping up with its sideways drift."""
        v_u = float(v @ u)
        if v_u < MOVING_M_S:
            step = CARRY_M_S * self.period_s
        else:
            step = min((v_u + SPEED_UP_M_S) * self.period_s - along, 1.1 * release * self.period_s)
        move = u * step - lateral + (v - v_u * u) * self.period_s
        return np.clip(np.array([*move, puck[2] - ee[2]]) / self.scale_m, -1, 1)
