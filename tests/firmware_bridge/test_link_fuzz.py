"""The emulated link carries the next valid frame whatever came before it: the real firmware in simavr,
robokit's pty bridge (emulator/pty_bridge.c), a real pty opened with pyserial (issue 9, item 6)."""

from __future__ import annotations

import random
import time

import pytest

from robokit.firmware_bridge import protocol as p

from .conftest import Link

pytestmark = pytest.mark.usefixtures("emulator_build")

CHECK_SEQS = range(1, 128)  # seq numbers of the checking PINGs; fuzzed frames use 128..255


def ping(link: Link, seq: int, timeout_s: float = 2.0) -> p.State | None:
    """PING with sequence number ``seq`` behind a 0x00 (ends whatever junk came before); the STATE
    reply or None."""
    link.send_raw(b"\x00" + p.encode_frame(p.Ping(seq=seq)))
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        for msg in link.dec.feed(link.ser.read(max(1, link.ser.in_waiting))):
            if msg.seq == seq and isinstance(msg, p.State):
                return msg
    return None


def ping_until_answered(link: Link, seqs: list[int]) -> tuple[p.State | None, int]:
    """PING with each of ``seqs`` in turn until one is answered (a PING can be lost while the
    firmware is still overrun by what came before: the host retries); (reply, PINGs sent)."""
    for i, seq in enumerate(seqs):
        st = ping(link, seq)
        if st is not None:
            return st, i + 1
    return None, len(seqs)


def test_one_write_of_1000_bytes_without_zero_then_ping_is_answered(link):
    before = ping(link, 1)
    assert before is not None
    link.send_raw(b"\x55" * 1000 + b"\x00")  # wedged the old uart_pty link for good
    after = ping(link, 2)
    assert after is not None, "the link is wedged"
    assert after.bad_frame == before.bad_frame + 1  # one oversize frame, dropped and counted
    assert after.rx_overflow == before.rx_overflow == 0  # and not a byte lost on the way
    assert ping(link, 3) is not None


def test_every_byte_of_a_65_kb_burst_reaches_the_uart(emu, link):
    """500 longest frames with a bad CRC in one write (65 kB, about 0.7 s of wire time): the pty bridge
    feeds the UART only as fast as it takes bytes, holding the writer back, and loses none.
    (The firmware itself cannot parse back-to-back frames at the full 1 Mbaud: its ring buffer
    overflows, counted in rx_overflow, as it would on a real ATmega328P; the next frame still works.)"""
    link.ser.write_timeout = 20.0
    rng = random.Random(6)
    frames = []
    for i in range(500):
        payload = bytes(rng.randrange(256) for _ in range(p.MAX_PAYLOAD))
        raw = bytearray(p.pack_raw(p.Targets.TYPE, 128 + i % 128, payload))
        raw[-1] ^= 0x5A  # bad CRC
        frames.append(p.cobs_encode(bytes(raw)) + b"\x00")
    burst = b"".join(frames)
    t0 = time.monotonic()
    link.send_raw(burst)
    write_s = time.monotonic() - t0
    after, pings = ping_until_answered(link, seqs=[1, 2, 3])
    assert after is not None
    assert after.bad_crc + after.bad_frame > 100  # the firmware saw the burst and counted it
    link.close()
    emu.stop()
    sent = len(burst) + pings * len(b"\x00" + p.encode_frame(p.Ping(seq=1)))
    assert emu.link["in"] == sent, emu.link  # every byte written reached the simulated UART
    assert "overrun" not in emu.stderr_tail(50)  # and the UART's own FIFO never overflowed
    assert emu.link["resets"] == 0
    assert write_s > 0.2  # the writer was held back to the wire rate (60 kB is 3x the kernel buffer)


