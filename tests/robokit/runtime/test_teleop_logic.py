"""Teleoperation's decisions, unit-tested on FakeArms (test doubles: no physics, an ideal servo). The same
paths against virtual servo buses are in tests/firmware_bridge/feetech/test_teleop.py."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robokit.runtime.bringup import slew_to
from robokit.runtime.fake_arm import FakeArm
from robokit.runtime.teleop import Teleop, TeleopStopped, TeleopTooSlow, safety_at

ROBOT = "so101"


def test_slew_to_never_moves_a_joint_faster_than_asked():
    """Found by attack: an arm already enabled jumped to the start pose at the servos' top speed."""
    arm = FakeArm(ROBOT, enabled=True)
    pose = np.asarray(arm.spec.home_q) + np.array([1.2, -0.5, 0.3, 0.0, -1.0, 0.0])
    off = slew_to(arm, pose, hz=50.0, speed_rad_s=1.0)
    steps = np.abs(np.diff([np.asarray(arm.spec.home_q), *arm.commands], axis=0))
    assert steps.max() <= 1.0 / 50.0 + 1e-9  # rad per tick at 50 Hz
    assert off <= 0.003 and np.allclose(arm.commands[-1], pose)


def test_safety_keeps_the_joints_top_speed_at_any_rate():
    from robokit.core.kinematics import Kinematics
    from robokit.robots import get_robot

    robot = get_robot(ROBOT)
    kin = Kinematics(robot)
    try:
        at = {hz: safety_at(robot, hz, kin).settings.max_target_step * hz for hz in (10.0, 25.0, 200.0)}
    finally:
        kin.close()
    assert at[10.0] == pytest.approx(at[25.0]) == pytest.approx(at[200.0])  # rad/s
    assert at[25.0] == pytest.approx(robot.max_target_step * robot.control_hz)


def test_a_follower_that_no_longer_follows_stops_the_episode():
    """Found by attack: a follower holding after failed reads was recorded as if it followed."""
    leader, follower = FakeArm(ROBOT), FakeArm(ROBOT, enabled=True)
    follower.on_read[5] = lambda arm: arm.release()
    teleop = Teleop(leader, follower, leader.spec, 50.0)
    try:
        with pytest.raises(TeleopStopped, match="follower: it no longer follows targets"):
            teleop.run(1.0)
    finally:
        teleop.close()
    assert len(follower.commands) == 5


def test_a_rate_that_cannot_be_held_stops_as_soon_as_the_episode_cannot_pass():
    """Found by attack: --fps 200 ran a 10 s episode for 21 s before saying it was too slow."""
    leader, follower = FakeArm(ROBOT), FakeArm(ROBOT, enabled=True)
    slow = follower.read

    def read_slowly():
        time.sleep(0.05)  # each tick takes 2.5 periods at 50 Hz
        return slow()

    follower.read = read_slowly
    teleop = Teleop(leader, follower, leader.spec, 50.0)
    t0 = time.monotonic()
    try:
        with pytest.raises(TeleopTooSlow, match="of the first .* ticks started more than one period late"):
            teleop.run(10.0)
    finally:
        teleop.close()
    assert time.monotonic() - t0 < 2.0  # not the episode's 10 s (and far from the 25 s it would take)
