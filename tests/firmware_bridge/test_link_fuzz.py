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
WIRE_S_PER_BYTE = 11e-6  # simavr times a byte at 11 bits of 1 us (start, 8 data, parity, stop)
PROMPT_S = 0.2  # the next request after any stream is answered this long after the stream's last byte
FRAME_S = 0.02  # the firmware's frame counter (in STATE) counts its own clock in 20 ms frames
HOST_SLACK_S = 0.1  # the host's own delays between a reply and its next write, on a loaded machine


def ping(link: Link, seq: int, timeout_s: float = 2.0) -> p.State | None:
    """PING with sequence number ``seq`` behind a 0x00 (ends whatever junk came before); the STATE
    reply or None."""
    link.send_raw(b"\x00" + p.encode_frame(p.Ping(seq=seq)))
    return wait_for_state(link, seq, time.monotonic() + timeout_s)


def wait_for_state(link: Link, seq: int, deadline: float) -> p.State | None:
    """The STATE carrying ``seq`` if it arrives before ``deadline`` (monotonic s), else None; other
    replies go to ``link.stray``."""
    while time.monotonic() < deadline:
        for msg in link.dec.feed(link.ser.read(max(1, link.ser.in_waiting))):
            if msg.seq == seq and isinstance(msg, p.State):
                return msg
            link.stray.append(msg)
    return None


