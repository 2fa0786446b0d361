"""The messages of the serial protocol (docs/protocol.md, "Messages"): their constants, wire layouts and
payload codecs. Frames around them are in framing.py; ``protocol`` is the one import for both.

Messages are frozen dataclasses holding wire values; angles are int in 1e-4 rad (``*_100urad``).
Every constant here has the same name and value in firmware/proto.h (tests/firmware_bridge/test_c_protocol.py).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

from robokit.core.units import SERVO_FRAME_US

from .framing import PROTOCOL_VERSION, ProtocolError

MAX_JOINTS = 8

# STATE flags
FLAG_ENABLED = 1 << 0
FLAG_WATCHDOG_TRIPPED = 1 << 1
FLAG_ESTOP_LATCHED = 1 << 2
FLAG_REJECTED = 1 << 3
FLAG_CLAMPED = 1 << 4
FLAG_CONFIG_EEPROM = 1 << 5

WATCHDOG_HOLD = 0
WATCHDOG_RELEASE = 1
DEFAULT_WATCHDOG_TIMEOUT_MS = 500  # the compiled-in default (firmware/robot_defaults.h, by gen_defaults)
# Valid communication watchdog timeouts (ms); the firmware refuses CONFIG outside them (BAD_CONFIG)
# and the watchdog is always on. Same values as WATCHDOG_MIN_MS / WATCHDOG_MAX_MS in firmware/proto.h.
WATCHDOG_MIN_MS = 100
WATCHDOG_MAX_MS = 60000
# Valid per-joint calibration and speed; the firmware refuses CONFIG (and an EEPROM image at boot)
# outside them (BAD_CONFIG). Same values and names as in firmware/proto.h.
GAIN_Q16_MIN = 1311  # |gain| in Q16.16 ticks (0.5 us) per 1e-4 rad: 100 us/rad ...
GAIN_Q16_MAX = 52429  # ... to 4000 us/rad (sign = direction; 0 would never move the servo)
PULSE_ZERO_MIN_TICKS = 1000  # zero pulse in 0.5 us ticks: 500 us ...
PULSE_ZERO_MAX_TICKS = 5000  # ... to 2500 us (the pulse range)
MAX_STEP_MAX = 5000  # max step per 20 ms frame in 1e-4 rad (25 rad/s); 0 is refused too

ERROR_NAMES = {
    1: "UNKNOWN_TYPE",
    2: "BAD_LENGTH",
    3: "ESTOP_LATCHED",
    4: "WATCHDOG_TRIPPED",
    5: "NOT_RELEASED",
    6: "BAD_CONFIG",
}


# --- messages ---------------------------------------------------------------------------------

_JOINT = struct.Struct("<hhhHHi")  # lower, upper, home, max_step, pulse_zero, gain


@dataclass(frozen=True)
class JointConfig:
    """One joint's limits (1e-4 rad), home (1e-4 rad), max step per 20 ms frame (1e-4 rad),
    pulse width at 0 rad (0.5 us ticks) and gain (Q16.16 ticks per 1e-4 rad, signed)."""

    lower_100urad: int
    upper_100urad: int
    home_100urad: int
    max_step_100urad: int
    pulse_zero_ticks: int
    gain_q16: int

    def pack(self) -> bytes:
        return _JOINT.pack(
            self.lower_100urad,
            self.upper_100urad,
            self.home_100urad,
            self.max_step_100urad,
            self.pulse_zero_ticks,
            self.gain_q16,
        )


def joint_config_ok(j: JointConfig) -> bool:
    """True if the firmware accepts ``j`` in a CONFIG (docs/protocol.md, CONFIG): limits within
    +-31416 and ordered, home inside them, max step 1..MAX_STEP_MAX, zero pulse and |gain| in range."""
    return (
        -31416 <= j.lower_100urad < j.upper_100urad <= 31416
        and j.lower_100urad <= j.home_100urad <= j.upper_100urad
        and 0 < j.max_step_100urad <= MAX_STEP_MAX
        and PULSE_ZERO_MIN_TICKS <= j.pulse_zero_ticks <= PULSE_ZERO_MAX_TICKS
        and GAIN_Q16_MIN <= abs(j.gain_q16) <= GAIN_Q16_MAX
    )


def _unpack_joints(data: bytes, n: int) -> tuple[JointConfig, ...]:
    if len(data) != n * _JOINT.size:
        raise ProtocolError(f"{len(data)} bytes of joint configs for {n} joints")
    return tuple(JointConfig(*_JOINT.unpack_from(data, i * _JOINT.size)) for i in range(n))


def _pack_i16s(values: tuple[int, ...]) -> bytes:
    return struct.pack(f"<{len(values)}h", *values)


def _unpack_i16s(data: bytes) -> tuple[int, ...]:
    if len(data) % 2 or len(data) // 2 > MAX_JOINTS:
        raise ProtocolError(f"joint vector of {len(data)} bytes")
    return struct.unpack(f"<{len(data) // 2}h", data)


@dataclass(frozen=True)
class Message:
    """Base of all messages: ``seq`` is the request's sequence number (u8), echoed by replies."""

    TYPE: ClassVar[int] = 0
    seq: int = 0

    def payload(self) -> bytes:
        return b""

    @classmethod
    def from_payload(cls, seq: int, payload: bytes) -> Message:
        if payload:
            raise ProtocolError(f"{cls.__name__} takes no payload, got {len(payload)} bytes")
        return cls(seq=seq)


