"""Feetech STS packet codec ("protocol 0", docs/feetech_protocol.md): instruction and status packets,
the checksum, a stream decoder that resyncs on garbage, sign-magnitude fields and error-bit names.

Both packet kinds have one layout, ``FF FF id len code params... chk``: ``code`` is the instruction in
an instruction packet and the error byte in a status packet. Pure functions and one small class; no I/O.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, IntFlag

HEADER = b"\xff\xff"
BROADCAST_ID = 0xFE
MAX_SERVO_ID = 0xFD  # ids 0..253; 0xFE is broadcast, 0xFF never a valid id
MAX_PARAMS = 250 - 6  # a packet is at most 250 bytes (what common clients accept)


class Instruction(IntEnum):
    """Instruction codes of the STS protocol."""

    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    RESET = 0x0A
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83


class ErrorBit(IntFlag):
    """Bits of a status packet's error byte (and of the Status register, address 65)."""

    VOLTAGE = 1
    ANGLE_SENSOR = 2
    OVERHEAT = 4
    OVERCURRENT = 8
    OVERLOAD = 32


ERROR_TEXT = {
    ErrorBit.VOLTAGE: "input voltage out of range",
    ErrorBit.ANGLE_SENSOR: "angle sensor fault",
    ErrorBit.OVERHEAT: "overheat",
    ErrorBit.OVERCURRENT: "over-current",
    ErrorBit.OVERLOAD: "overload",
}


class FeetechProtocolError(ValueError):
    """A packet or value that the protocol cannot carry (bad id, too long, out of range)."""


def error_names(bits: int) -> list[str]:
    """Plain names of the error bits set in ``bits``, lowest bit first ([] for 0); unknown bits as 'bit N'."""
    return [ERROR_TEXT.get(1 << n, f"bit {n}") for n in range(8) if bits & (1 << n)]


def checksum(body: bytes | Sequence[int]) -> int:
    """``~(id + len + code + sum(params)) & 0xFF`` over ``body`` = id, len, code, params (no header)."""
    return ~sum(body) & 0xFF


def encode_packet(servo_id: int, code: int, params: bytes | Sequence[int] = b"") -> bytes:
    """One packet: ``FF FF id len code params chk`` with ``len = len(params) + 2``. Raises
    FeetechProtocolError for an id above 0xFE, a code outside a byte, or too many params."""
    if not 0 <= servo_id <= BROADCAST_ID:
        raise FeetechProtocolError(f"servo id {servo_id} is outside 0..{BROADCAST_ID}")
    if not 0 <= code <= 0xFF:
        raise FeetechProtocolError(f"code {code} is not a byte")
    params = bytes(params)
    if len(params) > MAX_PARAMS:
        raise FeetechProtocolError(f"{len(params)} parameter bytes exceed {MAX_PARAMS}")
    body = bytes([servo_id, len(params) + 2, code]) + params
    return HEADER + body + bytes([checksum(body)])


# --- instruction packets -------------------------------------------------------------------------


def ping(servo_id: int) -> bytes:
    """PING: ``FF FF id 02 01 chk``."""
    return encode_packet(servo_id, Instruction.PING)


