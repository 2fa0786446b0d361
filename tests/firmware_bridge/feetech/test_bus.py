"""robokit's FeetechBus against the virtual STS3215 bus over a real pseudo-terminal: the operations, the
servo behaviour a real bus shows (Lock, Homing_Offset, Torque_Enable 128, limits, the seam, wire time),
and each fault kind as data (drops, corruption, a silent servo, error bits, the overload latch)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
import serial

from robokit.firmware_bridge.feetech import protocol as fp
from robokit.firmware_bridge.feetech.bus import FeetechBus, ServoNotAnswering
from robokit.firmware_bridge.feetech.virtual_bus import VirtualBus

IDS = [1, 2, 3, 4, 5, 6]


@pytest.fixture
def vbus() -> Iterator[VirtualBus]:
    vb = VirtualBus(IDS, return_delay=0)
    with vb:
        yield vb


@pytest.fixture
def bus(vbus: VirtualBus) -> Iterator[FeetechBus]:
    assert vbus.port is not None
    with FeetechBus(vbus.port, timeout_s=0.01, retries=2) as b:
        yield b


def move_by_hand(vbus: VirtualBus, joint: int, counts: float) -> None:
    """Set a plant joint between the bus thread's steps (a step rebinds the plant's array)."""
    with vbus.lock:
        vbus.plant.counts[joint] = counts


def wait_until(condition: Callable[[], bool], timeout_s: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_every_servo_answers_a_ping_and_reports_model_777_and_its_firmware(bus):
    assert [bus.ping(i) for i in IDS] == [0] * 6
    assert {bus.read(i, "Model_Number") for i in IDS} == {777}
    assert (bus.read(1, "Firmware_Major_Version"), bus.read(1, "Firmware_Minor_Version")) == (3, 10)
    assert bus.read_bytes(2, 0, 6) == bytes([3, 10, 0, 0x09, 0x03, 2])  # a READ of any range, id at 5
    assert all(c.timeouts == c.corrupt == c.retries == 0 for c in bus.counters.values())


def test_a_sync_read_returns_every_position_and_a_goal_moves_the_joint(bus, vbus):
    assert bus.sync_read("Present_Position", IDS) == dict.fromkeys(IDS, 2048)
    bus.write(3, "Torque_Enable", 1)
    bus.write(3, "Goal_Position", 2300)
    assert wait_until(lambda: bus.read(3, "Present_Position") == 2300)
    bus.sync_write("Torque_Enable", dict.fromkeys(IDS, 1))
    bus.sync_write("Goal_Position", {1: 1800, 6: 2600})
    assert wait_until(lambda: bus.sync_read("Present_Position", [1, 6]) == {1: 1800, 6: 2600})
    assert bus.sync_read("Present_Position", IDS)[2] == 2048  # the others hold


def test_a_broadcast_write_reaches_every_servo_and_gets_no_reply(bus, vbus):
    replies = vbus.stats["replies"]
    bus.write(fp.BROADCAST_ID, "Torque_Enable", 1)
    assert wait_until(lambda: all(s.torque_enabled for s in vbus.servos))
    assert vbus.stats["replies"] == replies


def test_sync_read_replies_come_in_the_order_of_the_request(vbus):
    with serial.Serial(vbus.port, 1_000_000, timeout=0.2) as raw:
        raw.write(fp.sync_read(56, 2, [3, 1, 2]))
        data = raw.read(3 * 8)
    packets = fp.PacketDecoder().feed(data)
    assert [p.servo_id for p in packets] == [3, 1, 2]


def test_dropped_status_packets_are_retried_and_counted_per_servo(vbus):
    vbus.drop_rate = 0.2
    with FeetechBus(vbus.port, timeout_s=0.02, retries=8) as bus:
        for _ in range(30):
            assert bus.sync_read("Present_Position", IDS) == dict.fromkeys(IDS, 2048)
        timeouts = sum(c.timeouts for c in bus.counters.values())
        assert timeouts >= vbus.stats["dropped"] > 0  # (a reply later than the timeout also counts)
        assert all(c.retries == c.timeouts + c.corrupt for c in bus.counters.values())
        assert all(c.requests == 30 and c.failures == 0 for c in bus.counters.values())


def test_corrupted_status_packets_are_rejected_and_retried(vbus):
    vbus.corrupt_rate = 0.3
    with FeetechBus(vbus.port, timeout_s=0.02, retries=8) as bus:
        for _ in range(20):
            assert bus.read(2, "Model_Number") == 777
        c = bus.counters[2]
        assert c.corrupt >= 1 and c.corrupt + c.timeouts >= vbus.stats["corrupted"]
        assert c.retries == c.corrupt + c.timeouts


def test_a_status_packet_that_is_always_corrupt_fails_naming_the_servo(bus, vbus):
    vbus.corrupt_rate = 1.0
    with pytest.raises(
        ServoNotAnswering, match=r"^servo 5 does not answer at 1000000 baud \(3 tries: "
    ) as exc:
        bus.ping(5)
    assert exc.value.servo_ids == (5,) and bus.counters[5].failures == 1
    vbus.corrupt_rate = 0.0
    assert bus.ping(5) == 0  # faults are data: the bus goes on


def test_a_silent_servo_is_named_and_the_others_still_answer(bus, vbus):
    vbus.servo(4).silent = True
    with pytest.raises(ServoNotAnswering) as exc:
        bus.sync_read("Present_Position", IDS)
    assert str(exc.value) == "servo 4 does not answer at 1000000 baud (3 tries: 3 timeouts)"
    assert (exc.value.servo_id, exc.value.baud, exc.value.tries) == (4, 1_000_000, 3)
    assert (
        bus.counters[4].retries == 2 and bus.counters[1].retries == 0
    )  # only the silent one was asked again
    vbus.servo(5).silent = True
    with pytest.raises(
        ServoNotAnswering, match=r"^servos 4 and 5 do not answer at 1000000 baud \(3 tries each\)$"
    ):
        bus.sync_read("Present_Position", IDS)
    assert bus.sync_read("Present_Position", [1, 2, 3, 6]) == dict.fromkeys([1, 2, 3, 6], 2048)


def test_a_low_voltage_bit_is_reported_as_data_not_raised(bus, vbus):
    vbus.servo(4).set_voltage(3.5)  # below Min_Voltage_Limit (4.0 V)
    assert bus.ping(4) == fp.ErrorBit.VOLTAGE
    assert bus.sync_read("Present_Voltage", IDS)[4] == 35
    assert bus.last_error[4] == 1 and bus.last_error[3] == 0
    assert bus.counters[4].errors == 2 and bus.counters[3].errors == 0


def test_a_stall_trips_the_overload_latch_until_a_power_cycle(bus, vbus):
    bus.write(6, "Protection_Time", 10)  # 100 ms instead of 2 s
    vbus.plant.stalled.add(5)  # servo 6's joint cannot move
    bus.write(6, "Torque_Enable", 1)
    bus.write(6, "Goal_Position", 2500)
    assert wait_until(lambda: bus.read(6, "Torque_Enable") == 0)
    assert bus.last_error[6] & fp.ErrorBit.OVERLOAD
    assert fp.error_names(bus.read(6, "Status")) == ["overload"]
    bus.write(6, "Torque_Enable", 1)  # latched: ignored
    assert bus.read(6, "Torque_Enable") == 0
    vbus.plant.stalled.clear()
    vbus.power_cycle()
    assert bus.ping(6) == 0 and bus.read(6, "Protection_Time") == 200  # written with Lock 1: not kept


def test_eeprom_writes_are_kept_over_a_power_cycle_only_with_lock_0(bus, vbus):
    bus.write(2, "Max_Position_Limit", 3000)
    assert bus.read(2, "Max_Position_Limit") == 3000  # in effect at once
    vbus.power_cycle()
    assert bus.read(2, "Max_Position_Limit") == 4095
    bus.write(2, "Lock", 0)
    bus.write(2, "Max_Position_Limit", 3000)
    bus.write(2, "Lock", 1)
    vbus.power_cycle()
    assert bus.read(2, "Max_Position_Limit") == 3000
    bus.write(2, "Torque_Enable", 1)
    bus.write(2, "Goal_Position", 3500)  # beyond the limit: clamped
    assert bus.read(2, "Goal_Position") == 3000
    assert wait_until(lambda: bus.read(2, "Present_Position") == 3000)


def test_torque_enable_128_makes_the_present_pose_read_2048(bus, vbus):
    move_by_hand(vbus, 0, 3000)  # servo 1 moved by hand while limp
    assert wait_until(lambda: bus.read(1, "Present_Position") == 3000)
    bus.write(1, "Torque_Enable", 128)
    assert bus.read(1, "Present_Position") == 2048
    assert bus.read(1, "Homing_Offset") == 952
    assert bus.read(1, "Torque_Enable") == 0
    bus.write(1, "Torque_Enable", 1)
    bus.write(1, "Goal_Position", 2148)  # goals are in the offset frame too
    assert wait_until(lambda: round(vbus.plant.counts[0]) == 3100)
    bus.write(1, "Torque_Enable", 0)
    move_by_hand(vbus, 0, 1000)  # Present_Position = raw - offset, mod 4096
    assert wait_until(lambda: bus.read(1, "Present_Position") == (1000 - 952) % 4096)


def test_a_homing_offset_overflow_is_refused_before_anything_is_sent(bus, vbus):
    requests = vbus.stats["requests"]
    with pytest.raises(fp.FeetechProtocolError, match=r"Homing_Offset 2100 is outside -2047..2047"):
        bus.write(1, "Homing_Offset", 2100)
    with pytest.raises(fp.FeetechProtocolError, match="read-only"):
        bus.write(1, "Present_Position", 10)
    assert vbus.stats["requests"] == requests
    bus.write(1, "Homing_Offset", -2047)
    assert bus.read(1, "Homing_Offset") == -2047


def test_a_joint_never_crosses_the_encoder_seam_to_reach_a_goal(bus, vbus):
    vbus.plant.speed_counts_s = 20_000.0  # a quick test: the long way round is 3900 counts
    move_by_hand(vbus, 4, 4000)  # wrist_roll near the 0/4095 seam
    assert wait_until(lambda: bus.read(5, "Present_Position") == 4000)
    bus.write(5, "Torque_Enable", 1)
    bus.write(5, "Goal_Position", 100)  # 196 counts away across the seam
    assert wait_until(lambda: vbus.plant.counts[4] < 3500)  # it goes the long way round
    assert wait_until(lambda: bus.read(5, "Present_Position") == 100)


def test_a_late_reply_left_in_the_input_is_flushed_before_the_next_request(bus, vbus):
    os.write(vbus._fds[0], fp.status(3, 0, b"\x00\x01"))  # a stale answer for servo 3
    time.sleep(0.01)
    assert bus.read(3, "Present_Position") == 2048


def test_replies_are_not_written_before_the_wire_could_carry_them():
    with VirtualBus([1], return_delay=250) as port, FeetechBus(port, timeout_s=0.05) as bus:
        bus.ping(1)
        t = time.perf_counter()
        bus.ping(1)
        ping_s = time.perf_counter() - t
        t = time.perf_counter()
        bus.read(1, "Model_Number")
        read_s = time.perf_counter() - t
    assert ping_s >= (6 + 6) * 10e-6 + 500e-6  # request + reply bytes at 10 us, return delay 500 us
    assert read_s >= (8 + 8) * 10e-6 + 500e-6


def test_a_six_servo_sync_read_takes_at_least_its_wire_time_and_return_delays():
    with VirtualBus(IDS, return_delay=100) as port, FeetechBus(port, timeout_s=0.05) as bus:
        bus.sync_read("Present_Position", IDS)
        t = time.perf_counter()
        bus.sync_read("Present_Position", IDS)
        elapsed = time.perf_counter() - t
    assert elapsed >= (14 + 6 * 8) * 10e-6 + 6 * 200e-6


def test_requests_no_servo_can_serve_and_line_noise_leave_the_bus_answering(bus, vbus):
    """Found by attack: a READ of 255 bytes, a SYNC_READ of 250, a WRITE of id 255 killed the virtual bus's
    thread (nothing answered again); 4 bytes of noise with a long length byte (FF FF 01 FF) left it
    waiting for a 259-byte packet, deaf for most of a second."""
    assert bus.ser is not None
    for body in (bytes([1, 4, 2, 0, 255]), bytes([0xFE, 5, 0x82, 0, 250, 1]), bytes([1, 4, 3, 5, 255])):
        bus.ser.write(b"\xff\xff" + body + bytes([~sum(body) & 0xFF]))
    bus.ser.write(b"\xff\xff\x01\xff")
    time.sleep(0.05)
    start = time.monotonic()
    assert bus.ping(1) == 0 and time.monotonic() - start < 0.1
    assert vbus.stats["refused"] >= 2 and vbus.servo(1).servo_id == 1


def test_the_codec_refuses_what_is_not_a_byte_or_an_id_and_takes_numpy_integers():
    import numpy as np

    from robokit.firmware_bridge.feetech.control_table import register

    for bad in (lambda: fp.read(1, 300, 2), lambda: fp.read(1, 56, -1), lambda: fp.write(1, 256, b"\0"),
                lambda: fp.sync_read(56, 2, [255]), lambda: fp.sync_write(42, 2, {255: b"\0\0"}),
                lambda: fp.encode_sign_magnitude(5.5, 11)):  # fmt: skip
        with pytest.raises(fp.FeetechProtocolError):
            bad()
    assert register("Goal_Position").encode(np.int64(2048)) == b"\x00\x08"


def test_a_bus_whose_other_end_closed_is_a_lost_link_not_a_termios_error():
    """The emulator killed mid-run: the pty's flush (tcflush) raises termios.error (EIO); it must end the
    run as a lost link, named, like any other port failure."""
    from robokit.core.arm import ArmDisconnected

    vbus = VirtualBus(range(1, 7), return_delay=0)
    port = vbus.start()
    with FeetechBus(port) as bus:
        bus.ping(1)
        vbus.stop()  # closes the pty's master: the emulator is gone
        with pytest.raises(ArmDisconnected, match="lost"):
            for _ in range(3):
                bus.sync_read("Present_Position", range(1, 7))
