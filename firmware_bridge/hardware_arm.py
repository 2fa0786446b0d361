"""HardwareArm: the Arm contract over a serial link to the robokit firmware (docs/protocol.md).

Any pyserial URL works: a device path (/dev/ttyUSB0, /dev/pts/7), ``socket://host:port``, ``rfc2217://``.
The link (``link.FirmwareLink``) decodes every frame as it arrives and keeps the latest STATE; ``read()``
sends PING and waits (at most ``reply_timeout_s``) for the fresh STATE, so an observation never predates
the tick. This module is the lifecycle on top: connect and check, enable, hold, release, e-stop, clear.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from robokit.core.arm import (
    ArmDisconnected,
    ArmError,
    ArmMode,
    ArmRefused,
    ArmState,
    ArmStatus,
    checked_pose,
    status_of,
)
from robokit.core.units import SERVO_FRAME_S
from robokit.firmware_bridge import protocol as pr
from robokit.firmware_bridge.calibration import (
    CalibrationFileError,
    check_config,
    check_watchdog_for_period,
    firmware_settings_problems,
    load_calibration,
)
from robokit.firmware_bridge.firmware_match import calibration_differences, firmware_differences
from robokit.firmware_bridge.fixedpoint import from_100urad, rad_to_100urad
from robokit.firmware_bridge.link import BAUD, FirmwareLink
from robokit.firmware_bridge.serial_port import PortBusy, PortError, PortPermissionError
from robokit.robots import RobotSpec, get_robot

HOLD_SETTLE_S = 0.2  # hold(): the longest wait for the setpoints to come back to the held pose (10 frames)

__all__ = [
    "ArmConfigInvalid",
    "ArmMismatch",
    "ArmPermissionError",
    "ArmRefused",
    "CalibrationFileError",
    "HardwareArm",
    "PortBusy",
    "PortError",
    "check_watchdog_for_period",
]


class ArmMismatch(ArmError):
    """The firmware's joints, limits, speeds or calibration differ from what the host expects."""


ArmPermissionError = PortPermissionError  # the port exists but this user may not open it


class ArmConfigInvalid(ArmMismatch):
    """The firmware's stored settings cannot work with this host: its watchdog is off, outside
    [WATCHDOG_MIN_MS, WATCHDOG_MAX_MS] or shorter than 3 control periods, or a joint's calibration is one
    no servo has. Fix it with ``robokit arm calibrate``."""


