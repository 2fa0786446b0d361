"""The C protocol and motion modules (firmware_bridge/firmware/proto.c, motion.c), compiled with the
host gcc into host_probe, against the same vectors as the Python codec."""

from __future__ import annotations

import random
import re
import shutil
import subprocess

import pytest

from robokit.core.units import SERVO_FRAME_S, SERVO_FRAME_US
from robokit.firmware_bridge import fixedpoint as fx
from robokit.firmware_bridge import protocol as p
from robokit.firmware_bridge.emulator import FIRMWARE_SRC
from robokit.firmware_bridge.link import BAUD


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("host gcc not installed")
    exe = tmp_path_factory.mktemp("probe") / "host_probe"
    srcs = [str(FIRMWARE_SRC / f) for f in ("host_probe.c", "proto.c", "motion.c")]
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-O1", "-o", str(exe), *srcs], check=True)

    def run(lines: list[str]) -> list[str]:
        out = subprocess.run(
            [str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True
        )
        return out.stdout.splitlines()

    return run


def test_crc_and_cobs(probe, vectors):
    cmds = ["crc " + b"123456789".hex()]
    cmds += [f"cobs_enc {v['decoded_hex']}" for v in vectors["cobs"]]
    cmds += [f"cobs_dec {v['encoded_hex']}" for v in vectors["cobs"]]
    out = probe(cmds)
    assert int(out[0], 16) == vectors["crc"]["check"] == 0x29B1
    n = len(vectors["cobs"])
    assert out[1 : 1 + n] == [v["encoded_hex"] for v in vectors["cobs"]]
    assert out[1 + n :] == [v["decoded_hex"] for v in vectors["cobs"]]


def test_receiver_and_encoder_on_frame_vectors(probe, vectors):
    frames = vectors["frames"]
    out = probe(
        [f"rx {v['wire_hex']}" for v in frames]
        + [f"encode {v['type']} {v['seq']} {v['payload_hex']}" for v in frames]
    )
    for v, rx in zip(frames, out[: len(frames)]):
        assert rx == f"FRAME {v['type']} {v['seq']} {v['payload_hex']}", v["name"]
    for v, wire in zip(frames, out[len(frames) :]):
        assert wire == v["wire_hex"], v["name"]


def test_receiver_drops_invalid_frames(probe, vectors):
    out = probe([f"rx {v['wire_hex']}" for v in vectors["invalid"]])
    for v, rx in zip(vectors["invalid"], out):
        if v["error"] == "bad_msg":  # framing is fine; the firmware's dispatcher counts it as bad_msg
            assert rx.startswith("FRAME 66 9 "), v["name"]
        else:
            assert rx == v["error"], v["name"]
    out = probe([f"rx {v['wire_hex']}" for v in vectors["streams"]])
    assert out[0].split(";")[0] == "bad_frame" and out[0].split(";")[1].startswith("FRAME 2 ")
    assert out[1].startswith("FRAME 2 ") and ";" not in out[1]


def by_name(vectors, name):
    return next(v for v in vectors["frames"] if v["name"] == name)


def test_state_and_info_payload_packing(probe, vectors):
    st = by_name(vectors, "state_enabled")["fields"]
    state_cmd = " ".join(
        str(x)
        for x in [
            st["frame"],
            st["flags"],
            len(st["setpoints_100urad"]),
            *st["setpoints_100urad"],
            *st["targets_100urad"],
            st["rx_ok"],
            st["bad_crc"],
            st["bad_frame"],
            st["bad_msg"],
            st["rx_overflow"],
        ]
    )
    info = by_name(vectors, "info_defaults")["fields"]
    joints = " ".join(
        f"{j['lower_100urad']} {j['upper_100urad']} {j['home_100urad']} {j['max_step_100urad']} "
        f"{j['pulse_zero_ticks']} {j['gain_q16']}"
        for j in info["joints"]
    )
    info_cmd = f"{info['flags']} {info['watchdog_timeout_ms']} {info['watchdog_action']} {len(info['joints'])} {joints}"
    out = probe([f"state {state_cmd}", f"info {info_cmd}"])
    assert out[0] == by_name(vectors, "state_enabled")["payload_hex"]
    assert out[1] == by_name(vectors, "info_defaults")["payload_hex"]


def test_request_payload_unpacking(probe, vectors):
    cfg = by_name(vectors, "config_defaults_release")
    tg = by_name(vectors, "targets")
    out = probe(
        [f"config {cfg['payload_hex']}", f"joints 6 {tg['payload_hex']}", f"joints 5 {tg['payload_hex']}"]
    )
    f = cfg["fields"]
    expected = [f["watchdog_timeout_ms"], f["watchdog_action"], len(f["joints"])]
    for j in f["joints"]:
        expected += list(j.values())
    assert out[0] == "OK " + " ".join(str(v) for v in expected)
    assert out[1] == "OK " + " ".join(str(v) for v in tg["fields"]["targets_100urad"])
    assert out[2] == "ERR"
    bad = p.Config(joints=(p.JointConfig(100, -100, 0, 600, 3000, 8344),) * 6).payload().hex()
    assert probe([f"config {bad}"]) == [f"ERR {6}"]


def test_motion_matches_python_fixed_point(probe):
    rng = random.Random(1)
    joint = p.JointConfig(-15708, 15708, 0, 600, 3000, 8344)
    cases = [
        (rng.randint(-15708, 15708), rng.randint(-15708, 15708), rng.randint(1, 2000)) for _ in range(300)
    ]
    pulses = [
        (
            rng.randint(-32768, 32767),
            rng.randint(1000, 5000),
            rng.choice([8344, -8344, rng.randint(-20000, 20000)]),
        )
        for _ in range(300)
    ]
    out = probe(
        [f"step {s} {t} {m}" for s, t, m in cases]
        + [f"pulse {q} {z} {g}" for q, z, g in pulses]
        + ["clamp 20000 -15708 15708", "clamp -5 0 10000", "clamp 7 0 10000"]
    )
    for (s, t, m), got in zip(cases, out[:300]):
        assert int(got) == fx.servo_step_fixed([s], [t], [m])[0]
    for (q, z, g), got in zip(pulses, out[300:600]):
        assert int(got) == fx.pulse_ticks(q, p.JointConfig(0, 0, 0, 0, z, g))
    assert out[600:] == ["15708 1", "0 1", "7 0"]
    assert fx.pulse_ticks(15708, joint) == 5000


def test_config_checks_match_the_vectors(probe, vectors):
    """The C validator (proto_check_config) refuses exactly the CONFIGs the vectors mark BAD_CONFIG:
    watchdog timeouts outside [WATCHDOG_MIN_MS, WATCHDOG_MAX_MS] among them (0 no longer means off)."""
    checks = vectors["config_checks"]
    out = probe([f"config {v['payload_hex']}" for v in checks])
    for v, got in zip(checks, out):
        if v["result"] == "ok":
            assert got.startswith("OK "), v["name"]
        else:
            assert got == {"BAD_CONFIG": "ERR 6", "BAD_LENGTH": "ERR 2"}[v["result"]], v["name"]
    assert {v["name"] for v in checks if v["result"] == "ok"} >= {"watchdog_100_ms", "watchdog_60000_ms"}


def test_config_checks_refuse_gains_zero_pulses_and_speeds_no_servo_has(probe, vectors):
    """Issue 9, item 11: a gain of 0 (the servo never moves while STATE reports motion), gains, zero
    pulses and max steps past their bounds are refused by the C check; negative gains (a direction)
    are judged by their magnitude."""
    verdict = {v["name"]: v["result"] for v in vectors["config_checks"]}
    lo, hi = p.GAIN_Q16_MIN, p.GAIN_Q16_MAX
    refused = [0, 1, -1, lo - 1, -(lo - 1), hi + 1, -(hi + 1), -(2**31), 2**31 - 1]
    accepted = [lo, -lo, hi, -hi, -8344]
    names = [f"gain_{g}" for g in refused + accepted] + ["last_joint_gain_0", "last_joint_gain_-1311"]
    names += [f"pulse_zero_{z}" for z in (0, 999, 1000, 5000, 5001, 65535)]
    names += [f"max_step_{m}" for m in (0, 1, p.MAX_STEP_MAX, p.MAX_STEP_MAX + 1)]
    expected = {f"gain_{g}": "BAD_CONFIG" for g in refused} | {f"gain_{g}": "ok" for g in accepted}
    expected |= {"last_joint_gain_0": "BAD_CONFIG", "last_joint_gain_-1311": "ok"}
    expected |= {"pulse_zero_0": "BAD_CONFIG", "pulse_zero_999": "BAD_CONFIG", "pulse_zero_1000": "ok"}
    expected |= {"pulse_zero_5000": "ok", "pulse_zero_5001": "BAD_CONFIG", "pulse_zero_65535": "BAD_CONFIG"}
    expected |= {"max_step_0": "BAD_CONFIG", "max_step_1": "ok", f"max_step_{p.MAX_STEP_MAX}": "ok"}
    expected |= {f"max_step_{p.MAX_STEP_MAX + 1}": "BAD_CONFIG"}
    assert {n: verdict[n] for n in names} == expected
    payload = {v["name"]: v["payload_hex"] for v in vectors["config_checks"]}
    out = probe([f"config {payload[n]}" for n in names])
    assert {n: ("ok" if o.startswith("OK ") else o) for n, o in zip(names, out)} == {
        n: ("ok" if r == "ok" else "ERR 6") for n, r in expected.items()
    }


def test_watchdog_frames_round_up_to_whole_frames(probe):
    out = probe([f"wd_frames {ms}" for ms in (100, 101, 120, 500, 59999, 60000)])
    assert out == ["5", "6", "6", "25", "3000", "3000"]


def c_define(header: str, name: str) -> int:
    """The integer value of ``#define name`` in firmware/``header`` (an L suffix allowed)."""
    m = re.search(rf"#define {name} (\d+)L?\b", (FIRMWARE_SRC / header).read_text())
    assert m, name
    return int(m.group(1))


def test_c_header_and_python_agree_on_the_watchdog_range():
    def define(name: str) -> int:
        return c_define("proto.h", name)

    assert (define("WATCHDOG_MIN_MS"), define("WATCHDOG_MAX_MS")) == (p.WATCHDOG_MIN_MS, p.WATCHDOG_MAX_MS)
    assert (p.WATCHDOG_MIN_MS, p.WATCHDOG_MAX_MS) == (100, 60000)
    assert define("FRAME_PERIOD_MS") * 1000 == p.Info().frame_period_us


def test_c_header_and_python_agree_on_the_joint_config_bounds():
    """GAIN_Q16_*, PULSE_ZERO_*_TICKS and MAX_STEP_MAX have the same values in proto.h and protocol.py;
    the gain bounds are 100..4000 us/rad and the zero pulse range is the firmware's pulse range."""
    names = ("GAIN_Q16_MIN", "GAIN_Q16_MAX", "PULSE_ZERO_MIN_TICKS", "PULSE_ZERO_MAX_TICKS", "MAX_STEP_MAX")
    assert {n: c_define("proto.h", n) for n in names} == {n: getattr(p, n) for n in names}
    assert (p.GAIN_Q16_MIN, p.GAIN_Q16_MAX) == (fx.gain_q16(100.0), fx.gain_q16(4000.0)) == (1311, 52429)
    pulse_range = (c_define("motion.h", "PULSE_MIN_TICKS"), c_define("motion.h", "PULSE_MAX_TICKS"))
    assert (
        pulse_range
        == (p.PULSE_ZERO_MIN_TICKS, p.PULSE_ZERO_MAX_TICKS)
        == (fx.PULSE_MIN_TICKS, fx.PULSE_MAX_TICKS)
    )


def c_enum(header: str, prefix: str) -> dict[str, int]:
    """``{name: value}`` of the enum members ``PREFIX_NAME = value`` (hex, decimal or ``1 << n``)."""
    text = (FIRMWARE_SRC / header).read_text()
    found = re.findall(rf"\b{prefix}(\w+) = (0x[0-9A-Fa-f]+|1 << \d+|\d+)", text)
    assert found, prefix
    return {name: 1 << int(v[5:]) if v.startswith("1 << ") else int(v, 0) for name, v in found}


def test_c_header_and_python_agree_on_frame_sizes_message_types_flags_and_errors():
    """proto.h's version, frame sizes, joint count and layout, message types, STATE flags, ERROR codes
    and watchdog actions are the ones protocol.py speaks (one set of numbers on both sides)."""
    assert c_define("proto.h", "PROTO_VERSION") == p.PROTOCOL_VERSION
    assert c_define("proto.h", "PROTO_MAX_RAW") == p.MAX_RAW_FRAME
    assert c_define("proto.h", "PROTO_MAX_JOINTS") == p.MAX_JOINTS
    assert c_define("proto.h", "PROTO_JOINT_BYTES") == len(p.JointConfig(0, 1, 0, 1, 3000, 2000).pack())
    assert c_enum("proto.h", "MSG_") == {cls.__name__.upper(): t for t, cls in p.MESSAGE_TYPES.items()}
    flags = {n: getattr(p, f"FLAG_{n}") for n in c_enum("proto.h", "FLAG_")}
    assert c_enum("proto.h", "FLAG_") == flags and len(flags) == 6
    assert c_enum("proto.h", "ERR_") == {name: code for code, name in p.ERROR_NAMES.items()}
    assert c_enum("proto.h", "WATCHDOG_") == {"HOLD": p.WATCHDOG_HOLD, "RELEASE": p.WATCHDOG_RELEASE}


def test_the_firmware_baud_and_servo_frame_are_the_ones_the_host_uses():
    """The UART rate (link.c's default and the Makefile's) is link.BAUD; the firmware's frame period is
    the servo model's frame (robokit.core.units), which INFO reports by default."""
    link_c = re.search(r"#define BAUD (\d+)UL", (FIRMWARE_SRC / "link.c").read_text())
    makefile = re.search(r"^BAUD\s*\?=\s*(\d+)UL", (FIRMWARE_SRC / "Makefile").read_text(), re.M)
    assert link_c and makefile
    assert int(link_c.group(1)) == int(makefile.group(1)) == BAUD == 1_000_000
    assert c_define("proto.h", "FRAME_PERIOD_MS") * 1000 == SERVO_FRAME_US == round(SERVO_FRAME_S * 1e6)
    assert p.Info().frame_period_us == SERVO_FRAME_US
    assert fx.max_step_from_speed(fx.max_speed_from_step(1234)) == 1234  # per-frame step <-> rad/s round-trip


# --- the receive ring (firmware/rx_ring.h) and the decoder behind it, as the firmware drives them ---

RING_ROOM = c_define("rx_ring.h", "RX_RING_SIZE") - 1  # bytes the ring holds


def wire(msg: p.Message) -> str:
    return p.encode_frame(msg).hex()


def frames_seen(out: str) -> list[str]:
    """The frames a ring_take line reports (FRAME type seq, bad_crc, bad_frame), in order."""
    return [x for x in out.split(";") if x]


def test_a_full_ring_drops_whole_frames_and_the_next_frame_is_received_whole(probe):
    """The receive interrupt fills the ring while the main loop is stalled (a reply being sent, an
    EEPROM write): 100 PINGs (600 bytes) into a 255-byte ring. Bytes are lost only as whole frames:
    the frame in progress when the ring filled is cut short by a 0x00 (one bad frame), the rest is
    dropped up to its own 0x00, and a PING sent after the ring drained arrives whole. (Before, the
    ring dropped the newest bytes, delimiter included, and glued the cut frame to the next PING.)
    The main loop, behind by 42 frames, drops them unread for the newest (here the cut one)."""
    burst = "".join(wire(p.Ping(seq=i)) for i in range(100))
    out = probe(["ring_reset", f"ring_put {burst}", "ring_stats", "ring_take 100000", "ring_stats"])
    stored = RING_ROOM - 1  # and the cut's 0x00
    assert out[2].split() == [str(600 - stored), "0", str(RING_ROOM)]
    assert frames_seen(out[3]) == ["bad_frame"]  # the cut PING: 42 whole ones, then 2 of its 6 bytes
    assert out[4].split() == [str(600 - stored), str(stored // 6 * 6), "0"]  # dropped unread: all 42
    after = probe([f"ring_put {wire(p.Ping(seq=200))}", "ring_take 100000"])
    assert frames_seen(after[1]) == ["FRAME 2 200"]
    # taken as they come (the main loop keeping up), the same burst is decoded frame by frame
    cmds = ["ring_reset"]
    for i in range(100):
        cmds += [f"ring_put {wire(p.Ping(seq=i))}", "ring_take 100"]
    out = probe(cmds)
    assert [f for o in out for f in frames_seen(o)] == [f"FRAME 2 {i}" for i in range(100)]


def test_a_full_ring_keeps_a_delimiter_that_arrives_in_its_last_slot(probe):
    """A 0x00 needs one free slot, a data byte two: a frame that ends exactly as the ring fills is
    kept whole, and nothing is counted lost until a byte really is."""
    frame = wire(p.Targets(seq=9, targets_100urad=(1, 2, 3, 4, 5, 6)))
    junk = "05" * (RING_ROOM - 1 - len(frame) // 2) + "00"  # a junk frame, so the TARGETS fills the ring
    out = probe(["ring_reset", f"ring_put {junk}{frame}", "ring_stats", "ring_take 100000"])
    assert out[2].split() == ["0", "0", str(RING_ROOM)]
    assert frames_seen(out[3]) == ["bad_frame", "FRAME 4 9"]
    out = probe(["ring_reset", f"ring_put {junk}{frame}05", "ring_stats"])  # one byte more: lost
    assert out[2].split() == ["1", "0", str(RING_ROOM)]


def test_an_older_request_with_a_newer_complete_one_behind_it_is_dropped_unread(probe):
    """The main loop fell behind (a flood): of three PINGs waiting, only the newest is decoded and the
    other two are counted as dropped (rx_overflow), never decoded. ESTOP and RELEASE are never dropped
    this way, and a request followed only by idle 0x00s is not superseded by them."""
    three = wire(p.Ping(seq=1)) + wire(p.Ping(seq=2)) + wire(p.Ping(seq=3))
    out = probe(["ring_reset", f"ring_put {three}", "ring_take 1000", "ring_stats"])
    assert frames_seen(out[2]) == ["FRAME 2 3"]
    assert out[3].split()[:2] == ["0", "12"]
    stops = wire(p.Ping(seq=1)) + wire(p.Estop(seq=2)) + wire(p.Ping(seq=3)) + wire(p.Release(seq=4))
    stops += wire(p.Ping(seq=5)) + wire(p.Ping(seq=6))
    out = probe(["ring_reset", f"ring_put {stops}", "ring_take 1000"])
    assert frames_seen(out[2]) == ["FRAME 6 2", "FRAME 5 4", "FRAME 2 6"]
    out = probe(["ring_reset", f"ring_put {wire(p.Ping(seq=7))}0000", "ring_take 1000"])
    assert frames_seen(out[2]) == ["FRAME 2 7"]


def test_requests_taken_as_they_arrive_are_all_decoded(probe):
    """A main loop that keeps up (each frame taken before the next is complete) drops nothing."""
    msgs = [p.Ping(seq=1), p.Hello(seq=2), p.Targets(seq=3, targets_100urad=(0,) * 6), p.Clear(seq=4)]
    cmds = ["ring_reset"]
    for m in msgs:
        cmds += [f"ring_put {wire(m)}", "ring_take 1000"]
    out = probe(cmds + ["ring_stats"])
    assert [frames_seen(o) for o in out[2:-1:2]] == [[f"FRAME {m.TYPE} {m.seq}"] for m in msgs]
    assert out[-1].split()[:2] == ["0", "0"]


def test_seeded_fuzz_of_the_ring_then_the_next_frame_is_decoded(probe):
    """Random streams (valid frames, noise with and without 0x00, long runs) put into the ring while
    the main loop takes a random share of the bytes; then the ring drains, and a PING put after it is
    decoded whole, every time. Every frame decoded is one that was sent."""
    rng = random.Random(9)
    for round_ in range(60):
        cmds = ["ring_reset"]
        sent = set()
        for _ in range(rng.randint(1, 30)):
            kind = rng.randrange(4)
            if kind == 0:
                msg = p.Ping(seq=rng.randint(0, 255))
                sent.add(f"FRAME 2 {msg.seq}")
                piece = wire(msg)
            elif kind == 1:
                msg = p.Targets(seq=rng.randint(0, 255), targets_100urad=(rng.randint(-9, 9),) * 6)
                sent.add(f"FRAME 4 {msg.seq}")
                piece = wire(msg)
            elif kind == 2:
                piece = bytes(rng.randrange(256) for _ in range(rng.randint(1, 60))).hex()
            else:
                piece = bytes(rng.randint(1, 255) for _ in range(rng.randint(100, 700))).hex()
            cmds += [f"ring_put {piece}", f"ring_take {rng.choice([0, 0, 3, 20, 400])}"]
        cmds += ["ring_put 00", "ring_take 100000", f"ring_put {wire(p.Ping(seq=77))}", "ring_take 100000"]
        out = probe(cmds)
        decoded = [f for o in out[1::2] for f in frames_seen(o) if f.startswith("FRAME")]
        assert set(decoded[:-1]) <= sent | {"FRAME 2 77"}, round_
        assert frames_seen(out[-1]) == ["FRAME 2 77"], round_