def send_stream_then_ping(link: Link, stream: bytes, seq: int, before: p.State) -> p.State:
    """Write ``stream`` and, right behind it, a PING (behind a 0x00); assert that its STATE comes
    within PROMPT_S of the stream's last byte, and return it. ``before`` is the last STATE received
    before the stream. The time is measured on the firmware's own clock (frame counter, 20 ms): on a
    loaded machine the emulator may run behind the wall clock while a long stream goes through
    (TIMING dropped_ms), and the host may be slow to read; the wall clock only bounds the wait."""
    wire_s = len(stream) * WIRE_S_PER_BYTE
    link.send_raw(stream)
    link.send_raw(b"\x00" + p.encode_frame(p.Ping(seq=seq)))
    st = wait_for_state(link, seq, time.monotonic() + 3 * wire_s + 5.0)
    assert st is not None, f"no reply to the PING after {len(stream)} bytes"
    took_s = (st.frame - before.frame) * FRAME_S
    assert took_s <= wire_s + PROMPT_S + HOST_SLACK_S + FRAME_S, (
        f"the PING after {len(stream)} bytes ({wire_s * 1e3:.0f} ms on the wire) was answered after "
        f"{took_s * 1e3:.0f} ms of firmware time"
    )
    return st


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
    feeds the UART only as fast as it takes bytes, holding the writer back, and loses none; the
    firmware decodes every one of them (no reply to send, so it keeps up) and answers the next PING."""
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
    after = ping(link, 1)
    assert after is not None
    assert after.bad_crc == 500 and after.rx_overflow == 0  # every frame decoded, none dropped
    link.close()
    emu.stop()
    sent = len(burst) + len(b"\x00" + p.encode_frame(p.Ping(seq=1)))
    assert emu.link["in"] == sent, emu.link  # every byte written reached the simulated UART
    assert "overrun" not in emu.stderr_tail(50)  # and the UART's own FIFO never overflowed
    assert emu.link["resets"] == 0
    assert write_s > 0.2  # the writer was held back to the wire rate (60 kB is 3x the kernel buffer)


def test_a_continuous_stream_of_requests_for_over_a_second_does_not_reset_the_firmware(emu, link):
    """20000 PINGs back to back (120 kB, 1.3 s of wire time), written without reading the replies: the
    firmware answers what it can and drops the rest (rx_overflow), but never starves the AVR hardware
    watchdog (1 s) into a reset, and the PING right behind the stream is answered at once."""
    link.ser.write_timeout = 30.0
    before = ping(link, 1)
    stream = p.encode_frame(p.Ping(seq=200)) * 20000
    after = send_stream_then_ping(link, stream, seq=2, before=before)
    assert before.frame + 50 < after.frame < before.frame + 50 * 60  # the frame counter ran on: no reset
    assert before.rx_ok + 100 < after.rx_ok < before.rx_ok + 5000  # most were dropped unread (rx_overflow)
    emu.stop()
    assert emu.link["resets"] == 0


def test_replies_a_client_does_not_read_are_dropped_in_whole_frames(emu, link):
    """A client that writes a long stream of requests without reading overflows the pty bridge's
    output (about 30 kB of replies wait in the kernel and the bridge): the bridge drops whole replies,
    so once the client reads again, the reply to its next request arrives whole. (Before, it kept the
    head of the reply it was storing when it filled and glued the next reply to it: lost.)"""
    link.ser.write_timeout = 30.0
    link.send_raw(p.encode_frame(p.Ping(seq=200)) * 20000)
    quiet_until = time.monotonic() + 0.3
    while time.monotonic() < quiet_until:  # read every reply waiting, until the link is quiet
        if link.dec.feed(link.ser.read(max(1, link.ser.in_waiting))):
            quiet_until = time.monotonic() + 0.3
    for seq in (2, 3):
        t0 = time.monotonic()
        assert ping(link, seq, timeout_s=PROMPT_S) is not None, f"no reply to PING {seq}"
        assert time.monotonic() - t0 < PROMPT_S
    emu.stop()
    assert emu.link["dropped"] > 0  # the bridge did drop replies


def test_a_burst_of_valid_requests_is_answered_up_to_the_newest_at_once(link):
    """Issue 9, item 6: 25 PINGs in one write (150 bytes), and right behind them another PING. The
    firmware cannot send 26 STATEs (46 bytes each) in the time 26 PINGs (6 bytes) take to arrive; it
    drops requests a newer one has superseded, unread (rx_overflow), and answers the newest at once.
    (Before, its ring buffer overflowed, cut the last PINGs and glued the remnant to the next PING:
    the next two requests went unanswered, the watchdog tripped, and the link was deaf for 2 s.)"""
    info = link.hello()
    enabled = link.state(p.Enable(pose_100urad=tuple(j.home_100urad for j in info.joints)))
    assert enabled.enabled
    burst = b"".join(p.encode_frame(p.Ping(seq=128 + i)) for i in range(25))
    st = send_stream_then_ping(link, burst, seq=1, before=enabled)
    assert st.enabled and not st.watchdog_tripped and st.bad_crc == st.bad_frame == 0
    assert st.rx_overflow % 6 == 0 and st.rx_overflow > 0  # whole PINGs, dropped unread
    for _ in range(3):  # and the link goes on as before
        last, st = st, link.state()
        assert (st.frame - last.frame) * FRAME_S <= PROMPT_S and st.enabled and not st.watchdog_tripped
    assert info.n_joints == len(st.setpoints_100urad)


def test_a_flood_of_pings_gets_replies_at_a_good_part_of_the_wire_rate(link):
    """2000 PINGs back to back (12 kB, 132 ms at simavr's 11 us a byte), read as they come: replies
    (46 bytes, 0.5 ms each) keep coming for the whole flood, to the newest PINGs, and the PING after
    the flood is answered. The firmware is CPU-bound here (the receive interrupt alone takes about
    45 % of it at this byte rate), so replies fill about 40 % of the wire; the bound is 15 %."""
    link.ser.write_timeout = 10.0
    before = ping(link, 1)
    flood = b"".join(p.encode_frame(p.Ping(seq=128 + i % 128)) for i in range(2000))
    send_stream_then_ping(link, flood, seq=2, before=before)
    replies = [m for m in link.stray if isinstance(m, p.State)]
    link.stray.clear()
    flood_s = len(flood) * WIRE_S_PER_BYTE
    reply_s = 46 * WIRE_S_PER_BYTE
    assert len(replies) > 0.15 * flood_s / reply_s, len(replies)
    assert replies[-1].seq in {128 + i % 128 for i in range(1980, 2000)}  # to the newest, to the end


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
    kind = rng.randrange(9)
    if kind == 7:  # a burst of valid requests back to back: more than the replies can keep up with
        return b"".join(p.encode_frame(_request(rng)) for _ in range(rng.randint(2, 60))), True
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


def test_seeded_fuzz_of_random_streams_then_the_next_request_is_answered_at_once(link):
    """40 random streams (long runs without 0x00, noise, corrupted, truncated, oversize and valid
    frames, bursts of valid requests, in one write each); after each, the very next PING is answered
    within PROMPT_S of the stream's wire time (no retry: before the fix, a stream ending in a burst of
    requests overran the firmware and cost the next request or two), and the firmware has not reset."""
    link.ser.write_timeout = 20.0
    rng = random.Random(20240609)
    first = last = ping(link, 1)
    assert first is not None
    total = bursts = 0
    for round_ in range(40):
        pieces = [_piece(rng) for _ in range(rng.randint(1, 12))]
        stream = b"".join(b for b, _ in pieces)
        total += len(stream)
        bursts += any(b.count(0) > 1 and a for b, a in pieces)
        seq = CHECK_SEQS[(2 + 3 * round_) % len(CHECK_SEQS)]
        st = send_stream_then_ping(link, stream, seq, before=last)
        assert st.frame >= last.frame  # the firmware did not reset
        last = st
    assert total > 30_000 and bursts > 5
    assert last.bad_frame + last.bad_crc + last.bad_msg > first.bad_frame + first.bad_crc + first.bad_msg + 40
