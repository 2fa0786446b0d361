"""SimArm: the Arm contract over a PyBullet simulation.

Servo-driven arms (``spec.servo_driven``) run robokit.core.servo's motion model every 20 ms of sim time and
PyBullet's position motors track that setpoint; ``read()`` then reports the setpoint with
``q_is_measured=False``, as the firmware does. Other arms (the Panda) use PyBullet position control on
the target directly and report measured joint positions.

Both implement the whole Arm contract (robokit.core.arm): a SimArm starts enabled; ``release()`` and
``estop()`` stop it following targets (the joints keep where they are: a limp servo's sag is not
simulated), with the firmware's rules for ``enable()`` and ``clear()`` (``SoftLifecycle``).
"""

from __future__ import annotations

import math

import numpy as np

from robokit.core.arm import ArmDisconnected, ArmState, SoftLifecycle
from robokit.core.bullet_client import p
from robokit.core.kinematics import joint_index_map
from robokit.core.servo import servo_step_floats
from robokit.core.units import SERVO_FRAME_S
from robokit.envs.bullet import Bullet
from robokit.robots import RobotSpec

SERVO_POSITION_GAIN = 1.0  # PyBullet POSITION_CONTROL kp: lags the 20 ms setpoint ramp by one physics step


class SimArm(SoftLifecycle):
    """A simulated arm in its own (or a given) Bullet client; base at the world origin."""

    def __init__(self, spec: RobotSpec, bullet: Bullet | None = None) -> None:
        self.spec = spec
        self.q_is_measured = not spec.servo_driven
        self._own_bullet = bullet is None
        self.bullet = bullet or Bullet(spec.sim_timestep_s)
        self._cid = self.bullet.client
        self.body = self.bullet.load_urdf(spec.urdf)
        self._joints, _ = joint_index_map(self.body, spec.joint_names, self._cid)
        self._home = np.asarray(spec.home_q, dtype=np.float64)
        self._lower_l, self._upper_l = (list(map(float, v)) for v in (spec.lower, spec.upper))
        self._max_speed = np.asarray(spec.max_speed, dtype=np.float64)
        self._forces = list(spec.joint_force)
        steps_per_frame = max(1, round(SERVO_FRAME_S / spec.sim_timestep_s))
        self._ramp_fracs = (np.arange(1, steps_per_frame + 1) / steps_per_frame).tolist()
        self._max_delta = (self._max_speed * SERVO_FRAME_S).tolist()  # rad per servo frame
        self._gains = [SERVO_POSITION_GAIN] * len(self._joints)
        for j, q in zip(self._joints, self._home):
            p.resetJointState(self.body, j, float(q), 0.0, physicsClientId=self._cid)
        self._saved: int | None = None
        self._closed = False
        self.reset()

    def save(self) -> None:
        """Remember the whole scene as loaded; ``reset()`` restores it bit-exactly."""
        self._saved = self.bullet.save_state()

    def reset(self) -> None:
        """Back to the home pose at rest, t=0, frame 0, servos holding home."""
        if self._saved is not None:
            self.bullet.restore_state(self._saved)
        self.t_s = 0.0
        self.frame = 0
        self._enabled, self._estop, self._watchdog = True, False, False
        self._target = self._home.copy()
        self._setpoint = self._home.copy()
        # restoreState keeps old motor targets
        self._drive(self._home.tolist(), [0.0] * len(self._home) if self.spec.servo_driven else None)

    def set_pose(self, q: np.ndarray) -> None:
        """Put the arm at rest at ``q`` (n_joints,) rad inside the limits, holding it there (a reset's
        start pose; ValueError otherwise)."""
        q = self._checked_pose(q, "start pose")
        for j, value in zip(self._joints, q):
            p.resetJointState(self.body, j, float(value), 0.0, physicsClientId=self._cid)
        self._target = q.copy()
        self._setpoint = q.copy()
        self._drive(q.tolist(), [0.0] * len(q) if self.spec.servo_driven else None)

    def _drive(self, q: list[float], qd: list[float] | None = None) -> None:
        """Position motors to joint targets q (n_joints,); with qd, servo-model tracking (velocity
        feed-forward, low gain)."""
        kw = {}
        if qd is not None:
            kw = {"targetVelocities": qd, "positionGains": [SERVO_POSITION_GAIN] * len(q)}
        p.setJointMotorControlArray(
            self.body,
            self._joints,
            p.POSITION_CONTROL,
            targetPositions=q,
            forces=self._forces,
            physicsClientId=self._cid,
            **kw,
        )

    def connect(self) -> None:
        """Nothing to connect: the simulation is loaded by the constructor. ArmDisconnected once closed
        (a closed SimArm's simulation is gone: make a new one)."""
        self._check_open()

    def _check_open(self) -> None:
        if self._closed:
            raise ArmDisconnected(f"simulated {self.spec.name} arm is closed; make a new SimArm")

    def command(self, q_target: np.ndarray) -> None:
        """Set joint targets (n_joints,), joint units. Takes effect as the sim advances; ignored (as the
        firmware ignores TARGETS) unless the arm is enabled. ValueError for a wrong shape, NaN/inf or a
        value outside the robot's joint limits (as HardwareArm and FakeArm: the Arm contract);
        ArmDisconnected once closed."""
        self._check_open()
        q_target = np.asarray(q_target, dtype=np.float64)
        values = q_target.tolist()
        # one pass for the usual target (NaN fails every comparison, inf the limits); the messages after it
        ok = q_target.shape == self._home.shape and all(
            lo <= v <= hi for v, lo, hi in zip(values, self._lower_l, self._upper_l)
        )
        if not ok and (q_target.shape != self._home.shape or not all(map(math.isfinite, values))):
            raise ValueError(f"bad joint target {q_target!r}")
        if not ok:
            raise ValueError(f"joint target {values} is outside the joint limits")
        if self._enabled and not (self._estop or self._watchdog):
            self._target = q_target
            if not self.spec.servo_driven:
                self._drive(values)

    def _set_target(self, q: np.ndarray) -> None:
        self._target = q
        if not self.spec.servo_driven:
            self._drive(q.tolist())

    def advance(self, duration_s: float) -> None:
        """Simulate duration_s of time (a whole number of servo frames for servo-driven arms);
        ArmDisconnected once closed."""
        self._check_open()
        if self.spec.servo_driven:
            cid, body, joints, forces, gains = self._cid, self.body, self._joints, self._forces, self._gains
            control, frame_s = p.POSITION_CONTROL, SERVO_FRAME_S
            sp, target = self._setpoint.tolist(), self._target.tolist()
            for _ in range(max(1, round(duration_s / frame_s))):  # at least one frame
                new = servo_step_floats(sp, target, self._max_delta)
                delta = [b - a for a, b in zip(sp, new)]
                qd = [d / frame_s for d in delta]
                # the motors follow the setpoint's 20 ms ramp, one physics step at a time
                for f in self._ramp_fracs:
                    p.setJointMotorControlArray(
                        body,
                        joints,
                        control,
                        targetPositions=[s + f * d for s, d in zip(sp, delta)],
                        targetVelocities=qd,
                        forces=forces,
                        positionGains=gains,
                        physicsClientId=cid,
                    )
                    p.stepSimulation(physicsClientId=cid)
                sp = new
                self.frame += 1
                self.t_s += frame_s
            self._setpoint = np.array(sp)
        else:
            n = max(1, round(duration_s / self.spec.sim_timestep_s))
            self.bullet.step(n)
            self.t_s += n * self.spec.sim_timestep_s

    def commanded_q(self) -> np.ndarray:
        """Where the joints are driven to now (n_joints,), joint units: a servo-driven arm's setpoint (its
        servos' position command this frame), otherwise the last accepted target."""
        return (self._setpoint if self.spec.servo_driven else self._target).copy()

    def measured_q(self) -> np.ndarray:
        """Joint positions of the simulated bodies (n_joints,), whatever the arm reports."""
        states = p.getJointStates(self.body, self._joints, physicsClientId=self._cid)
        return np.array([s[0] for s in states])  # Python floats: float64

    def link_position(self, link: int) -> np.ndarray:
        """World (= base frame: the base sits at the origin) position (3,) of a link frame, m."""
        state = p.getLinkState(self.body, link, computeForwardKinematics=1, physicsClientId=self._cid)
        return np.array(state[4])

    def read(self) -> ArmState:
        """The arm's reading; ArmDisconnected once closed."""
        if self._closed:
            self._check_open()
        flags = {} if self._enabled and not (self._estop or self._watchdog) else self._flags()
        if self.spec.servo_driven:
            return ArmState(
                q=self._setpoint.copy(), q_is_measured=False, t_s=self.t_s, frame=self.frame, **flags
            )
        return ArmState(q=self.measured_q(), q_is_measured=True, t_s=self.t_s, frame=None, **flags)

    def close(self) -> None:
        """Idempotent; afterwards every call raises ArmDisconnected (the Arm contract)."""
        self._closed = True
        if self._own_bullet:
            self.bullet.close()

    def __enter__(self) -> SimArm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RealtimeSimArm(SimArm):
    """A SimArm whose simulated time follows the wall clock, as a real arm's does: ``read()`` first
    simulates the whole 20 ms servo frames (or physics steps) that have elapsed since the last read.
    Used by ``robokit deploy --dry-run`` so the deploy loop runs unchanged."""

    def __init__(self, spec: RobotSpec, bullet: Bullet | None = None) -> None:
        super().__init__(spec, bullet)
        self._t0_wall: float | None = None

    def _catch_up(self) -> None:
        import time

        now = time.monotonic()
        if self._t0_wall is None:
            self._t0_wall = now
        step = SERVO_FRAME_S if self.spec.servo_driven else self.spec.sim_timestep_s
        due = int((now - self._t0_wall) / step) - int(round(self.t_s / step))
        if due > 0:
            self.advance(due * step)

    def read(self) -> ArmState:
        self._catch_up()
        return super().read()