@dataclass(frozen=True)
class Hello(Message):
    TYPE: ClassVar[int] = 0x01


@dataclass(frozen=True)
class Ping(Message):
    TYPE: ClassVar[int] = 0x02


@dataclass(frozen=True)
class Enable(Message):
    """Start pulses with setpoint = target = ``pose_100urad`` (clamped to limits)."""

    TYPE: ClassVar[int] = 0x03
    pose_100urad: tuple[int, ...] = ()

    def payload(self) -> bytes:
        return _pack_i16s(self.pose_100urad)

    @classmethod
    def from_payload(cls, seq: int, payload: bytes) -> Message:
        return cls(seq=seq, pose_100urad=_unpack_i16s(payload))


@dataclass(frozen=True)
class Targets(Message):
    """New joint targets (1e-4 rad), clamped by the firmware; always answered by STATE."""

    TYPE: ClassVar[int] = 0x04
    targets_100urad: tuple[int, ...] = ()

    def payload(self) -> bytes:
        return _pack_i16s(self.targets_100urad)

    @classmethod
    def from_payload(cls, seq: int, payload: bytes) -> Message:
        return cls(seq=seq, targets_100urad=_unpack_i16s(payload))


@dataclass(frozen=True)
class Release(Message):
    TYPE: ClassVar[int] = 0x05


@dataclass(frozen=True)
class Estop(Message):
    TYPE: ClassVar[int] = 0x06


@dataclass(frozen=True)
class Clear(Message):
    TYPE: ClassVar[int] = 0x07


@dataclass(frozen=True)
class Config(Message):
    """Replace calibration, limits, speeds, home and watchdog settings (stored in EEPROM)."""

    TYPE: ClassVar[int] = 0x08
    watchdog_timeout_ms: int = DEFAULT_WATCHDOG_TIMEOUT_MS
    watchdog_action: int = WATCHDOG_HOLD
    joints: tuple[JointConfig, ...] = ()

    def payload(self) -> bytes:
        head = struct.pack("<HBB", self.watchdog_timeout_ms, self.watchdog_action, len(self.joints))
        return head + b"".join(j.pack() for j in self.joints)

    @classmethod
    def from_payload(cls, seq: int, payload: bytes) -> Message:
        if len(payload) < 4:
            raise ProtocolError("CONFIG payload too short")
        timeout, action, n = struct.unpack_from("<HBB", payload)
        return cls(seq, timeout, action, _unpack_joints(payload[4:], n))


