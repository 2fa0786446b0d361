"""Slide expert: carry the puck on a corner of the closed fingers, steering it onto the goal line, then
let go at the speed that slides it past the goal.

Why a corner: the closed fingers' front face pushes the puck along the face's normal, and the hand's yaw
follows the arm (ee_delta actions cannot turn it), so a face push goes where the hand happens to point.
A corner pushes the puck along the line from the contact to the puck's centre, which the expert sets by
where it holds the corner: beside the end effector by the fingers' half width, on the side the goal
direction leans to from the face's normal.

From the observation alone: the hand's yaw is the forward kinematics of q (a private PyBullet client on
the robot's URDF, built once); while the puck moves with the hand, its velocity is the contact's normal,
and the hand shifts sideways to turn that normal onto the line to the goal (a point push is unstable, so
it corrects every step at a slow carry); once on the line it speeds up to the release speed
``sqrt(2 a d + v_end^2)`` (a: the puck's deceleration, d: the distance left) and stops, so the puck is
still moving when it crosses the goal (an episode ends at its first success).
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
FACE_M = 0.0125  # the closed fingers' half thickness along the hand's x axis (measured, with margins)
CORNER_M = 0.0235  # the corner's distance beside the end effector along the hand's y axis (measured)
LEAN_M_RAD = 0.02  # measured: the face moves out this much per rad the hand leans forward (near the base)
LEAN0_RAD = 0.19  # the lean at which FACE_M was measured
PUSH_DZ_M = 0.0  # the end effector's height from the puck's centre while pushing: the hand's wide
# body clears the puck's top (tilted near the base, it would catch it)
GAP_M = 0.02  # clearance behind the puck before contact
HOVER_M = 0.04  # clearance above the puck while going round it
END_SPEED_M_S = 0.3  # the puck's speed left at the goal
CARRY_M_S = 0.12  # carry speed while steering
ALIGNED_RAD = math.radians(2.0)  # direction error below which it speeds up
STEER_GAIN = 0.7  # aim correction per rad of the puck's direction error
STEER_MAX_RAD = math.radians(8.0)  # the largest aim correction
STEER_FROM_M_S = 0.25  # puck speed from which it steers by the puck's velocity
SIDE_RAD = math.radians(1.0)  # below this angle from the face's normal it pushes with the face
TOUCH_M = 0.003  # gap between fingers and puck that still counts as touching
MOVING_M_S = 0.06  # puck speed above which its velocity gives the contact normal
SPEED_UP_M_S = 0.15  # speed added per step once on the line


class HandYaw(Kinematics):
    """The end effector link's yaw (rad, base frame) from q: forward kinematics on the robot's URDF."""

    def yaw_pitch(self, q: np.ndarray) -> tuple[float, float]:
        """The yaw of the end effector link's x axis, and how far (rad) that axis points down."""
        self._set_q(np.asarray(q, dtype=np.float64))
        quat = p.getLinkState(self._body, self._ee, computeForwardKinematics=1, physicsClientId=self._client)[5]
        x_axis = np.asarray(p.getMatrixFromQuaternion(quat)).reshape(3, 3)[:, 0]
        return math.atan2(x_axis[1], x_axis[0]), -math.asin(max(-1.0, min(1.0, x_axis[2])))


def rotate(v: np.ndarray, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def wrap(angle: float) -> float:
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
        self.hand = HandYaw(unwrapped.robot)
        q0, q1 = unwrapped.observer.layout()["q"]
        self._q = slice(q0, q1)

    def hand_axes(self, obs: dict[str, np.ndarray], u: np.ndarray) -> tuple[float, float]:
        """The yaw (rad) of the fingers' face that looks along ``u`` (2,), and u's angle from its normal."""
        psi, pitch = self.hand.yaw_pitch(np.asarray(obs["observation"][self._q], dtype=np.float64))
        theta = wrap(math.atan2(u[1], u[0]) - psi)
        if abs(theta) > math.pi / 2:  # the hand's back face is the nearer one
            psi, theta, pitch = psi + math.pi, wrap(theta + math.pi), -pitch
        return psi, theta, pitch

    def touching(self, ee: np.ndarray, puck: np.ndarray, psi: float) -> bool:
        """Whether the closed fingers' footprint (a rectangle about the end effector) touches the puck."""
        local = rotate(puck[:2] - ee[:2], -psi)
        nearest = np.clip(local, [-FACE_M, -CORNER_M], [FACE_M, CORNER_M])
        return float(np.linalg.norm(local - nearest)) < self.radius_m + TOUCH_M

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
        if float(v @ u) >= release:
            return self.action(self.toward(ee, np.array([*ee[:2], puck[2] + self.radius_m + HOVER_M]), 0.3))
        aim = u
        speed = float(np.linalg.norm(v))
        if float(v @ u) > STEER_FROM_M_S:  # the puck's velocity is the contact's normal: turn it onto u
            err = wrap(math.atan2(u[1], u[0]) - math.atan2(v[1], v[0]))
            aim = rotate(u, float(np.clip(STEER_GAIN * err, -STEER_MAX_RAD, STEER_MAX_RAD)))
        psi, theta, pitch = self.hand_axes(obs, aim)
        side = math.copysign(CORNER_M, theta) if abs(theta) > SIDE_RAD else 0.0
        face = FACE_M + LEAN_M_RAD * (pitch - LEAN0_RAD)
        offset = -self.radius_m * aim - rotate(np.array([face, side]), psi)
        return self.action(self.approach(ee, puck, v, puck[:2] + offset, aim, release))

    def approach(self, ee, puck, v, contact, u, release) -> np.ndarray:
        """Over the puck to behind the contact point, down, then along u onto the puck and on, speeding
        up to the release speed once the puck moves."""
        z_push = puck[2] + PUSH_DZ_M
        pre = contact - u * GAP_M
        r = ee[:2] - contact
        along = float(r @ u)
        lateral = r - along * u
        z_safe = puck[2] + self.radius_m + HOVER_M
        low = ee[2] < z_push + 0.008
        if low and float(np.linalg.norm(lateral)) < (0.015 if float(v @ u) > MOVING_M_S else 0.006) and -GAP_M - 0.01 < along < 0.005:
            v_u = float(v @ u)
            if v_u < MOVING_M_S:
                step = CARRY_M_S * self.period_s
            else:
                step = min(v_u * self.period_s - along + SPEED_UP_M_S * self.period_s, 1.1 * release * self.period_s)
            move = u * step - lateral + v * self.period_s - float(v @ u) * self.period_s * u
            return np.clip(np.array([*move, z_push - ee[2]]) / self.scale_m, -1, 1)
        to_pre = float(np.linalg.norm(ee[:2] - pre))
        if to_pre < 0.008 or (to_pre < 0.02 and along < -0.01 and ee[2] < z_safe - 0.005):
            return self.toward(ee, np.array([*pre, z_push]), 0.6)
        near = float(np.linalg.norm(ee[:2] - puck[:2])) < self.radius_m + 0.05
        if near and ee[2] < z_safe - 0.015:
            return self.toward(ee, np.array([*ee[:2], z_safe]))
        return self.toward(ee, np.array([*pre, z_safe]))
