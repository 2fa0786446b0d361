"""Forward and inverse kinematics on a robot's URDF, in a private PyBullet DIRECT client.

The host of a real arm computes exactly what the simulator computes. Positions are in the robot's base
frame (m); joint vectors cover every joint of the RobotSpec in its order (rad / m).
"""

from __future__ import annotations

import math
from operator import mul

import numpy as np

from robokit.core.bullet_client import disconnect_when_collected, p
from robokit.core.robot_spec import RobotSpec

HOLD_RADIUS_M = 0.005  # ik_step's null-space pull toward home fades to zero inside this tip error (m)


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


def _inv3_spd(a00: float, a01: float, a02: float, a11: float, a12: float, a22: float) -> tuple:
    """Inverse of the symmetric 3x3 matrix [[a00, a01, a02], [., a11, a12], [., ., a22]] in closed form,
    as its six distinct entries (b00, b01, b02, b11, b12, b22): numpy's per-call overhead is larger
    than the arithmetic at this size."""
    c00, c01, c02 = a11 * a22 - a12 * a12, a02 * a12 - a01 * a22, a01 * a12 - a02 * a11
    c11, c12, c22 = a00 * a22 - a02 * a02, a01 * a02 - a00 * a12, a00 * a11 - a01 * a01
    det = a00 * c00 + a01 * c01 + a02 * c02
    return c00 / det, c01 / det, c02 / det, c11 / det, c12 / det, c22 / det


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
        self._finalizer = disconnect_when_collected(self, self._client)  # also when dropped unclosed
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
        # the q before (key, fk): FK is a function of q alone, so either cached pair answers fk
        self._prev_key, self._prev_ee = b"", np.zeros(3)
        self._subsets: dict[tuple[int, ...], tuple[np.ndarray, ...]] = {}
        self._lever_m = self._lever_arms()
        self._by_lever = sorted(range(spec.n_joints), key=lambda j: -(self._lever_m or self._zeros)[j])
        self._jac_key = b""  # q (bytes) of the last Jacobian computed
        self._jac_z: list[float] = []  # its z row, spec order

    def _lever_arms(self) -> list[float] | None:
        """Per joint (spec order), the length (m) of the rigid chain of link frames from the joint's own
        frame to the end effector: a bound on the end effector's distance from the joint's axis in
        every configuration (0 for joints off that chain). None unless every joint on the chain is
        revolute or fixed (other joints change the chain's length)."""
        cid, body = self._client, self._body
        chain = [self._ee]  # the end-effector link, then its ancestors up to the base's child
        while (parent := p.getJointInfo(body, chain[-1], physicsClientId=cid)[16]) >= 0:
            chain.append(parent)
        pos = [
            np.array(p.getLinkState(body, k, computeForwardKinematics=1, physicsClientId=cid)[4])
            for k in chain
        ]
        lever, along = {}, 0.0
        for i, link in enumerate(chain):
            lever[link] = along  # revolute joint `link` turns about an axis through this link's frame
            if i + 1 < len(chain):  # parent -> child frame offset: the joint origin, rigid unless prismatic
                along += float(np.linalg.norm(pos[i] - pos[i + 1]))
        for link in chain:
            if p.getJointInfo(body, link, physicsClientId=cid)[2] not in (p.JOINT_REVOLUTE, p.JOINT_FIXED):
                return None
        return [lever.get(j, 0.0) for j in self._joints]

    def ee_z_lower_bound_m(self, q_from: np.ndarray, q_to: np.ndarray) -> float:
        """A lower bound (m) on fk(q_to)[2] that evaluates no FK at q_to (-inf where none is known).

        From z = fk(q_from)[2] and d = q_to - q_from, with lever arms L (see ``_lever_arms``):
        first order, the tip moves at most sum_j L_j |d_j|; second order, when the Jacobian at q_from is
        cached (a tick's ee_delta ``ik_step`` leaves it), z(q_to) >= z + (J d)_z - M / 2 with M = sum_ij |d_i| |d_j| min(L_i, L_j),
        which bounds the second derivative of the tip along the segment for a chain of revolute joints.
        """
        if self._lever_m is None:
            return -math.inf
        q_from = np.asarray(q_from, dtype=np.float64)
        self._set_q(q_from)  # cached within a tick
        z = self._ee_cached.item(2)
        d = [b - a for a, b in zip(q_from.tolist(), np.asarray(q_to).tolist())]
        ad = [abs(v) for v in d]
        lever = self._lever_m
        bound = z - sum(map(mul, lever, ad))
        if self._jac_key == self._q_key:  # the Jacobian at q_from: add the second-order bound
            m, prefix = 0.0, 0.0
            for k in self._by_lever:  # joints by decreasing lever: min(L_i, L_j) is the later one's
                m += lever[k] * ad[k] * (ad[k] + 2.0 * prefix)
                prefix += ad[k]
            bound = max(bound, z + sum(map(mul, self._jac_z, d)) - 0.5 * m)
        return bound

    def _set_q(self, q: np.ndarray) -> None:
        key = q.tobytes()
        if key == self._q_key:  # the hot path asks for the same q several times per tick
            return
        if key == self._prev_key:  # Safety's floor check goes back from a target's FK to the tick's q
            self._q_key, self._prev_key = key, self._q_key
            self._ee_cached, self._prev_ee = self._prev_ee, self._ee_cached
            return
        self._prev_key, self._prev_ee = self._q_key, self._ee_cached
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
        self._prev_key, self._prev_ee = self._q_key, self._ee_cached
        self._q_key = np.asarray(q, dtype=np.float64).tobytes()
        self._ee_cached = np.asarray(ee_pos_m, dtype=np.float64)

    def fk(self, q: np.ndarray) -> np.ndarray:
        """End-effector position (3,) in m for joint vector q (n_joints,)."""
        self._set_q(np.asarray(q, dtype=np.float64))
        return self._ee_cached.copy()

    def _jacobian_rows(self, q: np.ndarray) -> tuple[tuple[float, ...], ...]:
        """calculateJacobian's position rows (3 x n_movable), columns in PyBullet's joint order. Also
        leaves the z row (spec order) cached for ``ee_z_lower_bound_m``, keyed by q."""
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
        self._jac_key = self._q_key
        self._jac_z = list(jac_t[2]) if self._same_order else [jac_t[2][c] for c in self._col.tolist()]
        return jac_t

    def jacobian(self, q: np.ndarray) -> np.ndarray:
        """Position Jacobian d(ee)/dq, shape (3, n_joints), in m per joint unit."""
        jac = np.array(self._jacobian_rows(np.asarray(q, dtype=np.float64)))
        return jac if self._same_order else jac[:, self._col]

    def _subset(self, joints: tuple[int, ...]) -> tuple:
        """(indices, Jacobian columns, home, lower, upper) of a joint subset, computed once: indices as
        a numpy index (a slice where contiguous), the rest as Python lists/slices for the float path."""
        key = tuple(joints)
        if key not in self._subsets:
            idx = np.asarray(key)
            cols = _as_slice(self._col[idx])
            if not isinstance(cols, slice):
                cols = cols.tolist()
            self._subsets[key] = (
                _as_slice(idx),
                cols,
                self._home[idx].tolist(),
                self._lower[idx].tolist(),
                self._upper[idx].tolist(),
            )
        return self._subsets[key]

    def ik_step(
        self,
        q: np.ndarray,
        target_pos_m: np.ndarray,
        joints: tuple[int, ...] | None = None,
        damping: float = 0.05,
        home_gain: float = 0.02,
        hold_radius_m: float = HOLD_RADIUS_M,
    ) -> np.ndarray:
        """One damped-least-squares step from q toward an end-effector position; returns a clipped q.

        joints: indices allowed to move (default: the arm joints). home_gain pulls the null space
        gently toward the home pose so redundant arms do not drift while they move:
        dq = J^T (J J^T + damping^2 I)^-1 (err - J h) + h, with
        h = home_gain * min(1, |err| / hold_radius_m) * (home - q).
        The pull fades with the remaining tip error (err in m), so a target at the tip itself (a zero
        ee_delta action) leaves q unchanged: without the fade an arm holding its tip still kept
        drifting its redundant joints toward home, 0.004 rad of joint std on ServoArmReach.
        Computed in Python floats: at 3 x 7 numpy's per-call overhead exceeds the arithmetic.
        Raises ValueError for a negative or NaN ``hold_radius_m`` or ``home_gain``.
        """
        q = np.asarray(q, dtype=np.float64)
        idx, cols, home, lower, upper = self._subset(self.spec.arm_indices if joints is None else joints)
        tx, ty, tz = _xyz(target_pos_m)
        jac_t = self._jacobian_rows(q)  # also sets q: _ee_cached is fk(q)
        cx, cy, cz = self._ee_cached.tolist()
        ex, ey, ez = tx - cx, ty - cy, tz - cz
        ql = q.tolist()
        if isinstance(cols, slice):
            j0, j1, j2 = (row[cols] for row in jac_t)
            qs = ql[idx]
        else:
            j0, j1, j2 = ([row[c] for c in cols] for row in jac_t)
            qs = [ql[i] for i in idx.tolist()]
        d2 = damping * damping
        b00, b01, b02, b11, b12, b22 = _inv3_spd(
            sum(map(mul, j0, j0)) + d2,
            sum(map(mul, j0, j1)),
            sum(map(mul, j0, j2)),
            sum(map(mul, j1, j1)) + d2,
            sum(map(mul, j1, j2)),
            sum(map(mul, j2, j2)) + d2,
        )
        gain = _pull_gain(home_gain, hold_radius_m, math.sqrt(ex * ex + ey * ey + ez * ez))
        if gain > 0.0:
            h = [gain * (hm - x) for hm, x in zip(home, qs)]
            ex -= sum(map(mul, j0, h))
            ey -= sum(map(mul, j1, h))
            ez -= sum(map(mul, j2, h))
        else:
            h = [0.0] * len(qs)
        y0 = b00 * ex + b01 * ey + b02 * ez
        y1 = b01 * ex + b11 * ey + b12 * ez
        y2 = b02 * ex + b12 * ey + b22 * ez
        out = q.copy()
        new = [x + a * y0 + b * y1 + c * y2 + hx for x, a, b, c, hx in zip(qs, j0, j1, j2, h)]
        # clip to the limits; a NaN stays NaN (Safety refuses it downstream)
        out[idx] = [lo if v < lo else (up if v > up else v) for v, lo, up in zip(new, lower, upper)]
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
        """Disconnect the private client; calling it again does nothing."""
        self._finalizer()
        self._client = -1


def _xyz(target_pos_m: np.ndarray | list) -> list[float]:
    """A position (3,) as three Python floats (a list of three, the Controller's, without an array)."""
    if type(target_pos_m) is list and len(target_pos_m) == 3:
        return [float(v) for v in target_pos_m]
    return np.asarray(target_pos_m, dtype=np.float64).tolist()


def _pull_gain(home_gain: float, hold_radius_m: float, err_m: float) -> float:
    """ik_step's null-space gain: home_gain * min(1, err_m / hold_radius_m) (err_m: the tip's remaining
    error, m). ValueError for a negative or NaN home_gain or hold_radius_m."""
    if not (hold_radius_m >= 0.0 and home_gain >= 0.0):  # False for NaN too
        raise ValueError(f"hold_radius_m and home_gain must be >= 0, got {hold_radius_m!r}, {home_gain!r}")
    return home_gain * min(1.0, err_m / hold_radius_m) if hold_radius_m > 0.0 else home_gain
