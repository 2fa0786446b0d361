"""A client robokit did not write talks to the virtual bus: Feetech's own Python SDK (PyPI
``feetech-servo-sdk``, import ``scservo_sdk``, what LeRobot uses) pings every id (its ping also reads the
model number at address 3), reads the firmware version as LeRobot's handshake does, sync-reads the
positions, writes a goal and sees the joint move."""

from __future__ import annotations

import os
import time

import pytest

from robokit.firmware_bridge.feetech.virtual_bus import VirtualBus

if os.environ.get("CI"):  # CI installs the test extra: a missing client fails there instead of skipping
    import scservo_sdk as scs
else:
    scs = pytest.importorskip("scservo_sdk", reason="pip install feetech-servo-sdk (in the test extra)")

IDS = [1, 2, 3, 4, 5, 6]
PRESENT_POSITION, GOAL_POSITION, TORQUE_ENABLE = 56, 42, 40


def sync_read_positions(group) -> dict[int, int]:
    assert group.txRxPacket() == scs.COMM_SUCCESS
    return {i: group.getData(i, PRESENT_POSITION, 2) for i in IDS}


def test_feetech_servo_sdk_pings_reads_sync_reads_and_moves_a_joint():
    with VirtualBus(IDS) as port:  # factory Return_Delay_Time (500 us), as a new servo
        port_handler = scs.PortHandler(port)
        packets = scs.PacketHandler(0)
        assert port_handler.openPort() and port_handler.setBaudRate(1_000_000)
        try:
            for i in IDS:
                assert packets.ping(port_handler, i) == (777, scs.COMM_SUCCESS, 0)
            assert packets.read1ByteTxRx(port_handler, 1, 0)[:2] == (3, scs.COMM_SUCCESS)
            assert packets.read1ByteTxRx(port_handler, 1, 1)[:2] == (10, scs.COMM_SUCCESS)

            group = scs.GroupSyncRead(port_handler, packets, PRESENT_POSITION, 2)
            for i in IDS:
                assert group.addParam(i)
            assert sync_read_positions(group) == dict.fromkeys(IDS, 2048)

            assert packets.write1ByteTxRx(port_handler, 3, TORQUE_ENABLE, 1) == (scs.COMM_SUCCESS, 0)
            assert packets.write2ByteTxRx(port_handler, 3, GOAL_POSITION, 2600) == (scs.COMM_SUCCESS, 0)
            writer = scs.GroupSyncWrite(port_handler, packets, GOAL_POSITION, 2)
            assert packets.write1ByteTxRx(port_handler, 5, TORQUE_ENABLE, 1) == (scs.COMM_SUCCESS, 0)
            writer.addParam(5, [scs.SCS_LOBYTE(1700), scs.SCS_HIBYTE(1700)])
            assert writer.txPacket() == scs.COMM_SUCCESS

            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                positions = sync_read_positions(group)
                if positions[3] == 2600 and positions[5] == 1700:
                    break
                time.sleep(0.02)
            assert positions == {1: 2048, 2: 2048, 3: 2600, 4: 2048, 5: 1700, 6: 2048}
        finally:
            port_handler.closePort()
