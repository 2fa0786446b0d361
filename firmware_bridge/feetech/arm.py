"""FeetechArm: the Arm contract over a Feetech STS bus (the SO-101: six STS3215 on one USB adapter).

The robot folder's ``bus`` section (robokit.robots.bus_section) says which servo id drives which joint,
the baud, the model number every servo must report and the supply voltage the arm works at. Joint angles
follow robokit's zero convention (docs/so101.md): ``q = (Present_Position - 2048) * 2 pi / 4096``, negated
for a joint whose ``drive_mode`` is 1; 2048 (the middle of the encoder's turn) is q = 0.

Faults are data (docs/hardware.md, SO-101): a read whose status packets are missing or corrupt is retried
by the bus (``FeetechBus.retries``), and a read that still fails returns the last state (counted in
``stats``, ``extra["stale"]``); ``FAILS_TO_HOLD`` failed reads in a row hold the arm (goals = where it
stands, ``ArmState.held_by`` names the servo and joint) until ``clear()``. A joint pushing at
``LOAD_BACK_OFF`` of its torque has its goal set where it stands (it backs off instead of stalling into
the servo's overload latch), counted in ``stats["back_offs"]``; a servo that reports the overload bit
(its torque latched off) holds the arm and says so. A voltage bit or a supply outside ``supply_v`` refuses
``enable`` with a message about the power supply.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any

import numpy as np

from robokit.core.arm import (
    ArmDisconnected,
    ArmError,
    ArmRefused,
    ArmState,
    ArmStatus,
    checked_pose,
    status_of,
)
from robokit.firmware_bridge.feetech.angles import counts_to_q, goal_packet, q_to_counts
from robokit.firmware_bridge.feetech.bus import FeetechBus, ServoNotAnswering
from robokit.firmware_bridge.feetech.calibration import BusCalibration
from robokit.firmware_bridge.feetech.control_table import (
    COUNTS_PER_TURN,
    MIDDLE_COUNTS,
    register,
    turn_delta,
)
from robokit.firmware_bridge.feetech.protocol import ErrorBit, error_names
from robokit.robots import RobotSpec, robot_folder

FAILS_TO_HOLD = 3  # failed reads in a row before the arm holds
LOAD_BACK_OFF = 0.7  # |Present_Load| (of the servo's torque) at which a joint backs off: below the STS3215's
# factory Overload_Torque (80 %), whose Protection_Time (2 s) above it latches the torque off
STALLED_COUNTS_S = (
    50  # |Present_Velocity| below this (about 4 deg/s) and at LOAD_BACK_OFF: pushing on something
)
ENABLE_SLEW_RAD_S = 1.0  # enable(): the pose is approached at this joint speed
STATE_ADDRESS, STATE_SIZE = 56, 6  # Present_Position, Present_Velocity, Present_Load in one sync read

__all__ = ["ArmMismatch", "CalibrationMismatch", "FeetechArm", "counts_to_q", "goal_packet", "q_to_counts"]


class ArmMismatch(ArmError):
    """A servo on the bus is not what the robot folder says (model number, missing id)."""


class CalibrationMismatch(ArmMismatch):
    """A servo's EEPROM (Homing_Offset, position limits) is not what the calibration file says."""


