"""FeetechArm (the SO-101 driver) against the virtual STS3215 bus over a real pseudo-terminal: the zero
convention, a move seen by the PyBullet plant, and one test per fault kind (issue 13): dropped and
corrupted status packets retried and counted while the loop goes on, a servo that stops answering named
and the arm held, an overload backed off instead of latched (and a latched one reported), low voltage
refusing enable with a message about the power supply, the wrist_roll encoder seam. The kinematic plant
stands in for physics where only the bus matters (it moves joints at the servo's speed)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from robokit.core.arm import ArmDisconnected, ArmMode, ArmRefused
from robokit.firmware_bridge.feetech.arm import FAILS_TO_HOLD, FeetechArm, counts_to_q, q_to_counts
from robokit.firmware_bridge.feetech.plant import KinematicPlant
from robokit.firmware_bridge.feetech.virtual_bus import VirtualBus
from robokit.robots import get_robot
from robokit.runtime.bringup import bring_up

SPEC = get_robot("so101")
HOME_COUNTS = q_to_counts(np.asarray(SPEC.home_q), np.ones(6)).astype(float)


@pytest.fixture
def rig() -> Iterator[tuple[VirtualBus, FeetechArm]]:
    vbus = VirtualBus(range(1, 7), KinematicPlant(6, HOME_COUNTS), return_delay=0)
    with vbus as port:
        arm = FeetechArm(port, "so101", timeout_s=0.01)
        try:
            yield vbus, arm
        finally:
            arm.close()


def test_counts_and_angles_follow_the_zero_convention():
    """2048 counts is q = 0; a turn is 4096 counts; drive_mode 1 reverses the sign."""
    sign = np.array([1.0, -1.0])
    assert np.allclose(counts_to_q(np.array([2048, 2048 + 1024]), sign), [0.0, -np.pi / 2])
    assert q_to_counts(np.array([np.pi / 2, np.pi / 2]), sign).tolist() == [3072, 1024]
    q = np.array([0.3, -1.2])
    assert np.allclose(counts_to_q(q_to_counts(q, sign), sign), q, atol=2 * np.pi / 4096)


def test_the_arm_follows_a_target_on_the_pybullet_plant_and_feels_gravity():
    from robokit.firmware_bridge.feetech.bullet_plant import BulletPlant

    plant = BulletPlant(SPEC)
    with VirtualBus(range(1, 7), plant, return_delay=0) as port, FeetechArm(port, "so101") as arm:
        bring_up(arm)
        target = np.asarray(SPEC.home_q, dtype=float) + np.array([0.5, 0.2, 0, 0, 0, 0])
        for _ in range(40):
            arm.command(target)
            time.sleep(0.02)
        state = arm.read()
        assert np.max(np.abs(state.q - target)) < 0.01  # measured positions, 0.0015 rad per count
        assert np.max(np.abs(plant.q() - target)) < 0.01
        assert abs(state.extra["load"][1]) > 0.02  # the shoulder holds the arm up against gravity
    plant.close()


def test_dropped_and_corrupted_status_packets_are_retried_and_counted_and_the_loop_goes_on(rig):
    vbus, arm = rig
    bring_up(arm)
    vbus.drop_rate, vbus.corrupt_rate = 0.05, 0.05
    for _ in range(100):
        state = arm.read()
        arm.command(state.q)
    counts = arm.bus.counters
    assert sum(c.timeouts for c in counts.values()) > 0 and sum(c.corrupt for c in counts.values()) > 0
    assert sum(c.retries for c in counts.values()) > 0
    assert arm.status().mode is ArmMode.ENABLED and arm.stats["reads"] >= 100


def test_a_servo_that_stops_answering_is_named_and_the_arm_holds_until_cleared(rig):
    vbus, arm = rig
    bring_up(arm)
    vbus.servo(4).silent = True
    first = arm.read()
    assert first.extra.get("stale") and first.mode is ArmMode.ENABLED  # one failed read: the loop goes on
    for _ in range(FAILS_TO_HOLD - 1):
        state = arm.read()
    assert state.mode is ArmMode.HOLDING and "bus" in state.faults
    assert "servo 4, wrist_flex, does not answer at 1000000 baud" in state.held_by
    with pytest.raises(ArmRefused, match="servo 4, wrist_flex"):
        arm.enable()
    vbus.servo(4).silent = False
    assert arm.clear().mode is ArmMode.RELEASED
    assert bring_up(arm).state.mode is ArmMode.ENABLED


def test_connecting_to_a_bus_with_a_silent_servo_names_it():
    vbus = VirtualBus(range(1, 7), KinematicPlant(6, HOME_COUNTS), return_delay=0)
    with vbus as port:
        vbus.servo(6).silent = True
        with pytest.raises(ArmDisconnected, match="servo 6, gripper, does not answer at 1000000 baud"):
            FeetechArm(port, "so101", timeout_s=0.01)


def test_a_stalled_gripper_backs_off_instead_of_latching_its_overload(rig):
    """A jaw closing on something it cannot pass pushes at full load; without backing off, the servo's
    overload protection latches its torque off after Protection_Time (2 s at the factory settings)."""
    vbus, arm = rig
    bring_up(arm)
    vbus.plant.stalled.add(5)  # the gripper (index 5) meets a cube it cannot squeeze through
    squeeze = arm.read().q.copy()
    squeeze[5] = SPEC.lower[5]
    end = time.monotonic() + 2.6
    while time.monotonic() < end:
        arm.read()
        arm.command(squeeze)
        time.sleep(0.02)
    assert not vbus.servo(6).overload_latched
    assert arm.stats["back_offs"] > 0 and arm.status().mode is ArmMode.ENABLED


def test_a_latched_overload_is_reported_with_the_servo_and_holds_the_arm(rig):
    vbus, arm = rig
    bring_up(arm)
    servo = vbus.servo(6)
    with vbus.lock:
        servo.overload_latched = True
        servo.set("Torque_Enable", 0)
    time.sleep(0.02)
    state = arm.read()
    assert state.mode is ArmMode.HOLDING
    assert "servo 6, gripper, overloaded" in state.held_by and "power-cycle" in state.held_by


def test_low_voltage_refuses_enable_with_a_message_about_the_power_supply(rig):
    vbus, arm = rig
    vbus.servo(2).set_voltage(6.8)  # a 7.4 V-servo supply on the 12 V arm
    with pytest.raises(ArmRefused, match=r"servo 2, shoulder_lift, reports 6.8 V.*power supply"):
        arm.enable()
    assert arm.status().mode is ArmMode.RELEASED  # nothing enabled
    vbus.servo(2).set_voltage(3.5)  # below the servo's own Min_Voltage_Limit: its voltage bit
    with pytest.raises(ArmRefused, match="power supply"):
        arm.enable()


def test_a_joint_crossing_the_encoder_seam_reads_continuously(rig):
    """Present_Position wraps at 4096; a wrist_roll turned past the seam (a limp joint turned by hand)
    reads 4100, not 4: its angle does not jump by a turn."""
    vbus, arm = rig
    plant = vbus.plant
    with vbus.lock:
        plant.counts[4] = 4090.0
    before = _read_until(arm, lambda q: q[4] > 3.0)[4]
    with vbus.lock:
        plant.counts[4] = 4100.0  # past the seam: Present_Position reads 4
    after = _read_until(arm, lambda q: abs(q[4] - before) > 1e-6)[4]
    assert after - before == pytest.approx(10 * 2 * np.pi / 4096, abs=1e-9)


def _read_until(arm: FeetechArm, done, timeout_s: float = 2.0) -> np.ndarray:
    """q once ``done(q)`` holds (the bus thread shows a plant change at its next step), or the last q."""
    end = time.monotonic() + timeout_s
    q = arm.read().q
    while not done(q) and time.monotonic() < end:
        time.sleep(0.01)
        q = arm.read().q
    return q


def test_only_a_joint_stalled_against_something_backs_off_not_one_accelerating():
    """Found by attack: a gripper accelerating toward its goal loaded its servo past LOAD_BACK_OFF, was set
    back where it stood tick after tick, and trailed its target by a whole Safety step for seconds."""
    arm = FeetechArm("/dev/null", "so101", connect=False)
    arm._counts = np.full(6, 2048.0)
    arm._load = np.array([0.9, 0.9, 0.9, -0.9, 0.3, 0.9])
    arm._velocity = np.array([0.0, 800.0, 0.0, 0.0, 0.0, 0.0])  # counts/s: joint 2 moves
    goals = np.array([2100, 2100, 2000, 1990, 2100, 2048])  # joint 3 asked back, joint 4 pushed the other way
    assert arm._pushing(goals).tolist() == [True, False, False, True, False, False]
