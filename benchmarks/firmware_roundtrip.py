"""TARGETS -> STATE round trip against the emulated firmware, next to the wire-time limit.

Runs the real firmware in simavr (robokit.firmware_bridge.emulator), talks to it over its pty with
pyserial (opened as robokit opens every port: exclusively, with a write timeout), and measures:
round-trip latency (p50, p99, max) of TARGETS -> STATE, the highest sustained command rate (one
outstanding request at a time, as the host bridge does), the physical limit (the bytes of both frames
on the wire at 1 Mbaud, 10 bits a byte; simavr times a byte at ~11 us), the pulse-width error against
the calibration under that load, real-time pacing lag, and avr-size flash/RAM use against the
ATmega328P's 32 KiB / 2 KiB. Writes benchmarks/results/firmware_roundtrip.json.

    python benchmarks/firmware_roundtrip.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import serial

from robokit.firmware_bridge import fixedpoint as fx
from robokit.firmware_bridge import protocol as p
from robokit.firmware_bridge.emulator import Emulator, avr_size
from robokit.firmware_bridge.link import BAUD
from robokit.firmware_bridge.serial_port import open_port
from robokit.robots import get_robot

OUT = Path(__file__).resolve().parent / "results" / "firmware_roundtrip.json"


def request(ser: serial.SerialBase, dec: p.FrameDecoder, msg: p.Message, timeout_s: float = 1.0) -> p.Message:
    ser.write(p.encode_frame(msg))
    end = time.perf_counter() + timeout_s
    while time.perf_counter() < end:
        for reply in dec.feed(ser.read(max(1, ser.in_waiting))):
            if reply.seq == msg.seq:
                return reply
    raise TimeoutError(f"no reply to seq {msg.seq}")


def _round_trips(emu: Emulator, spec, joints, seconds: float) -> tuple[list, list, float, object]:
    """Random TARGETS back to back for ``seconds``: (latencies s, STATE replies, elapsed s, final STATE)."""
    home = tuple(j.home_100urad for j in joints)
    rng = np.random.default_rng(0)
    ser = open_port(emu.port, BAUD, timeout_s=0.005)  # exclusive, with a write timeout
    dec = p.FrameDecoder()
    seq = 0

    def nxt() -> int:
        nonlocal seq
        seq = (seq + 1) & 0xFF
        return seq

    request(ser, dec, p.Hello(seq=nxt()))
    request(ser, dec, p.Enable(seq=nxt(), pose_100urad=home))
    lat_s, states = [], []
    t_start = time.perf_counter()
    while time.perf_counter() - t_start < seconds:
        target = fx.rad_to_100urad(rng.uniform(spec.lower, spec.upper))
        t0 = time.perf_counter()
        st = request(ser, dec, p.Targets(seq=nxt(), targets_100urad=target))
        lat_s.append(time.perf_counter() - t0)
        states.append(st)
    elapsed = time.perf_counter() - t_start
    final = request(ser, dec, p.Ping(seq=nxt()))
    ser.close()
    return lat_s, states, elapsed, final


def _pulse_errors_us(emu: Emulator, states: list, joints) -> list[float]:
    """Pulse widths vs the calibration of the reported setpoints, under full command load (<= 300 states)."""
    errs: list[float] = []
    for st in states[:: max(1, len(states) // 300)]:
        pf = emu.pulses.get(st.frame)
        if pf is not None and st.enabled:
            errs += [
                abs(w - fx.pulse_us(q, j)) for w, q, j in zip(pf.widths_us, st.setpoints_100urad, joints)
            ]
    return errs


def _wire_limit(home, final) -> dict:
    targets_wire = len(p.encode_frame(p.Targets(targets_100urad=home)))
    state_wire = len(p.encode_frame(final))
    wire_s = (targets_wire + state_wire) * 10 / BAUD
    return {
        "targets_bytes": targets_wire,
        "state_bytes": state_wire,
        "round_trip_ms_at_10us_per_byte": round(wire_s * 1e3, 3),
        "round_trip_ms_at_simavr_11us_per_byte": round((targets_wire + state_wire) * 11e-3, 3),
        "max_rate_hz": round(1 / wire_s, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of the back-to-back run")
    args = ap.parse_args()
    spec = get_robot("servo_arm")
    joints = fx.default_joint_configs(spec)
    with Emulator() as emu:
        lat_s, states, elapsed, final = _round_trips(emu, spec, joints, args.seconds)
        errs = _pulse_errors_us(emu, states, joints)
        emu.stop()
        timing = emu.pulses.timing
        size = avr_size(emu.build.firmware_elf)
    lat_ms = np.asarray(lat_s) * 1e3
    result = {
        "what": "TARGETS -> STATE round trip over the emulator's pty (pyserial), one request outstanding",
        "host": platform.platform(),
        "seconds": round(elapsed, 2),
        "requests": len(lat_s),
        "latency_ms": {
            "p50": round(float(np.percentile(lat_ms, 50)), 3),
            "p99": round(float(np.percentile(lat_ms, 99)), 3),
            "max": round(float(lat_ms.max()), 3),
        },
        "sustained_rate_hz": round(len(lat_s) / elapsed, 1),
        "wire_limit": _wire_limit(tuple(j.home_100urad for j in joints), final),
        "firmware_counters": {
            "bad_crc": final.bad_crc,
            "bad_frame": final.bad_frame,
            "rx_overflow": final.rx_overflow,
        },
        "pulse_error_us": {"max": round(max(errs), 3) if errs else None, "samples": len(errs)},
        "realtime": timing,
        "avr_size": {
            **size,
            "flash_of_32KiB_pct": round(100 * size["flash_bytes"] / 32768, 1),
            "ram_of_2KiB_pct": round(100 * size["ram_bytes"] / 2048, 1),
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
