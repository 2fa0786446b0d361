"""The Feetech codec against byte vectors (docs/feetech_protocol.md, "Worked examples") and the STS3215
control table against the facts page."""

from __future__ import annotations

import pytest

from robokit.firmware_bridge.feetech import control_table as ct
from robokit.firmware_bridge.feetech import protocol as fp


def hx(text: str) -> bytes:
    return bytes.fromhex(text)


def test_ping_of_servo_1_and_its_reply_are_the_documented_bytes():
    assert fp.ping(1) == hx("FF FF 01 02 01 FB")
    assert fp.status(1, 0) == hx("FF FF 01 02 00 FC")
    assert fp.PacketDecoder().feed(hx("FF FF 01 02 00 FC")) == [fp.Packet(1, 0, b"")]


def test_a_read_of_model_number_and_present_position_and_their_replies():
    assert fp.read(1, 3, 2) == hx("FF FF 01 04 02 03 02 F3")
    assert fp.status(1, 0, (777).to_bytes(2, "little")) == hx("FF FF 01 04 00 09 03 EE")
    assert fp.read(1, 56, 2) == hx("FF FF 01 04 02 38 02 BE")
    (reply,) = fp.PacketDecoder().feed(hx("FF FF 01 04 00 00 08 F2"))
    assert ct.register("Present_Position").decode(reply.params) == 2048


def test_a_sync_read_of_six_positions_is_14_bytes():
    packet = fp.sync_read(56, 2, range(1, 7))
    assert packet == hx("FF FF FE 0A 82 38 02 01 02 03 04 05 06 26")
    assert len(packet) == 14


def test_a_sync_write_of_six_goals_is_26_bytes():
    data = {i: (2048 + i).to_bytes(2, "little") for i in range(1, 7)}
    packet = fp.sync_write(42, 2, data)
    assert packet == hx("FF FF FE 16 83 2A 02 01 01 08 02 02 08 03 03 08 04 04 08 05 05 08 06 06 08 E2")
    assert len(packet) == 26
    with pytest.raises(fp.FeetechProtocolError, match="servo 3: 1 bytes"):
        fp.sync_write(42, 2, {3: b"\x01"})


def test_writes_of_torque_enable_128_and_lock_0():
    assert fp.write(1, 40, bytes([128])) == hx("FF FF 01 04 03 28 80 4F")
    assert fp.write(1, 55, bytes([0])) == hx("FF FF 01 04 03 37 00 C0")


def test_a_status_with_error_bits_decodes_to_their_names():
    (packet,) = fp.PacketDecoder().feed(hx("FF FF 03 02 21 D9"))
    assert packet.servo_id == 3 and packet.error == 0x21
    assert fp.error_names(packet.error) == ["input voltage out of range", "overload"]
    assert fp.error_names(0) == []
    assert fp.error_names(0x40) == ["bit 6"]


def test_a_corrupted_checksum_is_rejected_and_the_next_packet_still_decodes():
    dec = fp.PacketDecoder()
    assert dec.feed(hx("FF FF 01 02 00 FD")) == []  # checksum off by one
    assert dec.bad_checksum == 1 and dec.rejected_ids == [1]
    assert dec.feed(hx("FF FF 02 02 00 FB")) == [fp.Packet(2, 0, b"")]


def test_garbage_a_third_ff_and_a_packet_split_across_reads_are_handled():
    dec = fp.PacketDecoder()
    assert dec.feed(hx("00 13 FF FF FF 01 04 00")) == []  # garbage, then a header with a third FF
    assert dec.feed(hx("00 08")) == []  # still incomplete
    assert dec.feed(hx("F2 77")) == [fp.Packet(1, 0, hx("00 08"))]
    assert dec.skipped == 4  # 00 13, the extra FF, and the 77 after the packet (no header follows)


def test_drain_gives_up_a_packet_whose_length_byte_was_corrupted():
    dec = fp.PacketDecoder()
    good = fp.status(2, 0, hx("00 08"))
    assert dec.feed(hx("FF FF 01 40 00 00 08 F2") + good) == []  # a length of 0x40 swallows the next one
    assert dec.drain() == [fp.Packet(2, 0, hx("00 08"))]


def test_an_id_above_broadcast_and_too_many_params_are_refused():
    with pytest.raises(fp.FeetechProtocolError, match="servo id 255"):
        fp.ping(255)
    with pytest.raises(fp.FeetechProtocolError, match="exceed"):
        fp.write(1, 0, bytes(250))


@pytest.mark.parametrize(
    ("name", "value", "wire"),
    [
        ("Homing_Offset", 2047, "FF 07"),
        ("Homing_Offset", -2047, "FF 0F"),
        ("Homing_Offset", 100, "64 00"),
        ("Homing_Offset", -1, "01 08"),
        ("Present_Load", -300, "2C 05"),
        ("Present_Velocity", -50, "32 80"),
        ("Goal_Velocity", 1000, "E8 03"),
    ],
)
def test_sign_magnitude_fields_round_trip(name, value, wire):
    reg = ct.register(name)
    assert reg.encode(value) == hx(wire)
    assert reg.decode(hx(wire)) == value


def test_homing_offset_beyond_2047_is_refused_not_wrapped():
    reg = ct.register("Homing_Offset")
    assert reg.value_range == (-2047, 2047)
    for bad in (2048, -2048, 4000):
        with pytest.raises(fp.FeetechProtocolError, match="Homing_Offset"):
            reg.encode(bad)
    with pytest.raises(fp.FeetechProtocolError, match="sign bit 11"):
        fp.encode_sign_magnitude(2048, 11)
    assert fp.decode_sign_magnitude(0x0800, 11) == 0  # "minus zero" reads as 0


def test_the_control_table_has_the_facts_addresses_sizes_and_areas():
    expected = {
        "Firmware_Major_Version": (0, 1),
        "Firmware_Minor_Version": (1, 1),
        "Model_Number": (3, 2),
        "ID": (5, 1),
        "Baud_Rate": (6, 1),
        "Return_Delay_Time": (7, 1),
        "Min_Position_Limit": (9, 2),
        "Max_Position_Limit": (11, 2),
        "Max_Torque_Limit": (16, 2),
        "Homing_Offset": (31, 2),
        "Operating_Mode": (33, 1),
        "Overload_Torque": (36, 1),
        "Torque_Enable": (40, 1),
        "Goal_Position": (42, 2),
        "Goal_Velocity": (46, 2),
        "Lock": (55, 1),
        "Present_Position": (56, 2),
        "Present_Velocity": (58, 2),
        "Present_Load": (60, 2),
        "Present_Voltage": (62, 1),
        "Present_Temperature": (63, 1),
        "Status": (65, 1),
        "Moving": (66, 1),
        "Present_Current": (69, 2),
    }
    for name, where in expected.items():
        reg = ct.register(name)
        assert (reg.address, reg.size) == where, name
    assert ct.register("Homing_Offset").area == "eeprom" and ct.register("Lock").area == "ram"
    assert ct.register("Model_Number").default == ct.STS3215_MODEL_NUMBER == 777
    table = ct.factory_table()
    assert table[3:5] == hx("09 03") and table[7] == 250 and table[55] == 1
    spans = sorted((r.address, r.address + r.size) for r in ct.STS3215)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "registers overlap"
    with pytest.raises(KeyError, match="no STS3215 register 'Goal'"):
        ct.register("Goal")
