"""The Arm contract: the only interface a task, the bring-up or a deploy loop talks to.

``SimArm`` and ``RealtimeSimArm`` (robokit.envs), ``HardwareArm`` (robokit.firmware_bridge) and
``FakeArm`` (robokit.runtime, for unit tests of logic) implement it; one contract test suite
(tests/robokit/core/test_arm_contract.py) runs against each. Joint values are in joint units (rad for
revolute, m for prismatic) and cover every joint of the RobotSpec, gripper included, in the spec's order.

Lifecycle: ``connect()`` (or ``with arm:``), then ``enable()`` to make the arm follow targets
(``robokit.runtime.bring_up`` is the one sequence that gets an arm ready), ``command()`` each tick,
``hold()`` to stop where it is, ``release()`` to go limp, ``estop()`` to latch an emergency stop that only
``clear()`` lifts, ``close()`` at the end. ``status()`` says which of these the arm is in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

import numpy as np


class ArmError(RuntimeError):
    """Base class for arm failures."""


class ArmDisconnected(ArmError):
    """The link to the arm is gone (port closed, emulator killed, telemetry stopped)."""


class ArmRefused(ArmError):
    """The arm refused a request (e.g. ENABLE while the e-stop is latched); nothing changed."""


class ArmMode(str, Enum):
    """What the arm does with targets now.

    ENABLED: it follows them. HOLDING: it keeps its last setpoints with power on but ignores targets
    (a tripped watchdog with the hold action) until ``clear()``. RELEASED: no power to the joints
    (servos limp). ESTOP: an emergency stop is latched; ``clear()``, then ``enable()``."""

    ENABLED = "enabled"
    HOLDING = "holding"
    RELEASED = "released"
    ESTOP = "estop"


@dataclass(frozen=True)
class ArmStatus:
    """A typed summary of an arm's state.

    mode: ArmMode. faults: latched faults, e.g. ("watchdog",) or ("estop",). calibration: "calibrated"
    (checked against a calibration file), "uncalibrated" (the device's stored calibration, unchecked), or
    "not applicable" (a simulated arm). q_is_measured: positions are measured (True) or the arm's own
    estimate such as a hobby servo's setpoint (False)."""

    mode: ArmMode
    faults: tuple[str, ...] = ()
    calibration: str = "not applicable"
    q_is_measured: bool = False

    @property
    def follows_targets(self) -> bool:
        return self.mode is ArmMode.ENABLED


@dataclass
class ArmState:
    """One reading of an arm.

    q: (n_joints,) joint positions, joint units. q_is_measured: False where the hardware only reports
    its own estimate (hobby PWM servos report the setpoint). t_s: time.monotonic() seconds for hardware,
    simulated seconds for SimArm. frame: the servo frame counter (firmware's or the sim's), if any.
    watchdog_tripped / estop_latched / released: the arm's flags (``mode`` and ``faults`` type them).
    held_by: why a bus driver holds the arm after faults (e.g. a servo that stopped answering); "" if not.
    """

    q: np.ndarray
    q_is_measured: bool
    t_s: float
    frame: int | None = None
    watchdog_tripped: bool = False
    estop_latched: bool = False
    released: bool = False
    extra: dict = field(default_factory=dict)
    held_by: str = ""  # a driver's reason for holding (a bus fault naming the servo); mode HOLDING

    @property
    def mode(self) -> ArmMode:
        """The ArmMode these flags mean (an e-stop wins over release, release over a tripped watchdog)."""
        if self.estop_latched:
            return ArmMode.ESTOP
        if self.released:
            return ArmMode.RELEASED
        if self.watchdog_tripped or self.held_by:
            return ArmMode.HOLDING
        return ArmMode.ENABLED

    @property
    def faults(self) -> tuple[str, ...]:
        """Latched faults: "estop", "watchdog", "bus" (a driver holds the arm: ``held_by`` says why)."""
        flags = (
            ("estop", self.estop_latched),
            ("watchdog", self.watchdog_tripped),
            ("bus", bool(self.held_by)),
        )
        return tuple(name for name, on in flags if on)


def status_of(state: ArmState, calibration: str = "not applicable") -> ArmStatus:
    """The ArmStatus of one reading (``calibration`` comes from the arm, not the reading)."""
    return ArmStatus(state.mode, state.faults, calibration, state.q_is_measured)


@runtime_checkable
class Arm(Protocol):
    """The contract every arm implements (see the module docstring for the lifecycle).

    ``spec`` is the arm's RobotSpec; ``q_is_measured`` says whether ``read().q`` is measured. Every
    state-changing call returns the ArmState after it. ``enable`` raises ArmRefused while the e-stop is
    latched (or a watchdog trip is not cleared); ``command`` raises ValueError (nothing sent) for a
    target of the wrong shape, not finite or outside the joint limits."""

    spec: Any
    q_is_measured: bool

    def connect(self) -> object: ...

    def read(self) -> ArmState: ...

    def command(self, q_target: np.ndarray) -> None: ...

    def enable(self, pose: np.ndarray | None = None) -> ArmState: ...

    def hold(self) -> ArmState: ...

    def release(self) -> ArmState: ...

    def estop(self) -> ArmState: ...

    def clear(self) -> ArmState: ...

    def status(self) -> ArmStatus: ...

    def close(self) -> None: ...

    def __enter__(self) -> Arm: ...

    def __exit__(self, *exc: object) -> None: ...


def checked_pose(spec: Any, q: Any, what: str) -> np.ndarray:
    """``q`` as float64 (n_joints,) inside ``spec``'s joint limits (1e-9 slack); ValueError naming ``what``
    (nothing sent) for a wrong shape, a non-finite value or a value outside them. Every Arm's check."""
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (spec.n_joints,) or not np.all(np.isfinite(q)):
        raise ValueError(f"bad {what} {q!r}; nothing sent")
    lo, hi = spec.arrays()
    if np.any(q < lo - 1e-9) or np.any(q > hi + 1e-9):
        raise ValueError(f"{what} {q.tolist()} is outside {spec.name}'s joint limits; nothing sent")
    return q


class SoftLifecycle:
    """The lifecycle of an arm simulated in software (SimArm, FakeArm), with the robokit firmware's
    semantics: ENABLE is refused while an e-stop is latched or a watchdog trip is not cleared; an e-stop
    also releases; CLEAR lifts both and leaves the arm released if it was; targets are ignored unless
    enabled. A subclass provides ``spec``, ``read()`` and ``_set_target(q)``."""

    spec: Any
    _enabled: bool = True
    _estop: bool = False
    _watchdog: bool = False

    def _flags(self) -> dict[str, bool]:
        """The ArmState flags for the current lifecycle state."""
        return {
            "estop_latched": self._estop,
            "watchdog_tripped": self._watchdog,
            "released": not self._enabled,
        }

    def _follows_targets(self) -> bool:
        return self._enabled and not (self._estop or self._watchdog)

    def _checked_pose(self, q: Any, what: str) -> np.ndarray:
        return checked_pose(self.spec, q, what)

    def _set_target(self, q: np.ndarray) -> None:
        raise NotImplementedError

    def read(self) -> ArmState:
        raise NotImplementedError

    def enable(self, pose: np.ndarray | None = None) -> ArmState:
        """Follow targets again, with ``pose`` (default: home) as the target; ArmRefused while an e-stop
        is latched or a watchdog trip is not cleared, ValueError for a pose outside the joint limits."""
        if self._estop or self._watchdog:
            raise ArmRefused(f"enable refused: {'e-stop latched' if self._estop else 'watchdog tripped'}")
        q = self._checked_pose(self.spec.home_q if pose is None else pose, "enable pose")
        self._enabled = True
        self._set_target(q)
        return self.read()

    def hold(self) -> ArmState:
        """Stop where the arm is: its current position becomes the target (it stays enabled)."""
        if self._follows_targets():
            self._set_target(np.asarray(self.read().q, dtype=np.float64))
        return self.read()

    def release(self) -> ArmState:
        """Stop following targets; the joints stay where they are."""
        if self._follows_targets():
            self._set_target(np.asarray(self.read().q, dtype=np.float64))
        self._enabled = False
        return self.read()

    def estop(self) -> ArmState:
        """Latch the e-stop (and release) until ``clear()``."""
        if self._follows_targets():
            self._set_target(np.asarray(self.read().q, dtype=np.float64))
        self._enabled, self._estop = False, True
        return self.read()

    def clear(self) -> ArmState:
        self._estop = self._watchdog = False
        return self.read()

    def status(self) -> ArmStatus:
        return status_of(self.read())
