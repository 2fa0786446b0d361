"""Framing layer of the serial protocol (docs/protocol.md, "Framing"): CRC-16/CCITT-FALSE, COBS and
raw frames ``type | seq | payload | crc16 (LE)``. Messages on top of it are in protocol.py."""

from __future__ import annotations

import struct

PROTOCOL_VERSION = 1
MAX_RAW_FRAME = 128  # bytes: type + seq + payload + crc
MAX_PAYLOAD = MAX_RAW_FRAME - 4
MAX_WIRE_FRAME = MAX_RAW_FRAME + 2  # COBS overhead (1 byte per 254) + 0x00 delimiter


class ProtocolError(ValueError):
    """A frame or payload that does not follow docs/protocol.md."""


# --- CRC-16/CCITT-FALSE and COBS -------------------------------------------------------------


def crc16_ccitt_false(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (IBM-3740): poly 0x1021, init 0xFFFF, no reflection, xorout 0."""
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data`` (no zero bytes in the result, no delimiter appended)."""
    out = bytearray([0])
    code_idx, code = 0, 1
    for b in data:
        if b == 0:
            out[code_idx] = code
            code_idx, code = len(out), 1
            out.append(0)
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_idx] = code
                code_idx, code = len(out), 1
                out.append(0)
    out[code_idx] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS block (without the 0x00 delimiter); raises ProtocolError if malformed."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        end = i + code
        if code == 0 or end > n:
            raise ProtocolError("COBS code points past the end of the frame")
        block = data[i + 1 : end]
        if 0 in block:
            raise ProtocolError("zero byte inside a COBS frame")
        out += block
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def pack_raw(msg_type: int, seq: int, payload: bytes) -> bytes:
    """Raw frame: type | seq | payload | crc16 (little endian)."""
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = bytes([msg_type & 0xFF, seq & 0xFF]) + payload
    return body + struct.pack("<H", crc16_ccitt_false(body))


def unpack_raw(raw: bytes) -> tuple[int, int, bytes]:
    """(type, seq, payload) of a raw frame; raises ProtocolError on short frame or bad CRC."""
    if len(raw) < 4:
        raise ProtocolError(f"frame of {len(raw)} bytes is shorter than 4")
    (crc,) = struct.unpack("<H", raw[-2:])
    if crc16_ccitt_false(raw[:-2]) != crc:
        raise ProtocolError("bad CRC")
    return raw[0], raw[1], bytes(raw[2:-2])