class HardwareArm:
    """The robokit firmware on a serial port, as an Arm (the whole contract of robokit.core.arm).
    ``ArmRefused`` is raised when the firmware answers a request with ERROR (e.g. e-stop latched).

    port: a device path (opened exclusively: a second program gets PortBusy) or a pyserial URL.
    spec: the RobotSpec the firmware must match (checked against HELLO's reply on connect).
    on_close: "hold" (keep pulsing the last setpoints) or "release" (stop pulses) when closed.
    calibration: optional JSON file (``robokit arm calibrate``) whose pulse calibration must match; read
        and checked before the port is opened (CalibrationFileError).
    control_period_s: the host's tick (s); default the spec's control period. The firmware's watchdog
        must be at least 3 of them.
    check_settings: refuse (ArmConfigInvalid) a firmware whose watchdog or calibration cannot work with
        this host; ``robokit arm`` turns it off so that it can repair them.
    refuse_mismatch: refuse (ArmMismatch) a firmware that does not match ``spec``. False only to stop an
        arm whatever its settings (``robokit arm estop/release/status``): the differences are then kept in
        ``mismatch`` (None when it matches) and ``enable``/``command`` refuse to move the arm.
    """

    q_is_measured = False  # STATE reports the firmware's setpoints: hobby servos measure nothing

    def __init__(
        self,
        port: str,
        spec: RobotSpec | str = "servo_arm",
        baud: int = BAUD,
        on_close: str = "hold",
        calibration: Path | None = None,
        hello_timeout_s: float = 5.0,
        reply_timeout_s: float = 0.1,
        control_period_s: float | None = None,
        connect: bool = True,
        check_settings: bool = True,
        refuse_mismatch: bool = True,
    ) -> None:
        if on_close not in ("hold", "release"):
            raise ValueError("on_close must be 'hold' or 'release'")
        self.url, self.baud = port, baud
        self.link = FirmwareLink(port, baud, reply_timeout_s)
        self.spec = get_robot(spec) if isinstance(spec, str) else spec
        self.on_close, self.calibration = on_close, calibration
        self.hello_timeout_s, self.reply_timeout_s = hello_timeout_s, reply_timeout_s
        period = self.spec.control_period_s if control_period_s is None else float(control_period_s)
        if not (math.isfinite(period) and period > 0):
            raise ValueError(f"control_period_s must be a finite number > 0, got {control_period_s!r}")
        self.control_period_s, self.check_settings = period, check_settings
        self.refuse_mismatch = refuse_mismatch
        self.mismatch: str | None = None  # why the firmware does not match spec (refuse_mismatch=False)
        self._calibration = None if calibration is None else load_calibration(Path(calibration), self.spec)
        self.info: pr.Info | None = None
        self._pending_ack: int | None = None
        self.acks: deque[tuple[int, pr.State]] = deque(maxlen=4096)  # (seq of TARGETS, its STATE reply)
        self.stats = {"pings": 0, "ping_timeouts": 0, "targets": 0, "stale_reads": 0, "errors": 0}
        if connect:
            self.connect()

    # --- link ----------------------------------------------------------------------------------

    def connect(self) -> pr.Info:
        """Open the port (exclusively for a device path), send HELLO until answered (a real Uno sits 1-2 s
        in its bootloader after the port opens), then check protocol version, joints, limits, speeds,
        calibration and (with ``check_settings``) the watchdog against the control period.

        Raises PortBusy / PortError (port), ArmDisconnected (no answer), ArmMismatch (another robot or
        calibration), ArmConfigInvalid (settings that cannot work). The port is closed on any of them."""
        if not self.link.is_open:
            self.link.open()
        deadline = time.monotonic() + self.hello_timeout_s
        while True:
            reply = self.link.request(pr.Hello(seq=self.link.next_seq()), timeout_s=0.25)
            if isinstance(reply, pr.Info):
                break
            if time.monotonic() > deadline or self.link.dead:
                self.close()
                raise ArmDisconnected(
                    f"no answer to HELLO on {self.url} within {self.hello_timeout_s:.1f} s "
                    f"({self.link.dead or 'is the robokit firmware flashed and the baud rate right?'})"
                )
        self.info = reply
        try:
            self._check_info(reply)
        except ArmMismatch:
            self.close()
            raise
        return reply

    def _check_info(self, info: pr.Info) -> None:
        problems = firmware_differences(info, self.spec)
        if self._calibration is not None:
            problems += calibration_differences(info, self._calibration, Path(self.calibration), self.spec)
        self.mismatch = None
        if problems:
            msg = f"firmware on {self.url} does not match {self.spec.name}: " + "; ".join(problems)
            if self.refuse_mismatch:
                raise ArmMismatch(msg)
            self.mismatch = msg
            return  # settings are only checked against a firmware that matches
        invalid = (
            firmware_settings_problems(info, self.spec, self.control_period_s) if self.check_settings else []
        )
        if invalid:
            raise ArmConfigInvalid(
                f"firmware on {self.url}: " + "; ".join(invalid) + " (fix with `robokit arm calibrate`)"
            )

    def _expect(self, msg: pr.Message, want: type, what: str) -> Any:
        reply = self.link.request(msg, timeout_s=self.reply_timeout_s)
        if isinstance(reply, pr.Error):
            self.stats["errors"] += 1
            raise ArmRefused(f"firmware refused {what}: {reply.name}")
        if not isinstance(reply, want):
            raise ArmDisconnected(f"no reply to {what} within {self.reply_timeout_s * 1e3:.0f} ms")
        return reply

    # --- Arm contract --------------------------------------------------------------------------

    def read(self) -> ArmState:
        """A fresh state (PING -> STATE), waiting at most one control period for it. A lost or late
        reply returns the last STATE (counted in ``stats``); no STATE at all for 3 control periods
        raises ArmDisconnected."""
        self.stats["pings"] += 1
        timeout = min(self.reply_timeout_s, self.control_period_s)
        reply = self.link.request(pr.Ping(seq=self.link.next_seq()), timeout_s=timeout)
        if isinstance(reply, pr.State):
            return self._to_state(reply, time.monotonic())
        self.stats["ping_timeouts"] += 1
        latest, t = self.link.latest_state()
        if latest is None or time.monotonic() - t > 3 * self.control_period_s:
            raise ArmDisconnected(f"no STATE from {self.url} for 3 control periods")
        self.stats["stale_reads"] += 1
        return self._to_state(latest, t, stale=True)

    def command(self, q_target: np.ndarray) -> None:
        """Send TARGETS (joint units, n_joints). The STATE reply is recorded in ``acks``.

        Raises ValueError (nothing sent) for a wrong shape, a non-finite value or one outside the
        robot's joint limits (the firmware would clamp it; the host never asks for it)."""
        self._refuse_if_mismatched("TARGETS")
        q = self._checked_pose(q_target, "joint target")
        seq = self.link.next_seq()
        self.stats["targets"] += 1
        self._pending_ack = seq  # the reader thread collects the STATE reply; see wait_ack()
        self.link.send(pr.Targets(seq=seq, targets_100urad=rad_to_100urad(q)))

    def wait_ack(self, timeout_s: float | None = None) -> pr.State | None:
        """The STATE answering the last TARGETS (frame at which the firmware applied it), or None."""
        seq = self._pending_ack
        if seq is None:
            return None
        reply = self.link.wait_reply(seq, self.reply_timeout_s if timeout_s is None else timeout_s)
        if isinstance(reply, pr.State):
            self.acks.append((seq, reply))
            return reply
        return None

    def _to_state(self, s: pr.State, t: float, stale: bool = False) -> ArmState:
        return ArmState(
            q=from_100urad(s.setpoints_100urad),
            q_is_measured=False,
            t_s=t,
            frame=s.frame,
            watchdog_tripped=s.watchdog_tripped,
            estop_latched=s.estop_latched,
            released=not s.enabled,
            extra={
                "targets": from_100urad(s.targets_100urad).tolist(),
                "rx_ok": s.rx_ok,
                "bad_crc": s.bad_crc,
                "bad_frame": s.bad_frame,
                "bad_msg": s.bad_msg,
                "rx_overflow": s.rx_overflow,
                "clamped": s.clamped,
                "stale": stale,
            },
        )

    # --- arm management ------------------------------------------------------------------------

    def _refuse_if_mismatched(self, what: str) -> None:
        """ArmMismatch (nothing sent) if connected with ``refuse_mismatch=False`` to a firmware that does
        not match the spec: such an arm may be stopped, never moved."""
        if self.mismatch is not None:
            raise ArmMismatch(f"{what} not sent: {self.mismatch}")

    def _checked_pose(self, q_target: np.ndarray, what: str) -> np.ndarray:
        return checked_pose(self.spec, q_target, what)

    def enable(self, pose: np.ndarray | None = None) -> ArmState:
        """Turn the pulses on and make ``pose`` (default: the spec's home pose) the target. Pulses resume
        at the firmware's setpoints (home after power-on; what the servos were last driven to after a
        release) and slew to ``pose`` at the servo speed; on an enabled arm this is a move, not a jump.
        Raises ValueError (nothing sent) for a pose outside the joint limits."""
        self._refuse_if_mismatched("ENABLE")
        pose = self._checked_pose(self.spec.home_q if pose is None else pose, "ENABLE pose")
        reply = self._expect(
            pr.Enable(seq=self.link.next_seq(), pose_100urad=rad_to_100urad(pose)), pr.State, "ENABLE"
        )
        return self._to_state(reply, time.monotonic())

    def hold(self) -> ArmState:
        """Stop where the arm is: on an enabled arm its setpoints become the targets (TARGETS); otherwise
        nothing is sent (the arm does not follow targets anyway). The setpoints may move on a 20 ms frame
        before the TARGETS lands and then slew back to it: the state returned is read once they are at
        the held pose (or after HOLD_SETTLE_S), so it is where the arm stays."""
        state = self.read()
        if state.mode is not ArmMode.ENABLED:
            return self.read()
        held = state.q.copy()
        self.command(held)
        self.wait_ack()
        end = time.monotonic() + HOLD_SETTLE_S
        state = self.read()
        while np.max(np.abs(state.q - held)) > 1e-4 and time.monotonic() < end:
            time.sleep(SERVO_FRAME_S / 2)
            state = self.read()
        return state

    def status(self) -> ArmStatus:
        """The typed status from a fresh STATE; calibration "calibrated" when connected with a matching
        calibration file, else "uncalibrated" (the firmware's stored calibration, unchecked)."""
        return status_of(self.read(), "calibrated" if self._calibration is not None else "uncalibrated")

    def release(self) -> ArmState:
        """Stop pulses (servos go limp)."""
        return self._to_state(
            self._expect(pr.Release(seq=self.link.next_seq()), pr.State, "RELEASE"), time.monotonic()
        )

    def estop(self) -> ArmState:
        """Latch the e-stop: the firmware stops pulses until CLEAR."""
        return self._to_state(
            self._expect(pr.Estop(seq=self.link.next_seq()), pr.State, "ESTOP"), time.monotonic()
        )

    def clear(self) -> ArmState:
        """Clear a latched e-stop or a tripped watchdog (the arm stays released until ENABLE)."""
        self._refuse_if_mismatched("CLEAR")  # a cleared trip resumes following the targets
        return self._to_state(
            self._expect(pr.Clear(seq=self.link.next_seq()), pr.State, "CLEAR"), time.monotonic()
        )

    def configure(
        self,
        joints: tuple[pr.JointConfig, ...],
        watchdog_timeout_ms: int,
        watchdog_action: int,
        check: bool = True,
    ) -> pr.Info:
        """Write calibration, limits, speeds and watchdog settings (kept in the firmware's EEPROM).

        With ``check`` (the default) the watchdog must suit ``control_period_s`` and every joint's zero
        pulse and slope must be ones a servo can have, else ValueError and nothing is sent; ``check=False``
        only to write back settings read from the firmware itself."""
        if check:
            check_config(joints, watchdog_timeout_ms, watchdog_action, self.spec, self.control_period_s)
        msg = pr.Config(
            seq=self.link.next_seq(),
            watchdog_timeout_ms=watchdog_timeout_ms,
            watchdog_action=watchdog_action,
            joints=joints,
        )
        self.info = self._expect(msg, pr.Info, "CONFIG")
        return self.info

    def link_stats(self) -> dict[str, int]:
        """Host-side counters plus the decoder's dropped frames."""
        return {
            **self.stats,
            "host_bad_crc": self.link.decoder.bad_crc,
            "host_bad_frame": self.link.decoder.bad_frame,
            "host_bad_msg": self.link.decoder.bad_msg,
            "host_frames_ok": self.link.decoder.frames_ok,
        }

    def close(self) -> None:
        """Hold or release as configured, then close the port. Never raises for a dead link."""
        if not self.link.is_open:
            return
        if self.on_close == "release" and not self.link.dead:
            with contextlib.suppress(ArmError):
                self.release()
        self.link.close()

    def __enter__(self) -> HardwareArm:
        if not self.link.is_open:
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