@dataclass(frozen=True)
class Info(Message):
    """Reply to HELLO and CONFIG: versions, joint count, per-joint config, watchdog settings."""

    TYPE: ClassVar[int] = 0x81
    protocol_version: int = PROTOCOL_VERSION
    firmware_version: tuple[int, int, int] = (0, 0, 0)
    flags: int = 0
    frame_period_us: int = SERVO_FRAME_US
    watchdog_timeout_ms: int = DEFAULT_WATCHDOG_TIMEOUT_MS
    watchdog_action: int = WATCHDOG_HOLD
    joints: tuple[JointConfig, ...] = ()

    @property
    def n_joints(self) -> int:
        return len(self.joints)

    def payload(self) -> bytes:
        head = struct.pack(
            "<BBBBBBHHB",
            self.protocol_version,
            *self.firmware_version,
            len(self.joints),
            self.flags,
            self.frame_period_us,
            self.watchdog_timeout_ms,
            self.watchdog_action,
        )
        return head + b"".join(j.pack() for j in self.joints)

    @classmethod
    def from_payload(cls, seq: int, payload: bytes) -> Message:
        if len(payload) < 11:
            raise ProtocolError("INFO payload too short")
        pv, ma, mi, pa, n, flags, period, timeout, action = struct.unpack_from("<BBBBBBHHB", payload)
        return cls(seq, pv, (ma, mi, pa), flags, period, timeout, action, _unpack_joints(payload[11:], n))


@dataclass(frozen=True)
class State(Message):
    """Telemetry: setpoints of frame ``frame`` and the current targets (1e-4 rad), flags, counters."""

    TYPE: ClassVar[int] = 0x82
    frame: int = 0
    flags: int = 0
    setpoints_100urad: tuple[int, ...] = ()
    targets_100urad: tuple[int, ...] = ()
    rx_ok: int = 0
    bad_crc: int = 0
    bad_frame: int = 0
    bad_msg: int = 0
    rx_overflow: int = 0

    enabled = property(lambda self: bool(self.flags & FLAG_ENABLED))
    watchdog_tripped = property(lambda self: bool(self.flags & FLAG_WATCHDOG_TRIPPED))
    estop_latched = property(lambda self: bool(self.flags & FLAG_ESTOP_LATCHED))
    rejected = property(lambda self: bool(self.flags & FLAG_REJECTED))
    clamped = property(lambda self: bool(self.flags & FLAG_CLAMPED))

    def payload(self) -> bytes:
        n = len(self.setpoints_100urad)
        return (
            struct.pack("<IBB", self.frame, self.flags, n)
            + _pack_i16s(self.setpoints_100urad)
            + _pack_i16s(self.targets_100urad)
            + struct.pack("<5H", self.rx_ok, self.bad_crc, self.bad_frame, self.bad_msg, self.rx_overflow)
        )

    @classmethod
    def from_payload(cls, seq: int, payload: bytes) -> Message:
        if len(payload) < 16:
            raise ProtocolError("STATE payload too short")
        frame, flags, n = struct.unpack_from("<IBB", payload)
        if len(payload) != 16 + 4 * n:
            raise ProtocolError(f"STATE payload of {len(payload)} bytes for {n} joints")
        sp = _unpack_i16s(payload[6 : 6 + 2 * n])
        tg = _unpack_i16s(payload[6 + 2 * n : 6 + 4 * n])
        return cls(seq, frame, flags, sp, tg, *struct.unpack_from("<5H", payload, 6 + 4 * n))


@dataclass(frozen=True)
class Error(Message):
    """The firmware refused a request of type ``request_type`` (codes in ERROR_NAMES)."""

    TYPE: ClassVar[int] = 0x83
    code: int = 0
    request_type: int = 0

    @property
    def name(self) -> str:
        return ERROR_NAMES.get(self.code, f"ERROR_{self.code}")

    def payload(self) -> bytes:
        return bytes([self.code, self.request_type])

    @classmethod
    def from_payload(cls, seq: int, payload: bytes) -> Message:
        if len(payload) != 2:
            raise ProtocolError("ERROR payload must be 2 bytes")
        return cls(seq, payload[0], payload[1])


MESSAGE_TYPES: dict[int, type[Message]] = {
    cls.TYPE: cls for cls in (Hello, Ping, Enable, Targets, Release, Estop, Clear, Config, Info, State, Error)
}
