"""Generate docs/protocol_vectors.json: byte vectors both codecs (Python and C) are tested against.

Run ``robokit dev gen-vectors`` from the repo root after a protocol change, then check the diff by hand: the vectors are the contract, the codec must follow them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from robokit.robots import get_robot

from . import protocol as p
from .fixedpoint import default_joint_configs

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "protocol_vectors.json"


def _frame_vector(name: str, msg: p.Message) -> dict:
    wire = p.encode_frame(msg)
    fields = dataclasses.asdict(msg)
    return {
        "name": name,
        "wire_hex": wire.hex(),
        "type": msg.TYPE,
        "seq": msg.seq,
        "payload_hex": msg.payload().hex(),
        "message": type(msg).__name__,
        "fields": json.loads(json.dumps(fields)),
    }


def _messages(joints: tuple[p.JointConfig, ...]) -> list[tuple[str, p.Message]]:
    """One message of each type (named), as the frame vectors encode them."""
    home = tuple(j.home_100urad for j in joints)
    return [
        ("hello", p.Hello(seq=1)),
        ("ping", p.Ping(seq=2)),
        ("enable_home", p.Enable(seq=3, pose_100urad=home)),
        ("targets", p.Targets(seq=4, targets_100urad=(1000, -2000, 14000, 9000, 0, 5000))),
        ("targets_negative_limits", p.Targets(seq=255, targets_100urad=(-15708, 15708, -1, 256, -256, 0))),
        ("release", p.Release(seq=5)),
        ("estop", p.Estop(seq=6)),
        ("clear", p.Clear(seq=7)),
        (
            "config_defaults_release",
            p.Config(seq=8, watchdog_timeout_ms=300, watchdog_action=1, joints=joints),
        ),
        ("info_defaults", p.Info(seq=1, firmware_version=(1, 0, 0), joints=joints)),
        (
            "state_enabled",
            p.State(
                seq=4,
                frame=0x01020304,
                flags=p.FLAG_ENABLED | p.FLAG_CLAMPED,
                setpoints_100urad=(600, -600, 14000, 9000, 0, 600),
                targets_100urad=(1000, -2000, 14000, 9000, 0, 5000),
                rx_ok=12,
                bad_crc=1,
                bad_frame=2,
                bad_msg=3,
                rx_overflow=0,
            ),
        ),
        ("error_estop", p.Error(seq=3, code=3, request_type=p.Enable.TYPE)),
    ]


def _invalid_and_streams(good: bytes) -> tuple[list[dict], list[dict]]:
    """Frames the decoder must refuse (with the error it counts), and byte streams with their events;
    ``good`` is a valid PING frame."""
    bad_crc = bytearray(p.pack_raw(p.Ping.TYPE, 2, b""))
    bad_crc[-1] ^= 0x01
    invalid = [
        {"name": "bad_crc", "wire_hex": (p.cobs_encode(bytes(bad_crc)) + b"\x00").hex(), "error": "bad_crc"},
        {"name": "cobs_past_end", "wire_hex": "05020300", "error": "bad_frame"},
        {
            "name": "too_short",
            "wire_hex": (p.cobs_encode(b"\x02\x02\x00") + b"\x00").hex(),
            "error": "bad_frame",
        },
        {"name": "too_long", "wire_hex": "ff" * 140 + "00", "error": "bad_frame"},
        {
            "name": "unknown_type",
            "wire_hex": (p.cobs_encode(p.pack_raw(0x42, 9, b"")) + b"\x00").hex(),
            "error": "bad_msg",
        },
    ]
    streams = [
        {
            "name": "garbage_then_ping",
            "wire_hex": (b"\x13\x37\xaa\x00" + good).hex(),
            "events": ["bad_frame", "Ping"],
        },
        {
            "name": "idle_delimiters_then_ping",
            "wire_hex": (b"\x00\x00" + good + b"\x00").hex(),
            "events": ["Ping"],
        },
    ]
    return invalid, streams


def build_vectors() -> dict:
    """The whole vector file (docs/protocol_vectors.json) as a dict."""
    joints = default_joint_configs(get_robot("servo_arm"))
    frames = [_frame_vector(name, msg) for name, msg in _messages(joints)]
    invalid, streams = _invalid_and_streams(bytes.fromhex(frames[1]["wire_hex"]))  # frames[1]: ping
    cobs = [
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x11\x22\x00\x33",
        b"\x11\x00\x00\x00",
        bytes(range(1, 255)),
        bytes(range(1, 256)),
        bytes(range(0, 256))[:128],
    ]
    return {
        "protocol_version": p.PROTOCOL_VERSION,
        "watchdog_range_ms": [p.WATCHDOG_MIN_MS, p.WATCHDOG_MAX_MS],
        "gain_q16_range": [p.GAIN_Q16_MIN, p.GAIN_Q16_MAX],
        "pulse_zero_range_ticks": [p.PULSE_ZERO_MIN_TICKS, p.PULSE_ZERO_MAX_TICKS],
        "max_step_max": p.MAX_STEP_MAX,
        "crc": {
            "variant": "CRC-16/CCITT-FALSE",
            "poly": "0x1021",
            "init": "0xffff",
            "check_ascii": "123456789",
            "check": p.crc16_ccitt_false(b"123456789"),
        },
        "cobs": [{"decoded_hex": d.hex(), "encoded_hex": p.cobs_encode(d).hex()} for d in cobs],
        "frames": frames,
        "invalid": invalid,
        "streams": streams,
        "config_checks": _config_checks(joints),
    }


def _with_joint(joints: tuple[p.JointConfig, ...], i: int, **change: int) -> tuple[p.JointConfig, ...]:
    return joints[:i] + (dataclasses.replace(joints[i], **change),) + joints[i + 1 :]


def _joint_cases(joints: tuple[p.JointConfig, ...]) -> list[tuple[str, tuple[p.JointConfig, ...]]]:
    """One joint changed at a time: gains (0, both signs at and past the bounds, i32 extremes), zero
    pulses and max steps at and past their bounds; on joint 0, and some on the last joint."""
    lo, hi, last = p.GAIN_Q16_MIN, p.GAIN_Q16_MAX, len(joints) - 1
    zmin, zmax = p.PULSE_ZERO_MIN_TICKS, p.PULSE_ZERO_MAX_TICKS
    gains = (0, 1, -1, lo - 1, lo, hi, hi + 1, -(lo - 1), -lo, -hi, -(hi + 1), -8344, -(2**31), 2**31 - 1)
    zeros = (0, zmin - 1, zmin, zmax, zmax + 1, 65535)
    steps = (0, 1, p.MAX_STEP_MAX, p.MAX_STEP_MAX + 1, 65535)
    cases = [(f"gain_{g}", _with_joint(joints, 0, gain_q16=g)) for g in gains]
    cases += [(f"last_joint_gain_{g}", _with_joint(joints, last, gain_q16=g)) for g in (0, -lo, hi + 1)]
    cases += [(f"pulse_zero_{z}", _with_joint(joints, 0, pulse_zero_ticks=z)) for z in zeros]
    cases += [(f"last_joint_pulse_zero_{zmax + 1}", _with_joint(joints, last, pulse_zero_ticks=zmax + 1))]
    cases += [(f"max_step_{m}", _with_joint(joints, 0, max_step_100urad=m)) for m in steps]
    return cases


def _config_checks(joints: tuple[p.JointConfig, ...]) -> list[dict]:
    """CONFIG payloads and the firmware's verdict: "ok" or the error name (docs/protocol.md, CONFIG)."""
    bad_joint = (p.JointConfig(100, -100, 0, 600, 3000, 8344),) + joints[1:]
    cases = [
        (f"watchdog_{ms}_ms", ms, p.WATCHDOG_HOLD, joints)
        for ms in (0, 10, 99, 100, 500, 60000, 60001, 65001, 65535)
    ]
    cases += [
        ("watchdog_action_2", 500, 2, joints),
        ("lower_above_upper", 500, p.WATCHDOG_HOLD, bad_joint),
        ("five_joints", 500, p.WATCHDOG_HOLD, joints[:5]),
    ]
    cases += [(name, 500, p.WATCHDOG_HOLD, js) for name, js in _joint_cases(joints)]
    out = []
    for name, ms, action, js in cases:
        ok = (
            p.WATCHDOG_MIN_MS <= ms <= p.WATCHDOG_MAX_MS
            and action in (p.WATCHDOG_HOLD, p.WATCHDOG_RELEASE)
            and len(js) == len(joints)
            and all(p.joint_config_ok(j) for j in js)
        )
        msg = p.Config(watchdog_timeout_ms=ms, watchdog_action=action, joints=js)
        # another joint count is another payload length: malformed (BAD_LENGTH), like any message
        result = "ok" if ok else ("BAD_LENGTH" if len(js) != len(joints) else "BAD_CONFIG")
        out.append({"name": name, "payload_hex": msg.payload().hex(), "result": result})
    return out
