"""One contract, every Arm: SimArm (servo arm and Panda), the realtime SimArm `deploy --dry-run` drives,
the FakeArm (a test double for unit tests of logic, checked here to behave as the real ones do),
HardwareArm against the real firmware in simavr over a real pty (skipped without the toolchain), and
FeetechArm (the SO-101) against the virtual STS3215 bus over a real pty with a PyBullet SO-101 behind it."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robokit.core.arm import Arm, ArmMode, ArmRefused, ArmStatus
from robokit.firmware_bridge.emulator import Emulator, missing_tools
from robokit.runtime.bringup import ArmNotReady, bring_up
from robokit.runtime.fake_arm import FakeArm

needs_emulator = pytest.mark.skipif(
    missing_tools() is not None, reason=f"emulator toolchain: {missing_tools()}"
)
KINDS = [
    "sim",
    "sim_panda",
    "realtime_sim",
    "fake",
    pytest.param("hardware", marks=needs_emulator),
    "feetech",
]


def _make(kind: str, stack: list):
    """A connected arm of ``kind``; anything to close afterwards goes on ``stack``."""
    from robokit.robots import get_robot

    if kind in ("sim", "sim_panda"):
        from robokit.envs.sim_arm import SimArm

        return SimArm(get_robot("panda" if kind == "sim_panda" else "servo_arm"))
    if kind == "realtime_sim":
        from robokit.envs.sim_arm import RealtimeSimArm

        return RealtimeSimArm(get_robot("servo_arm"))
    if kind == "fake":
        return FakeArm("servo_arm")
    if kind == "feetech":  # the SO-101 driver on the virtual STS3215 bus, a PyBullet SO-101 behind it
        import contextlib

        from robokit.firmware_bridge.feetech.arm import FeetechArm
        from robokit.firmware_bridge.feetech.bullet_plant import BulletPlant
        from robokit.firmware_bridge.feetech.virtual_bus import VirtualBus

        plant = BulletPlant(get_robot("so101"))
        stack.append(contextlib.closing(plant))
        vbus = VirtualBus(range(1, 7), plant, return_delay=0)
        stack.append(vbus)
        return FeetechArm(vbus.__enter__(), "so101")
    from robokit.firmware_bridge.hardware_arm import HardwareArm

    emu = Emulator()
    stack.append(emu)
    emu.__enter__()
    return HardwareArm(emu.port, "servo_arm")


@pytest.fixture(params=KINDS)
def arm(request):
    stack: list = []
    a = _make(request.param, stack)
    try:
        yield a
    finally:
        a.close()
        for thing in reversed(stack):
            thing.__exit__(None, None, None)


def _wait(arm, seconds: float) -> None:
    """Let ``seconds`` pass for the arm: simulated time for a SimArm, wall time (reading, which keeps a
    firmware's watchdog fed) for the others."""
    from robokit.envs.sim_arm import RealtimeSimArm, SimArm

    if isinstance(arm, SimArm) and not isinstance(arm, RealtimeSimArm):
        arm.advance(seconds)
        return
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        arm.read()
        time.sleep(0.02)


def _drive(arm, q: np.ndarray, seconds: float) -> None:
    """Command ``q`` every 40 ms for ``seconds``."""
    for _ in range(max(1, round(seconds / 0.04))):
        arm.command(q)
        _wait(arm, 0.04)


def _away(arm, delta_rad: float = 0.3) -> np.ndarray:
    """The home pose with the first joint moved by ``delta_rad`` (inside its limits)."""
    q = np.asarray(arm.spec.home_q, dtype=np.float64).copy()
    q[0] = q[0] + delta_rad if q[0] + delta_rad < arm.spec.upper[0] else q[0] - delta_rad
    return q


def test_every_arm_implements_the_contract(arm):
    assert isinstance(arm, Arm)
    state = arm.read()
    assert state.q.shape == (arm.spec.n_joints,) and np.all(np.isfinite(state.q))
    status = arm.status()
    assert isinstance(status, ArmStatus)
    assert status.q_is_measured == arm.q_is_measured == state.q_is_measured
    assert status.calibration in ("calibrated", "uncalibrated", "not applicable")


def test_bring_up_makes_the_arm_follow_targets_and_a_second_one_sends_nothing(arm):
    ready = bring_up(arm)
    assert ready.state.mode is ArmMode.ENABLED and arm.status().follows_targets
    assert bring_up(arm).steps == ()  # already enabled: nothing sent, nothing moved
    target = _away(arm)
    _drive(arm, target, 1.5)
    assert np.max(np.abs(arm.read().q - target)) < 0.02


def test_hold_stops_the_arm_where_it_is(arm):
    bring_up(arm)
    arm.command(_away(arm, 0.6))
    _wait(arm, 0.1)  # on its way (the fake is there already)
    held = arm.hold().q
    _wait(arm, 0.5)
    assert np.max(np.abs(arm.read().q - held)) < 0.01
    assert arm.status().mode is ArmMode.ENABLED


def test_released_arm_ignores_targets(arm):
    bring_up(arm)
    before = arm.release().q
    assert arm.status().mode is ArmMode.RELEASED and arm.read().released
    _drive(arm, _away(arm), 0.3)
    assert np.max(np.abs(arm.read().q - before)) < 0.01


def test_estop_latches_until_cleared_and_bring_up_refuses_it(arm):
    bring_up(arm)
    state = arm.estop()
    assert state.estop_latched and arm.status().mode is ArmMode.ESTOP and "estop" in arm.status().faults
    with pytest.raises(ArmRefused):
        arm.enable()
    with pytest.raises(ArmNotReady, match="e-stop"):
        bring_up(arm)
    cleared = arm.clear()
    assert not cleared.estop_latched and cleared.mode is ArmMode.RELEASED and arm.status().faults == ()
    assert bring_up(arm).state.mode is ArmMode.ENABLED


def test_a_bad_target_is_refused_and_nothing_moves(arm):
    bring_up(arm)
    before = arm.read().q
    bad = np.asarray(arm.spec.home_q, dtype=np.float64).copy()
    bad[0] = np.nan
    with pytest.raises(ValueError):
        arm.command(bad)
    with pytest.raises(ValueError):
        arm.command(bad[:-1])
    _wait(arm, 0.1)
    assert np.max(np.abs(arm.read().q - before)) < 1e-3


def test_context_manager_closes_and_close_is_idempotent(arm):
    with arm as entered:
        assert entered is arm
        assert arm.read().q.shape == (arm.spec.n_joints,)
    arm.close()  # a second close is harmless


def test_sim_arm_refuses_a_target_outside_the_joint_limits():
    """SimArm took q[0] = 3.0 on the servo arm (limit pi/2) and then reported it as read (the attack on
    issue 10); HardwareArm and FakeArm refused it. Now all refuse it, nothing applied."""
    from robokit.envs.sim_arm import SimArm
    from robokit.robots import get_robot

    spec = get_robot("servo_arm")
    arm = SimArm(spec)
    try:
        before = arm.read().q.copy()
        bad = np.asarray(spec.home_q, dtype=float)
        bad[0] = spec.upper[0] + 1.0
        with pytest.raises(ValueError, match="outside the joint limits"):
            arm.command(bad)
        arm.advance(0.1)
        assert np.allclose(arm.read().q, before, atol=1e-3)
    finally:
        arm.close()


def test_a_closed_arm_refuses_reads_and_targets_with_arm_disconnected(arm):
    """Use after close is the same on every arm: ArmDisconnected (the servo SimArm used to answer as if
    nothing happened, the Panda SimArm raised pybullet.error)."""
    from robokit.core.arm import ArmDisconnected

    q = np.asarray(arm.read().q, dtype=np.float64)
    arm.close()
    with pytest.raises(ArmDisconnected):
        arm.read()
    with pytest.raises(ArmDisconnected):
        arm.command(q)
