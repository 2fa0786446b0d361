"""Sim-real parity: the same actions on SimArm(servo_arm) and on the emulated firmware give the same
joint angles frame by frame (sim joints vs angles from measured pulse widths)."""

import time

import numpy as np

from robokit.core.control import Controller
from robokit.core.kinematics import Kinematics
from robokit.core.safety import Safety, SafetySettings
from robokit.core.units import SERVO_FRAME_S
from robokit.envs.sim_arm import SimArm
from robokit.firmware_bridge.hardware_arm import HardwareArm
from robokit.robots import get_robot

from .host_helpers import Emulator, needs_emulator, pulse_angles

TOL_RAD = np.deg2rad(2.0)


@needs_emulator
def test_same_actions_same_joint_angles_frame_by_frame():
    spec = get_robot("servo_arm")
    kin = Kinematics(spec)
    ctrl = Controller(spec, "ee_delta", kin)
    safety = Safety(SafetySettings.from_spec(spec), kin)
    actions = np.random.default_rng(4).uniform(-1, 1, (40, 3))
    applied = []  # (frame at which the firmware acknowledged, targets as sent in rad)
    with Emulator() as emu, HardwareArm(emu.port, spec) as arm:
        while arm.read().frame < 25:  # let the emulator settle into real-time pacing
            time.sleep(0.02)
        enabled = arm.enable()
        for a in actions:
            t0 = time.monotonic()
            state = arm.read()
            q_target = safety.apply(ctrl.targets(a, state.q), state.q)
            arm.command(q_target)
            ack = arm.wait_ack()
            assert ack is not None
            applied.append((ack.frame, np.round(q_target / 1e-4) * 1e-4))
            time.sleep(max(0.0, 0.04 - (time.monotonic() - t0)))
        last = applied[-1][0] + 30
        pulses = {f: emu.pulses.wait_for(f, timeout_s=3.0) for f in range(enabled.frame + 1, last)}
        info = arm.info

    # replay in the simulator: each target from the frame after the one that acknowledged it
    with SimArm(spec) as sim:
        q_sim, q_phys, frames = [], [], []
        targets = iter(applied)
        nxt = next(targets)
        for f in range(enabled.frame + 1, last):
            while nxt is not None and nxt[0] < f:
                sim.command(nxt[1])
                nxt = next(targets, None)
            sim.advance(SERVO_FRAME_S)
            q_sim.append(sim.read().q)
            q_phys.append(sim.measured_q())
            frames.append(f)
    q_pulse = np.array([pulse_angles(pulses[f], info) for f in frames])
    q_sim, q_phys = np.array(q_sim), np.array(q_phys)
    assert np.ptp(q_pulse[:, :5], axis=0).max() > 0.3  # the arm really moved
    err_setpoint = np.abs(q_sim - q_pulse).max()
    err_physics = np.abs(q_phys - q_pulse).max()
    print(
        f"max |sim setpoint - pulse angle| {np.rad2deg(err_setpoint):.3f} deg, "
        f"|sim joints - pulse angle| {np.rad2deg(err_physics):.3f} deg over {len(frames)} frames"
    )
    assert err_setpoint < TOL_RAD
    assert err_physics < TOL_RAD
    kin.close()
