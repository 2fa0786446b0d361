"""A robot in PyBullet as the plant behind a virtual servo bus (``plant.Plant``): gravity, load and contact
show up in Present_Position, Present_Load and the status bits.

Each servo with torque on drives its joint's position motor toward its goal with the spec's stall torque
and no-load speed (the STS3215 closes its own position loop); a servo with torque off leaves its joint to
the gear train's friction (``LIMP_FRICTION_NM``), so an arm let go sags where gravity beats it. Load is
the motor's applied torque over its stall torque (-1..1). Raw counts are ``encoder_at_zero + q / rad per
count`` (times the drive sign): a freshly assembled arm's encoders read anything at q = 0 (the horn sits
where it was pressed on), which calibration (Homing_Offset) takes out; the default 2048 is an arm homed
to robokit's zero convention (``arm.counts_to_q``). ``hand`` stands for a person moving joints with the
torque off (calibration's range recording): ``hand(t_s) -> {joint index: q}`` is applied every step. ``history`` records (simulated s, time.monotonic(), q) at ``record_hz`` so a run can be filmed
afterwards and lined up with a client's clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from robokit.core.bullet_client import disconnect, p
from robokit.core.kinematics import joint_index_map
from robokit.firmware_bridge.feetech.control_table import MIDDLE_COUNTS, RAD_PER_COUNT
from robokit.firmware_bridge.feetech.plant import PlantState
from robokit.robots import RobotSpec

LIMP_FRICTION_NM = 0.4  # a torque-off STS3215's gear train (1:345) resists this much (model)
MOVING_RAD_S = 0.02  # Moving reads 1 above this joint speed


class BulletPlant:
    """``spec``'s arm in its own PyBullet DIRECT client, at ``start_q`` (default home), base on a table
    top at z = 0. sign: (n,) -1 for a joint whose counts fall as q grows (the bus section's drive_mode)."""

    def __init__(
        self,
        spec: RobotSpec,
        sign: np.ndarray | None = None,
        start_q: np.ndarray | None = None,
        record_hz: float = 50.0,
        encoder_at_zero: np.ndarray | None = None,
    ) -> None:
        self.spec, self.n_joints = spec, spec.n_joints
        self.sign = np.ones(self.n_joints) if sign is None else np.asarray(sign, dtype=np.float64)
        zero = MIDDLE_COUNTS if encoder_at_zero is None else encoder_at_zero
        self.encoder_at_zero = np.broadcast_to(np.asarray(zero, dtype=np.float64), (self.n_joints,)).copy()
        self.hand: Callable[[float], dict[int, float]] | None = None
        self.client = p.connect(p.DIRECT)
        p.setGravity(0, 0, -9.81, physicsClientId=self.client)
        p.setTimeStep(spec.sim_timestep_s, physicsClientId=self.client)
        table = p.createCollisionShape(p.GEOM_BOX, halfExtents=[0.5, 0.5, 0.01], physicsClientId=self.client)
        p.createMultiBody(0, table, basePosition=[0.15, 0, -0.01], physicsClientId=self.client)
        self.body = p.loadURDF(spec.urdf, useFixedBase=True, physicsClientId=self.client)
        self.joints, _ = joint_index_map(self.body, spec.joint_names, self.client)
        q0 = np.asarray(spec.home_q if start_q is None else start_q, dtype=np.float64)
        for j, q in zip(self.joints, q0):
            p.resetJointState(self.body, j, float(q), 0.0, physicsClientId=self.client)
        self.force = np.asarray(spec.joint_force, dtype=np.float64)
        self.t_s, self._debt_s = 0.0, 0.0
        self.record_period_s = 1.0 / record_hz
        self.history: list[tuple[float, float, list[float]]] = []
        self._state = self._measure()

    def q(self) -> np.ndarray:
        """Joint angles (n,) rad."""
        states = p.getJointStates(self.body, self.joints, physicsClientId=self.client)
        return np.array([s[0] for s in states])

    def _measure(self) -> PlantState:
        states = p.getJointStates(self.body, self.joints, physicsClientId=self.client)
        q = np.array([s[0] for s in states])
        qd = np.array([s[1] for s in states])
        torque = np.array([s[3] for s in states])
        counts = self.encoder_at_zero + q * self.sign / RAD_PER_COUNT
        load = np.clip(torque * self.sign / self.force, -1.0, 1.0)
        return PlantState(counts, qd * self.sign / RAD_PER_COUNT, load, np.abs(qd) > MOVING_RAD_S)

    def state(self) -> PlantState:
        return self._state

    @property
    def behind_s(self) -> float:
        """How far the plant's time is behind the time it was asked to reach (less than a physics step)."""
        return self._debt_s

    def step(self, goal_counts: np.ndarray, torque_enabled: np.ndarray, dt_s: float) -> PlantState:
        """Advance ``dt_s`` (whole physics steps; the remainder carries over to the next call)."""
        goal_q = (
            (np.asarray(goal_counts, dtype=np.float64) - self.encoder_at_zero) * RAD_PER_COUNT * self.sign
        )
        on = np.asarray(torque_enabled, dtype=bool)
        for k, j in enumerate(self.joints):
            if on[k]:
                p.setJointMotorControl2(
                    self.body, j, p.POSITION_CONTROL, targetPosition=float(goal_q[k]),
                    force=float(self.force[k]), maxVelocity=float(self.spec.max_speed[k]),
                    physicsClientId=self.client,
                )  # fmt: skip
            else:
                p.setJointMotorControl2(
                    self.body, j, p.VELOCITY_CONTROL, targetVelocity=0.0, force=LIMP_FRICTION_NM,
                    physicsClientId=self.client,
                )  # fmt: skip
        self._debt_s += dt_s
        steps = int(self._debt_s / self.spec.sim_timestep_s)
        for _ in range(steps):
            if self.hand is not None:
                self._held_by_hand()
            p.stepSimulation(physicsClientId=self.client)
        self._debt_s -= steps * self.spec.sim_timestep_s
        self.t_s += steps * self.spec.sim_timestep_s
        if steps and (not self.history or self.t_s - self.history[-1][0] >= self.record_period_s):
            self.history.append((round(self.t_s, 4), time.monotonic(), self.q().round(5).tolist()))
        self._state = self._measure()
        return self._state

    def _held_by_hand(self) -> None:
        assert self.hand is not None
        for k, q in self.hand(self.t_s).items():
            p.resetJointState(self.body, self.joints[k], float(q), 0.0, physicsClientId=self.client)

    def tip_m(self) -> np.ndarray:
        """The end-effector link's position (3,) m, base frame (the base sits at the origin)."""
        ee = [
            j for j in range(p.getNumJoints(self.body, physicsClientId=self.client))
            if p.getJointInfo(self.body, j, physicsClientId=self.client)[12].decode() == self.spec.ee_link
        ]  # fmt: skip
        state = p.getLinkState(self.body, ee[0], computeForwardKinematics=1, physicsClientId=self.client)
        return np.asarray(state[4])

    def close(self) -> None:
        disconnect(self.client)
