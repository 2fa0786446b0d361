"""The Controller: a policy action in [-1, 1] -> joint targets. Sim and hardware call the same code.

Modes (names used everywhere, policy files included):
- ``joint_delta``: arm joint targets = q + action * joint_delta_scale (rad per tick);
- ``joint_absolute``: arm joint targets = action mapped linearly onto [lower, upper];
- ``ee_delta``: end-effector target = ee(q) + action[:3] * ee_delta_scale_m, solved by one damped
  least-squares IK step.
With ``gripper_actuated`` the last action element maps [-1, 1] onto [closed, open]; otherwise the
gripper joints hold their home position. Finite actions outside [-1, 1] are clipped; NaN/inf raise.
"""

from __future__ import annotations

import math

import numpy as np

from robokit.core.kinematics import Kinematics
from robokit.core.robot_spec import RobotSpec

CONTROL_MODES = ("joint_delta", "joint_absolute", "ee_delta")


def check_action(action: np.ndarray, dim: int) -> np.ndarray:
    """Validated action as float64 (dim,), clipped to [-1, 1]. Raises ValueError on NaN/inf or shape."""
    a = np.asarray(action, dtype=np.float64)
    if a.shape != (dim,):
        raise ValueError(f"action has shape {a.shape}, expected ({dim},)")
    values = a.tolist()  # Python floats: cheaper than numpy calls at this size, same IEEE arithmetic
    if not all(map(math.isfinite, values)):
        raise ValueError(f"action contains NaN or inf: {values}")
    return np.array([-1.0 if v < -1.0 else (1.0 if v > 1.0 else v) for v in values])


def action_dim_for(spec: RobotSpec, mode: str, gripper_actuated: bool = False) -> int:
    """Action size for a control mode on a robot: 3 (ee_delta) or one per arm joint, +1 for a gripper."""
    arm_dim = 3 if mode == "ee_delta" else len(spec.arm_indices)
    return arm_dim + (1 if gripper_actuated else 0)


class Controller:
    """Maps actions to full joint-target vectors (n_joints,) for one RobotSpec and control mode."""

    def __init__(
        self, spec: RobotSpec, mode: str, kinematics: Kinematics, gripper_actuated: bool = False
    ) -> None:
        if mode not in CONTROL_MODES:
            raise ValueError(f"unknown control mode {mode!r}; choose one of {CONTROL_MODES}")
        if gripper_actuated and spec.gripper is None:
            raise ValueError(f"{spec.name} has no gripper to actuate")
        self.spec, self.mode, self.kin = spec, mode, kinematics
        self.gripper_actuated = gripper_actuated
        self._arm = np.asarray(spec.arm_indices)
        self._grip = np.asarray(spec.gripper_indices, dtype=int)
        self._lower, self._upper = spec.arrays()
        self._home = np.asarray(spec.home_q, dtype=np.float64)
        self._home_grip = self._home[self._grip]
        if spec.gripper is not None:
            self._g_closed = np.asarray(spec.gripper.closed_q)
            self._g_open = np.asarray(spec.gripper.open_q)
        # the same in Python floats for the hot path (the same IEEE arithmetic as numpy's, per element)
        self._grip_l = [int(i) for i in spec.gripper_indices]
        self._home_grip_l = self._home_grip.tolist()
        if spec.gripper is not None:
            self._g_pairs = [(float(c), float(o) - float(c)) for c, o in zip(self._g_closed, self._g_open)]

    @property
    def action_dim(self) -> int:
        return action_dim_for(self.spec, self.mode, self.gripper_actuated)

    def targets(self, action: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Joint targets (n_joints,) for an action (action_dim,) from current joint positions q.
        The action is checked first (NaN/inf or a wrong shape raise ValueError) and clipped to [-1, 1]."""
        a = check_action(action, self.action_dim)
        return self.targets_checked(a, q)

    def targets_checked(self, a: np.ndarray, q: np.ndarray) -> np.ndarray:
        """As ``targets`` for an action already passed through ``check_action``."""
        q = np.asarray(q, dtype=np.float64)
        n_arm = len(self._arm)
        if self.mode != "ee_delta":
            out = q.copy()
        if self.mode == "joint_delta":
            out[self._arm] = q[self._arm] + a[:n_arm] * self.spec.joint_delta_scale
        elif self.mode == "joint_absolute":
            lo, hi = self._lower[self._arm], self._upper[self._arm]
            out[self._arm] = lo + (a[:n_arm] + 1.0) * 0.5 * (hi - lo)
        else:
            s = self.spec.ee_delta_scale_m
            goal = [e + s * v for e, v in zip(self.kin.fk(q).tolist(), a.tolist())]  # (3,) m
            out = self.kin.ik_step(q, goal)
        if self._grip_l:
            if self.gripper_actuated:  # closed + (a + 1) / 2 * (open - closed), per joint
                f = (a.item(-1) + 1.0) * 0.5
                grip = [c + f * span for c, span in self._g_pairs]
            else:
                grip = self._home_grip_l
            for i, v in zip(self._grip_l, grip):
                out[i] = v
        return out
