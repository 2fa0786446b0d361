"""The serial protocol codec (docs/protocol.md): CRC-16, COBS, frames and messages; the one import for
all of it. Framing is in framing.py, the messages in messages.py; this module frames messages.

Usage::

    from robokit.firmware_bridge import protocol as p

    wire = p.encode_frame(p.Targets(seq=7, targets_100urad=(0, 0, 14000, 9000, 0, 0)))
    dec = p.FrameDecoder()
    for msg in dec.feed(serial_port.read(256)):  # -> list of messages, bad frames dropped + counted
        ...

Messages are frozen dataclasses holding wire values; angles are int in 1e-4 rad (``*_100urad``).
Conversions to SI units live in :mod:`robokit.firmware_bridge.fixedpoint`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .framing import (
    MAX_PAYLOAD,
    MAX_RAW_FRAME,
    MAX_WIRE_FRAME,
    PROTOCOL_VERSION,
    ProtocolError,
    cobs_decode,
    cobs_encode,
    crc16_ccitt_false,
    pack_raw,
    unpack_raw,
)
from .messages import (
    DEFAULT_WATCHDOG_TIMEOUT_MS,
    ERROR_NAMES,
    FLAG_CLAMPED,
    FLAG_CONFIG_EEPROM,
    FLAG_ENABLED,
    FLAG_ESTOP_LATCHED,
    FLAG_REJECTED,
    FLAG_WATCHDOG_TRIPPED,
    GAIN_Q16_MAX,
    GAIN_Q16_MIN,
    MAX_JOINTS,
    MAX_STEP_MAX,
    MESSAGE_TYPES,
    PULSE_ZERO_MAX_TICKS,
    PULSE_ZERO_MIN_TICKS,
    WATCHDOG_HOLD,
    WATCHDOG_MAX_MS,
    WATCHDOG_MIN_MS,
    WATCHDOG_RELEASE,
    Clear,
    Config,
    Enable,
    Error,
    Estop,
    Hello,
    Info,
    JointConfig,
    Message,
    Ping,
    Release,
    State,
    Targets,
    joint_config_ok,
)

__all__ = [
    "MAX_PAYLOAD",
    "MAX_RAW_FRAME",
    "MAX_WIRE_FRAME",
    "PROTOCOL_VERSION",
    "ProtocolError",
    "cobs_decode",
    "cobs_encode",
    "crc16_ccitt_false",
    "pack_raw",
    "unpack_raw",
    "Message",
    "Hello",
    "Ping",
    "Enable",
    "Targets",
    "Release",
    "Estop",
    "Clear",
    "Config",
    "Info",
    "State",
    "Error",
    "JointConfig",
    "FrameDecoder",
    "encode_frame",
    "decode_frame",
    "MESSAGE_TYPES",
    "ERROR_NAMES",
    "MAX_JOINTS",
    "FLAG_ENABLED",
    "FLAG_WATCHDOG_TRIPPED",
    "FLAG_ESTOP_LATCHED",
    "FLAG_REJECTED",
    "FLAG_CLAMPED",
    "FLAG_CONFIG_EEPROM",
    "WATCHDOG_HOLD",
    "WATCHDOG_RELEASE",
    "DEFAULT_WATCHDOG_TIMEOUT_MS",
    "WATCHDOG_MIN_MS",
    "WATCHDOG_MAX_MS",
    "GAIN_Q16_MIN",
    "GAIN_Q16_MAX",
    "PULSE_ZERO_MIN_TICKS",
    "PULSE_ZERO_MAX_TICKS",
    "MAX_STEP_MAX",
    "joint_config_ok",
]


def encode_frame(msg: Message) -> bytes:
    """Wire bytes of ``msg``: COBS(type | seq | payload | crc16) followed by the 0x00 delimiter."""
    return cobs_encode(pack_raw(msg.TYPE, msg.seq, msg.payload())) + b"\x00"


def decode_frame(wire: bytes) -> Message:
    """Decode one frame (COBS bytes, with or without the trailing 0x00); raises ProtocolError."""
    if wire.endswith(b"\x00"):
        wire = wire[:-1]
    msg_type, seq, payload = unpack_raw(cobs_decode(wire))
    if msg_type not in MESSAGE_TYPES:
        raise ProtocolError(f"unknown message type 0x{msg_type:02x}")
    return MESSAGE_TYPES[msg_type].from_payload(seq, payload)


@dataclass
class FrameDecoder:
    """Streaming decoder: ``feed(bytes) -> list[Message]``; bad frames are dropped and counted."""

    bad_frame: int = 0  # COBS errors, oversize or short frames
    bad_crc: int = 0
    bad_msg: int = 0  # good CRC, but unknown type or wrong payload
    frames_ok: int = 0
    _buf: bytearray = field(default_factory=bytearray)
    _overflow: bool = False

    def feed(self, data: bytes) -> list[Message]:
        out: list[Message] = []
        for b in data:
            if b != 0:
                if len(self._buf) < MAX_WIRE_FRAME:
                    self._buf.append(b)
                else:
                    self._overflow = True
                continue
            chunk, overflow = bytes(self._buf), self._overflow
            self._buf.clear()
            self._overflow = False
            if not chunk and not overflow:
                continue
            msg = self._decode(chunk, overflow)
            if msg is not None:
                out.append(msg)
        return out

    def _decode(self, chunk: bytes, overflow: bool) -> Message | None:
        try:
            if overflow:
                raise ProtocolError("frame too long")
            raw = cobs_decode(chunk)
            if len(raw) < 4 or len(raw) > MAX_RAW_FRAME:
                raise ProtocolError("bad frame length")
        except ProtocolError:
            self.bad_frame += 1
            return None
        try:
            msg_type, seq, payload = unpack_raw(raw)
        except ProtocolError:
            self.bad_crc += 1
            return None
        try:
            if msg_type not in MESSAGE_TYPES:
                raise ProtocolError("unknown type")
            msg = MESSAGE_TYPES[msg_type].from_payload(seq, payload)
        except (ProtocolError, struct.error):
            self.bad_msg += 1
            return None
        self.frames_ok += 1
        return msg
