"""FakeArm: an in-memory Arm FOR UNIT TESTS OF LOGIC ONLY (bring-up, the deploy loop's decisions).

It never replaces an integration test against a real part: SimArm (PyBullet) and HardwareArm against the
real firmware in simavr are tested on the same contract (tests/robokit/core/test_arm_contract.py). It has
no physics: a commanded target is reached by the next ``read()`` (an ideal servo), and time is
``time.monotonic()``. Faults are injected by the test: ``trip_watchdog()``, ``disconnect()``, or
``on_read[n] = callback`` (run just before the n-th read, counting from 0).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from robokit.core.arm import ArmDisconnected, ArmState, ArmStatus, SoftLifecycle, status_of
from robokit.robots import RobotSpec, default_robot, get_robot


class FakeArm(SoftLifecycle):
    """A fake arm for unit tests: records every call; see the module docstring.

    spec: a RobotSpec or its name. enabled: start enabled (a real firmware boots released).
    q_is_measured: what ``read()`` reports. calibration: what ``status()`` reports."""

    def __init__(
        self,
        spec: RobotSpec | str | None = None,
        *,
        enabled: bool = False,
        q_is_measured: bool = False,
        calibration: str = "uncalibrated",
    ) -> None:
        self.spec = get_robot(spec or default_robot()) if not isinstance(spec, RobotSpec) else spec
        self.q_is_measured, self.calibration = q_is_measured, calibration
        self._enabled, self._estop, self._watchdog = enabled, False, False
        self.q = np.asarray(self.spec.home_q, dtype=np.float64).copy()
        self.commands: list[np.ndarray] = []  # every target accepted while enabled
        self.calls: list[str] = []  # lifecycle calls in order: connect, enable, clear, ..., close
        self.reads = 0
        self.on_read: dict[int, Callable[[FakeArm], None]] = {}
        self.connected = self.closed = False
        self._lost: str | None = None
        self.connect()

    # --- test controls -------------------------------------------------------------------------

    def trip_watchdog(self) -> None:
        """As a firmware whose host went silent (hold action): targets ignored until ``clear()``."""
        self._watchdog = True

    def disconnect(self, why: str = "cable pulled") -> None:
        """Every later call raises ArmDisconnected."""
        self._lost = why

    # --- Arm contract --------------------------------------------------------------------------

    def connect(self) -> None:
        if self._lost is not None:
            raise ArmDisconnected(f"fake arm: link lost ({self._lost})")
        self.calls.append("connect")
        self.connected, self.closed = True, False

    def _check_link(self) -> None:
        if self._lost is not None:
            raise ArmDisconnected(f"fake arm: link lost ({self._lost})")
        if self.closed:
            raise ArmDisconnected("fake arm: closed")

    def read(self) -> ArmState:
        if (hook := self.on_read.pop(self.reads, None)) is not None:
            hook(self)
        self.reads += 1
        self._check_link()
        return ArmState(
            q=self.q.copy(),
            q_is_measured=self.q_is_measured,
            t_s=time.monotonic(),
            frame=self.reads,
            **self._flags(),
        )

    def command(self, q_target: np.ndarray) -> None:
        """Accept a target (reached by the next read) if enabled; ValueError (nothing sent) if bad."""
        self._check_link()
        q = self._checked_pose(q_target, "joint target")
        if self._follows_targets():
            self.commands.append(q.copy())
            self.q = q.copy()

    def _set_target(self, q: np.ndarray) -> None:
        self.q = np.asarray(q, dtype=np.float64).copy()

    def enable(self, pose: np.ndarray | None = None) -> ArmState:
        self._check_link()
        self.calls.append("enable")
        return super().enable(pose)

    def hold(self) -> ArmState:
        self.calls.append("hold")
        return super().hold()

    def release(self) -> ArmState:
        self.calls.append("release")
        return super().release()

    def estop(self) -> ArmState:
        self.calls.append("estop")
        return super().estop()

    def clear(self) -> ArmState:
        self.calls.append("clear")
        return super().clear()

    def status(self) -> ArmStatus:
        return status_of(self.read(), self.calibration)

    def close(self) -> None:
        """Idempotent; a closed FakeArm raises ArmDisconnected until ``connect()``."""
        if not self.closed:
            self.calls.append("close")
        self.closed, self.connected = True, False

    def __enter__(self) -> FakeArm:
        if not self.connected:
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
