"""Forward and inverse kinematics on a robot's URDF, in a private PyBullet DIRECT client.

The host of a real arm computes exactly what the simulator computes. Positions are in the robot's base
frame (m); joint vectors cover every joint of the RobotSpec in its order (rad / m).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pybullet as p

from robokit.robots import RobotSpec


def joint_index_map(body: int, names: tuple[str, ...], client: int) -> tuple[list[int], list[int]]:
    """(PyBullet joint indices of ``names``, indices of all movable joints) for a loaded body."""
    by_name: dict[str, int] = {}
    movable: list[int] = []
    for j in range(p.getNumJoints(body, physicsClientId=client)):
        info = p.getJointInfo(body, j, physicsClientId=client)
        by_name[info[1].decode()] = j
        if info[2] != p.JOINT_FIXED:
            movable.append(j)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ValueError(f"URDF has no joints named {missing}")
    return [by_name[n] for n in names], movable


def link_index(body: int, link_name: str, client: int) -> int:
    """PyBullet link index of ``link_name`` (the link a joint leads to)."""
    for j in range(p.getNumJoints(body, physicsClientId=client)):
        if p.getJointInfo(body, j, physicsClientId=client)[12].decode() == link_name:
            return j
    raise ValueError(f"URDF has no link named {link_name!r}")


def _inv3_spd(a: list[list[float]], damping_sq: float) -> np.ndarray:
    """Inverse of the 3x3 matrix a + damping_sq * I (a = J J^T), in closed form: numpy.linalg's
    per-call overhead is larger than the arithmetic at this size."""
    a00, a01, a02 = a[0][0] + damping_sq, a[0][1], a[0][2]
    a11, a12, a22 = a[1][1] + damping_sq, a[1][2], a[2][2] + damping_sq
    c00, c01, c02 = a11 * a22 - a12 * a12, a02 * a12 - a01 * a22, a01 * a12 - a02 * a11
    c11, c12, c22 = a00 * a22 - a02 * a02, a01 * a02 - a00 * a12, a00 * a11 - a01 * a01
    det = a00 * c00 + a01 * c01 + a02 * c02
    return np.array([[c00, c01, c02], [c01, c11, c12], [c02, c12, c22]]) / det


def _as_slice(idx: np.ndarray) -> np.ndarray | slice:
    """A contiguous ascending index array as a slice (a view, cheaper than fancy indexing)."""
    if len(idx) and np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
        return slice(int(idx[0]), int(idx[0]) + len(idx))
    return idx


class Kinematics:
    """FK, position Jacobian and damped-least-squares IK for one RobotSpec."""

    def __init__(self, spec: RobotSpec) -> None:
        self.spec = spec
        self._client = p.connect(p.DIRECT)
        self._body = p.loadURDF(spec.urdf, useFixedBase=True, physicsClientId=self._client)
        self._joints, movable = joint_index_map(self._body, spec.joint_names, self._client)
        if sorted(self._joints) != movable:
            raise ValueError(f"{spec.name}: RobotSpec joints must be exactly the URDF's movable joints")
        # calculateJacobian orders columns by PyBullet's movable-joint order; map them to spec order.
        self._col = np.array([movable.index(j) for j in self._joints])
        self._inv_col = np.argsort(self._col)  # spec-ordered q -> PyBullet movable order
        self._same_order = bool(np.array_equal(self._col, np.arange(len(self._col))))
        self._ee = link_index(self._body, spec.ee_link, self._client)
        self._zeros = [0.0] * spec.n_joints
        self._home = np.asarray(spec.home_q, dtype=np.float64)
        self._lower, self._upper = spec.arrays()
        self._q_key = b""
        self._ee_cached = np.zeros(3)
        self._subsets: dict[tuple[int, ...], tuple[np.ndarray, ...]] = {}

    def _set_q(self, q: np.ndarray) -> None:
        key = q.tobytes()
        if key == self._q_key:  # the hot path asks for the same q several times per tick
            return
        ql = q.tolist()
        p.resetJointStatesMultiDof(self._body, self._joints, [[v] for v in ql], physicsClientId=self._client)
        self._ee_cached = np.array(
            p.getLinkState(self._body, self._ee, computeForwardKinematics=1, physicsClientId=self._client)[4]
        )
        self._q_key = key

    @property
    def ee_link_index(self) -> int:
        """PyBullet link index of the end effector in this URDF."""
        return self._ee

    def seed(self, q: np.ndarray, ee_pos_m: np.ndarray) -> None:
        """Record fk(q) = ee_pos_m without evaluating it, for a caller that read ee_pos_m from a
        simulator holding this URDF at exactly q with its base at the origin (bit-exact, cheaper)."""
        self._q_key = np.asarray(q, dtype=np.float64).tobytes()
        self._ee_cached = np.asarray(ee_pos_m, dtype=np.float64)

    def fk(self, q: np.ndarray) -> np.ndarray:
        """End-effector position (3,) in m for joint vector q (n_joints,)."""
        self._set_q(np.asarray(q, dtype=np.float64))
        return self._ee_cached.copy()

    def _jacobian_raw(self, q: np.ndarray) -> np.ndarray:
        """calculateJacobian's position part (3, n_movable), columns in PyBullet's joint order."""
        self._set_q(q)
        jac_t, _ = p.calculateJacobian(
            self._body,
            self._ee,
            [0.0, 0.0, 0.0],
            (q if self._same_order else q[self._inv_col]).tolist(),
            self._zeros,
            self._zeros,
            physicsClientId=self._client,
        )
        return np.array(jac_t)

    def jacobian(self, q: np.ndarray) -> np.ndarray:
        """Position Jacobian d(ee)/dq, shape (3, n_joints), in m per joint unit."""
        jac = self._jacobian_raw(np.asarray(q, dtype=np.float64))
        return jac if self._same_order else jac[:, self._col]

    def _subset(self, joints: tuple[int, ...]) -> tuple:
        """(indices, raw Jacobian columns, home, lower, upper) of a joint subset, computed once."""
        key = tuple(joints)
        if key not in self._subsets:
            idx = np.asarray(key)
            cols = self._col[idx]
            home, lower, upper = self._home[idx], self._lower[idx], self._upper[idx]
            self._subsets[key] = (_as_slice(idx), _as_slice(cols), home, lower, upper)
        return self._subsets[key]

    def ik_step(
        self,
        q: np.ndarray,
        target_pos_m: np.ndarray,
        joints: tuple[int, ...] | None = None,
        damping: float = 0.05,
        home_gain: float = 0.02,
    ) -> np.ndarray:
        """One damped-least-squares step from q toward an end-effector position; returns a clipped q.

        joints: indices allowed to move (default: the arm joints). home_gain pulls the null space
        gently toward the home pose so redundant arms do not drift.
        """
        q = np.asarray(q, dtype=np.float64)
        idx, cols, home, lower, upper = self._subset(self.spec.arm_indices if joints is None else joints)
        self._set_q(q)
        err = np.asarray(target_pos_m, dtype=np.float64) - self._ee_cached
        jac = self._jacobian_raw(q)[:, cols]
        inv = _inv3_spd((jac @ jac.T).tolist(), damping**2)
        if home_gain > 0.0:  # plus a null-space pull toward home: dq = J+ err + (I - J+ J) h
            h = home_gain * (home - q[idx])
            dq = jac.T @ (inv @ (err - jac @ h)) + h
        else:
            dq = jac.T @ (inv @ err)
        out = q.copy()
        out[idx] = np.minimum(np.maximum(q[idx] + dq, lower), upper)
        return out

    def ik(
        self, target_pos_m: np.ndarray, q0: np.ndarray | None = None, iters: int = 50, tol_m: float = 1e-4
    ) -> np.ndarray:
        """Iterated DLS IK from q0 (default home) to an end-effector position; returns q (n_joints,)."""
        q = self._home.copy() if q0 is None else np.asarray(q0, dtype=np.float64).copy()
        for _ in range(iters):
            if np.linalg.norm(self.fk(q) - target_pos_m) < tol_m:
                break
            q = self.ik_step(q, target_pos_m, damping=0.02)
        return q

    def close(self) -> None:
        if self._client >= 0:
            p.disconnect(physicsClientId=self._client)
            self._client = -1

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