class FeetechArm:
    """A robot on a Feetech bus as an Arm (the whole contract of robokit.core.arm).

    port: device path (opened exclusively) or pyserial URL. spec: the robot (its folder needs a ``bus``
    section). on_close: "hold" (torque stays on at the last goals) or "release" (torque off). retries and
    timeout_s: the bus's (per transaction). Raises ValueError for a robot without a bus section, PortError
    (ArmDisconnected) for the port, ArmDisconnected naming a servo that does not answer, ArmMismatch for a
    servo of another model. calibration: a BusCalibration (``feetech.calibration``): its zero counts and
    directions map counts to q, and connect raises CalibrationMismatch (an ArmMismatch) when a servo's
    EEPROM (Homing_Offset, position limits) differs from it; without one, robokit's zero convention and
    the robot folder's directions."""

    q_is_measured = True  # Present_Position is the encoder's
    enabling_note = "enabling: torque on where the joints stand, then the arm slews home at 1 rad/s"

    def __init__(
        self,
        port: str,
        spec: RobotSpec | str,
        *,
        baud: int | None = None,
        on_close: str = "hold",
        retries: int = 2,
        timeout_s: float = 0.02,
        connect: bool = True,
        calibration: BusCalibration | None = None,
    ) -> None:
        if on_close not in ("hold", "release"):
            raise ValueError("on_close must be 'hold' or 'release'")
        name = spec if isinstance(spec, str) else spec.name
        folder = robot_folder(name)
        if folder.bus is None:
            raise ValueError(f"robot {name} has no `bus` section in its robot.yaml: not a servo-bus arm")
        self.spec, self.settings, self.on_close = folder.spec, folder.bus, on_close
        self.ids = list(self.settings.ids)
        self.calibration = calibration
        if calibration is not None and calibration.robot != self.spec.name:
            raise ValueError(f"the calibration is for {calibration.robot}, not {self.spec.name}")
        self.sign = np.asarray(self.settings.signs) if calibration is None else calibration.signs
        self.zero = MIDDLE_COUNTS if calibration is None else calibration.zero_counts
        self.bus = FeetechBus(port, baud or self.settings.baud, timeout_s=timeout_s, retries=retries)
        self.stats = {"reads": 0, "stale_reads": 0, "back_offs": 0, "commands": 0}
        self._torque = False
        self._estop = False
        self._held_by = ""
        self._fails = 0
        self._last: ArmState | None = None
        self._counts: np.ndarray | None = None
        self._load = np.zeros(len(self.ids))
        self._velocity = np.zeros(len(self.ids))
        self.volts: dict[int, float] = {}
        if connect:
            self.connect()

    # --- naming --------------------------------------------------------------------------------

    def servo_name(self, servo_id: int) -> str:
        """'servo 4, elbow_flex' for messages."""
        return f"servo {servo_id}, {self.settings.joint_of(servo_id, self.spec.joint_names)}"

    def _silent(self, exc: ServoNotAnswering) -> str:
        if len(exc.servo_ids) > 1 and set(exc.servo_ids) == set(self.ids):
            return (
                f"no servo answers on {self.bus.url} at {exc.baud} baud ({exc.tries} tries): check that it is "
                "the servo bus adapter's port, the adapter's cable and the servos' supply"
            )
        names = "; ".join(self.servo_name(i) for i in exc.servo_ids)
        verb = "does" if len(exc.servo_ids) == 1 else "do"
        return f"{names}, {verb} not answer at {exc.baud} baud ({exc.tries} tries)"

    # --- connect -------------------------------------------------------------------------------

    def connect(self) -> FeetechArm:
        """Open the bus, ping every servo, check its model number, read the supply voltage and whether the
        torque is on. Raises PortError, ArmDisconnected (a silent servo, named), ArmMismatch."""
        self.bus.open()
        try:
            for i in self.ids:
                self.bus.ping(i)
                model = self.bus.read(i, "Model_Number")
                if model != self.settings.model_number:
                    raise ArmMismatch(
                        f"{self.servo_name(i)} is model {model}, not {self.settings.model_number} "
                        f"({self.spec.name}'s robot.yaml bus.model_number)"
                    )
            if self.calibration is not None:
                self._check_calibration()
            torque = self.bus.sync_read("Torque_Enable", self.ids)
            self.volts = {i: v / 10 for i, v in self.bus.sync_read("Present_Voltage", self.ids).items()}
        except ServoNotAnswering as exc:
            self.bus.close()
            raise ArmDisconnected(self._silent(exc)) from None
        except ArmError:
            self.bus.close()
            raise
        self._torque = all(torque.values())
        if any(torque.values()) and not self._torque:  # some on, some off: make it one state
            self._set_torque(False)
        self.read()
        return self

    # --- Arm contract --------------------------------------------------------------------------

    def read(self) -> ArmState:
        """Positions, velocities and loads of every servo in one sync read. A failed read returns the last
        state (``extra["stale"]``); FAILS_TO_HOLD in a row hold the arm. Raises ArmDisconnected (port lost,
        or no state ever read)."""
        self.stats["reads"] += 1
        try:
            block = self.bus.sync_read_block(STATE_ADDRESS, STATE_SIZE, self.ids)
        except ServoNotAnswering as exc:
            return self._failed_read(exc)
        self._fails = 0
        counts = np.array([int.from_bytes(block[i][0:2], "little") for i in self.ids], dtype=np.float64)
        load_reg, velocity_reg = register("Present_Load"), register("Present_Velocity")
        self._load = np.array([load_reg.decode(block[i][4:6]) for i in self.ids]) / 1000.0
        self._velocity = np.array([velocity_reg.decode(block[i][2:4]) for i in self.ids], dtype=np.float64)
        self._counts = self._unwrapped(counts)
        self._check_errors()
        state = ArmState(
            q=counts_to_q(self._counts, self.sign, self.zero),
            q_is_measured=True,
            t_s=time.monotonic(),
            **self._flags(),
            extra={"load": self._load.round(3).tolist()},
        )
        self._last = state
        return state

    def command(self, q_target: np.ndarray) -> None:
        """Send goals (one SYNC_WRITE) while enabled; ignored otherwise. A joint at LOAD_BACK_OFF keeps
        its present position instead. Raises ValueError (nothing sent), ArmDisconnected."""
        q = checked_pose(self.spec, q_target, "target")
        self._port_open()
        if not self._follows():
            return
        goals = q_to_counts(q, self.sign, self.zero)
        pushing = self._pushing(goals)
        if np.any(pushing) and self._counts is not None:
            goals = np.where(pushing, np.clip(np.rint(self._counts), 0, COUNTS_PER_TURN - 1), goals).astype(
                int
            )
            self.stats["back_offs"] += int(np.sum(pushing))
        self.bus.sync_write("Goal_Position", dict(zip(self.ids, goals.tolist())))
        self.stats["commands"] += 1

    def _pushing(self, goals: np.ndarray) -> np.ndarray:
        """(n,) bool: joints stalled against something (load at LOAD_BACK_OFF, hardly moving) whose goal
        lies further the way they push. A joint accelerating toward a goal loads its servo as much: it
        moves, so it is not held back (that held a gripper a step behind its target for seconds)."""
        if self._counts is None:
            return np.zeros(len(self.ids), dtype=bool)
        stalled = (np.abs(self._load) >= LOAD_BACK_OFF) & (np.abs(self._velocity) < STALLED_COUNTS_S)
        return stalled & (self._load * (np.asarray(goals, dtype=np.float64) - self._counts) > 0)

    def enable(self, pose: np.ndarray | None = None) -> ArmState:
        """Torque on, then slew to ``pose`` (default home) at ENABLE_SLEW_RAD_S. Refused (ArmRefused,
        nothing sent) while an e-stop is latched, the arm is held after faults, or the supply is wrong."""
        target = checked_pose(self.spec, self.spec.home_q if pose is None else pose, "enable pose")
        if self._estop or self._held_by:
            raise ArmRefused(f"enable refused: {'e-stop latched' if self._estop else self._held_by}")
        if problem := self.supply_problem():
            raise ArmRefused(f"enable refused: {problem}")
        start = self.read().q
        self.bus.sync_write(
            "Goal_Position", dict(zip(self.ids, q_to_counts(start, self.sign, self.zero).tolist()))
        )
        self._set_torque(True)
        self._slew(start, target)
        return self.read()

    def hold(self) -> ArmState:
        """Goals = where the joints stand now; the arm stays enabled."""
        state = self.read()
        if self._torque and self._counts is not None:
            goals = np.clip(np.rint(self._counts), 0, COUNTS_PER_TURN - 1).astype(int)
            self.bus.sync_write("Goal_Position", dict(zip(self.ids, goals.tolist())))
        return state

    def release(self) -> ArmState:
        """Torque off on every servo (the arm goes limp)."""
        self._set_torque(False)
        return self.read()

    def estop(self) -> ArmState:
        """Torque off (broadcast, then each servo) and latch until ``clear()``."""
        self._estop = True
        self._set_torque(False)
        return self.read()

    def clear(self) -> ArmState:
        """Lift the e-stop latch and a hold after faults; the arm is left released."""
        self._estop, self._held_by, self._fails = False, "", 0
        self._set_torque(False)
        return self.read()

    def link_stats(self) -> dict[str, int]:
        """Bus counters for the deploy summary: reads, failed (stale) reads, back-offs, commands, and the
        bus's per-servo tries summed (timeouts, corrupt replies, retries, status packets with error bits)."""
        counters = self.bus.counters.values()
        return {
            **self.stats,
            **{k: sum(getattr(c, k) for c in counters) for k in ("timeouts", "corrupt", "retries", "errors")},
        }

    @property
    def torque_on(self) -> bool:
        """Whether the servos' torque is on (as last set or read at connect)."""
        return self._torque

    @property
    def counts(self) -> np.ndarray | None:
        """(n,) the encoder counts of the last read, unwrapped across the 0/4095 seam (None before one)."""
        return None if self._counts is None else self._counts.copy()

    @property
    def loads(self) -> np.ndarray:
        """(n,) each servo's load at the last read, as a fraction of its maximum torque (signed)."""
        return self._load.copy()

    def status(self) -> ArmStatus:
        state = self._last if self._last is not None else self.read()
        return status_of(ArmState(state.q, True, state.t_s, **self._flags()), "uncalibrated")

    def close(self) -> None:
        """Hold (torque stays on) or release per ``on_close``, then close the port; never raises."""
        if self.bus.ser is not None and self.on_close == "release":
            with contextlib.suppress(Exception):
                self._set_torque(False)
        self.bus.close()

    def __enter__(self) -> FeetechArm:
        if self.bus.ser is None:
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- faults and helpers --------------------------------------------------------------------

    def supply_problem(self) -> str:
        """Why the supply cannot drive the arm ('' if it can): a servo's voltage bit or a reading outside
        the bus section's supply_v."""
        low, high = self.settings.supply_v
        self.volts = {i: v / 10 for i, v in self.bus.sync_read("Present_Voltage", self.ids).items()}
        for i in self.ids:
            volts = self.volts[i]
            if self.bus.last_error.get(i, 0) & ErrorBit.VOLTAGE or not low <= volts <= high:
                return (
                    f"{self.servo_name(i)}, reports {volts:.1f} V; the arm works at {low:g}-{high:g} V: check "
                    "the power supply (its voltage, its plug, and that it is on)"
                )
        return ""

    def _check_calibration(self) -> None:
        """Raise CalibrationMismatch listing every servo whose EEPROM differs from the calibration."""
        assert self.calibration is not None
        differences = []
        for i, joint in zip(self.ids, self.calibration.joints.values()):
            for reg, want in (("Homing_Offset", joint.homing_offset), ("Min_Position_Limit", joint.range_min),
                              ("Max_Position_Limit", joint.range_max)):  # fmt: skip
                have = self.bus.read(i, reg)
                if have != want:
                    differences.append(f"{self.servo_name(i)} {reg} is {have}, the file says {want}")
        if differences:
            raise CalibrationMismatch(
                f"the arm's EEPROM differs from the calibration: {'; '.join(differences)}. Give the file this "
                "arm was calibrated with, or calibrate it again (robokit arm calibrate --robot "
                f"{self.spec.name}); nothing was enabled"
            )

    def _failed_read(self, exc: ServoNotAnswering) -> ArmState:
        self._fails += 1
        self.stats["stale_reads"] += 1
        if self._last is None:
            raise ArmDisconnected(self._silent(exc)) from None
        if self._fails >= FAILS_TO_HOLD and not self._held_by:
            self._held_by = f"{self._silent(exc)}, {self._fails} reads in a row"
            with contextlib.suppress(ArmError):
                self.hold()
        self._last = ArmState(
            self._last.q, True, time.monotonic(), **self._flags(), extra={"stale": True, "error": str(exc)}
        )
        return self._last

    def _check_errors(self) -> None:
        """Hold on a servo that latched its torque off (overload bit)."""
        for i in self.ids:
            bits = self.bus.last_error.get(i, 0)
            if bits & ErrorBit.OVERLOAD and not self._held_by and self._torque:
                self._held_by = (
                    f"{self.servo_name(i)}, overloaded ({', '.join(error_names(bits))}) and switched its torque "
                    "off; free the joint, then power-cycle the arm"
                )

    def _unwrapped(self, counts: np.ndarray) -> np.ndarray:
        """Counts continued across the 0/4095 seam from the last reading (a joint past it reads 4100,
        not 4)."""
        if self._counts is None:
            return counts
        return self._counts + turn_delta(counts, self._counts)

    def _flags(self) -> dict[str, Any]:
        return {"estop_latched": self._estop, "released": not self._torque, "held_by": self._held_by}

    def _follows(self) -> bool:
        return self._torque and not (self._estop or self._held_by)

    def _set_torque(self, on: bool) -> None:
        if not on:
            self.bus.write(0xFE, "Torque_Enable", 0)  # broadcast first: every servo, even a silent one
        self.bus.sync_write("Torque_Enable", dict.fromkeys(self.ids, int(on)))
        self._torque = on

    def _slew(self, start: np.ndarray, target: np.ndarray, period_s: float = 0.02) -> None:
        steps = max(1, math.ceil(float(np.max(np.abs(target - start))) / (ENABLE_SLEW_RAD_S * period_s)))
        for k in range(1, steps + 1):
            q = start + (target - start) * (k / steps)
            self.bus.sync_write(
                "Goal_Position", dict(zip(self.ids, q_to_counts(q, self.sign, self.zero).tolist()))
            )
            time.sleep(period_s)

    def _port_open(self) -> None:
        if self.bus.ser is None:
            raise ArmDisconnected(f"the Feetech bus on {self.bus.url} is closed")