def _byte(value: int, what: str) -> int:
    """``value`` if it is an integer 0..255; FeetechProtocolError otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value <= 0xFF:
        raise FeetechProtocolError(f"{what} {value!r} is not a byte (0..255)")
    return int(value)


def _servo(servo_id: int) -> int:
    """A unicast id 0..253; FeetechProtocolError otherwise (0xFE is broadcast, 0xFF never an id)."""
    if _byte(servo_id, "servo id") > MAX_SERVO_ID:
        raise FeetechProtocolError(f"servo id {servo_id} is outside 0..{MAX_SERVO_ID}")
    return int(servo_id)


def read(servo_id: int, address: int, size: int) -> bytes:
    """READ ``size`` bytes from ``address``."""
    return encode_packet(servo_id, Instruction.READ, [_byte(address, "address"), _byte(size, "size")])


def write(servo_id: int, address: int, data: bytes) -> bytes:
    """WRITE ``data`` at ``address`` (a broadcast id writes every servo and gets no reply)."""
    return encode_packet(servo_id, Instruction.WRITE, bytes([_byte(address, "address")]) + bytes(data))


def sync_read(address: int, size: int, servo_ids: Iterable[int]) -> bytes:
    """SYNC_READ (to 0xFE): every listed servo answers with its ``size`` bytes from ``address``."""
    ids = [_servo(i) for i in servo_ids]
    return encode_packet(
        BROADCAST_ID, Instruction.SYNC_READ, [_byte(address, "address"), _byte(size, "size"), *ids]
    )


def sync_write(address: int, size: int, data: Mapping[int, bytes]) -> bytes:
    """SYNC_WRITE (to 0xFE; no reply): ``data`` maps servo id -> its ``size`` bytes for ``address``."""
    params = bytearray([_byte(address, "address"), _byte(size, "size")])
    for servo_id, chunk in data.items():
        if len(chunk) != size:
            raise FeetechProtocolError(f"servo {servo_id}: {len(chunk)} bytes, sync write expects {size}")
        params += bytes([_servo(servo_id)]) + bytes(chunk)
    return encode_packet(BROADCAST_ID, Instruction.SYNC_WRITE, params)


def status(servo_id: int, error: int, params: bytes = b"") -> bytes:
    """A status packet (a servo's reply): ``FF FF id len error params chk``."""
    return encode_packet(servo_id, error, params)


# --- decoding --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Packet:
    """A decoded packet: ``code`` is the instruction (from a client) or error byte (from a servo)."""

    servo_id: int
    code: int
    params: bytes = b""

    @property
    def error(self) -> int:
        """The error byte of a status packet."""
        return self.code


class PacketDecoder:
    """Turns a byte stream into packets. Garbage before a header is skipped, a packet with a bad
    checksum is dropped (and only its first header byte, so a packet hidden inside it is still found),
    an incomplete packet waits for more bytes.

    Counters: ``skipped`` (bytes discarded), ``bad_checksum`` (packets dropped); ``rejected_ids`` lists
    the id byte of each dropped packet (claimed, possibly itself corrupt) until the owner clears it.
    """

    def __init__(self) -> None:
        self.buf = bytearray()
        self.skipped = 0
        self.bad_checksum = 0
        self.rejected_ids: list[int] = []

    def feed(self, data: bytes) -> list[Packet]:
        """Append ``data``; return every complete, valid packet now in the buffer, in order."""
        self.buf += data
        out: list[Packet] = []
        while True:
            packet, done = self._next()
            if packet is not None:
                out.append(packet)
            elif done:
                return out

    def drain(self) -> list[Packet]:
        """Give up on an incomplete packet at the head (e.g. its length byte was corrupted) and return
        any complete packets found behind it (call it when no more bytes will come for what is buffered)."""
        out: list[Packet] = []
        while len(self.buf) >= 2:
            del self.buf[0]
            self.skipped += 1
            out += self.feed(b"")
        return out

    def clear(self) -> None:
        """Drop buffered bytes (not counted as skipped)."""
        self.buf.clear()

    def _skip(self, n: int) -> None:
        del self.buf[:n]
        self.skipped += n

    def _next(self) -> tuple[Packet | None, bool]:
        """(packet, False) when one was decoded; (None, False) after a resync step; (None, True) when
        more bytes are needed."""
        start = self.buf.find(HEADER)
        if start < 0:
            keep = 1 if self.buf[-1:] == b"\xff" else 0
            self._skip(len(self.buf) - keep)
            return None, True
        if start:
            self._skip(start)
        if len(self.buf) < 4:
            return None, True
        servo_id, length = self.buf[2], self.buf[3]
        if servo_id == 0xFF or length < 2 or length > MAX_PARAMS + 2:  # not a header here (a packet is
            # at most 250 bytes: a longer length byte is noise, not a packet to wait for)
            self._skip(1)
            return None, False
        end = 4 + length
        if len(self.buf) < end:
            return None, True
        body = bytes(self.buf[2 : end - 1])
        if checksum(body) != self.buf[end - 1]:
            self.bad_checksum += 1
            self.rejected_ids.append(servo_id)
            self._skip(1)
            return None, False
        del self.buf[:end]
        return Packet(servo_id, body[2], body[3:]), False


# --- sign-magnitude fields ------------------------------------------------------------------------


def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    """``value`` as magnitude in bits below ``sign_bit`` plus that bit for negative values. Raises
    FeetechProtocolError when ``|value| >= 2**sign_bit`` (Homing_Offset, bit 11: at most +-2047)."""
    limit = (1 << sign_bit) - 1
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise FeetechProtocolError(f"{value!r} is not a whole number")
    value = int(value)
    if not -limit <= value <= limit:
        raise FeetechProtocolError(
            f"{value} does not fit a sign-magnitude field with sign bit {sign_bit} (+-{limit})"
        )
    return (-value) | (1 << sign_bit) if value < 0 else value


def decode_sign_magnitude(raw: int, sign_bit: int) -> int:
    """The signed value of a sign-magnitude field (bits above the sign bit ignored)."""
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw & (1 << sign_bit) else magnitude