def test_a_continuous_stream_of_requests_for_over_a_second_does_not_reset_the_firmware(emu, link):
    """20000 PINGs back to back (120 kB, 1.3 s of wire time): the firmware answers what it can and
    drops the rest (rx_overflow), but never starves the AVR hardware watchdog (1 s) into a reset."""
    link.ser.write_timeout = 30.0
    before = ping(link, 1)
    link.send_raw(p.encode_frame(p.Ping(seq=200)) * 20000)
    after, _ = ping_until_answered(link, seqs=[2, 3, 4])
    assert after is not None
    assert before.frame + 50 < after.frame < before.frame + 50 * 60  # the frame counter ran on: no reset
    assert after.rx_ok > before.rx_ok + 100
    emu.stop()
    assert emu.link["resets"] == 0


def _run_without_zero(rng: random.Random) -> bytes:
    n = rng.choice([rng.randint(131, 600), rng.randint(600, 6000)])
    if rng.random() < 0.3:
        return bytes([rng.randint(1, 255)]) * n
    return bytes(rng.randint(1, 255) for _ in range(n))


def _request(rng: random.Random) -> p.Message:
    seq = rng.randint(128, 255)
    kind = rng.choice([p.Ping, p.Hello, p.Release, p.Estop, p.Clear, p.Targets])
    if kind is p.Targets:
        return p.Targets(seq=seq, targets_100urad=tuple(rng.randint(-32768, 32767) for _ in range(6)))
    return kind(seq=seq)


def _piece(rng: random.Random) -> tuple[bytes, bool]:
    """One piece of a fuzzed stream and whether it holds a frame the firmware answers."""
    kind = rng.randrange(8)
    if kind == 0:
        return _run_without_zero(rng), False
    if kind == 1:  # noise with zeros in it
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 400))), False
    if kind == 2:  # a valid frame with a bit flipped after encoding (bad CRC or bad framing)
        wire = bytearray(p.encode_frame(_request(rng)))
        i = rng.randrange(len(wire) - 1)
        wire[i] ^= 1 << rng.randrange(8)
        return bytes(wire), False
    if kind == 3:  # good CRC, unknown type or wrong payload length: answered by ERROR
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        return p.cobs_encode(
            p.pack_raw(rng.choice([0x00, 0x09, 0x42, 0x04, 0x02]), 255, body)
        ) + b"\x00", True
    if kind == 4:  # a frame cut short, glued to what follows
        wire = p.encode_frame(_request(rng))
        return wire[: rng.randint(1, len(wire) - 1)], False
    if kind == 5:  # COBS code pointing past the end
        return bytes([rng.randint(20, 255)]) + bytes(
            rng.randint(1, 255) for _ in range(rng.randint(0, 10))
        ) + b"\x00", False
    if kind == 6:  # oversize frame
        return bytes(rng.randint(1, 255) for _ in range(rng.randint(131, 400))) + b"\x00", False
    return p.encode_frame(_request(rng)), True  # a valid request, answered


def test_seeded_fuzz_of_random_streams_then_ping_is_answered(link):
    """40 random streams (long runs without 0x00, noise, corrupted, truncated, oversize and valid
    frames, in one write each); after each, a PING is answered and the firmware has not reset."""
    link.ser.write_timeout = 20.0
    rng = random.Random(20240609)
    first = last = ping(link, 1)
    assert first is not None
    total = 0
    for round_ in range(40):
        pieces = [_piece(rng) for _ in range(rng.randint(1, 12))]
        stream = b"".join(b for b, _ in pieces)
        answered = any(a for _, a in pieces)
        total += len(stream)
        link.send_raw(stream)
        seq = CHECK_SEQS[(2 + 3 * round_) % len(CHECK_SEQS)]
        # a stream that ends in requests the firmware answers can overrun it: then one retry
        st, _ = ping_until_answered(link, seqs=[seq, seq + 1] if answered else [seq])
        assert st is not None, f"round {round_}: no reply after {len(stream)} fuzzed bytes"
        assert st.frame >= last.frame  # the firmware did not reset
        last = st
    assert total > 30_000
    assert last.bad_frame + last.bad_crc + last.bad_msg > first.bad_frame + first.bad_crc + first.bad_msg + 40
