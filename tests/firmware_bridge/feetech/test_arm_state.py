"""`robokit arm status|release|estop --robot so101` on the virtual bus: what each servo reports, the
EEPROM checked against a calibration file, and torque off."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robokit.cli.arm import main
from robokit.firmware_bridge.feetech.arm import FeetechArm
from robokit.firmware_bridge.feetech.calibration import read_calibration
from robokit.firmware_bridge.feetech.virtual_arm import VirtualArm
from robokit.runtime.bringup import bring_up

DATA = Path(__file__).parent / "data"


def _rows(out: str) -> dict[str, list[str]]:
    """The status table: joint name -> its columns."""
    lines = out.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("joint"))
    return {line.split()[0]: line.split()[1:] for line in lines[start + 1 : start + 7]}


def test_status_prints_each_servo_as_it_stands_and_changes_nothing(capsys):
    virtual = VirtualArm("so101", return_delay=0)
    with virtual as port:
        with FeetechArm(port, "so101") as arm:  # torque on, at home
            bring_up(arm)
            q = arm.read().q
        assert main(["status", "--robot", "so101", "--port", port]) == 0
        out = capsys.readouterr().out
        assert "torque on" in out and "supply 12.0 V" in out and "mode enabled" in out
        rows = _rows(out)
        assert list(rows) == list(arm.spec.joint_names)
        got = np.array([float(r[3]) for r in rows.values()])  # q_rad
        assert np.max(np.abs(got - q)) < 0.01 and [r[0] for r in rows.values()] == [
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
        ]
        assert all(s.get("Torque_Enable") == 1 for s in virtual.bus.servos)  # status switched nothing


@pytest.mark.parametrize("action", ["release", "estop"])
def test_release_and_estop_switch_every_servos_torque_off(action, capsys):
    virtual = VirtualArm("so101", return_delay=0)
    with virtual as port:
        with FeetechArm(port, "so101") as arm:
            bring_up(arm)
        assert all(s.get("Torque_Enable") == 1 for s in virtual.bus.servos)
        assert main([action, "--robot", "so101", "--port", port]) == 0
        assert all(s.get("Torque_Enable") == 0 for s in virtual.bus.servos)
    out = capsys.readouterr().out
    assert "torque off on every servo" in out
    assert ("no e-stop latch" in out) == (action == "estop")


def test_status_checks_the_eeprom_against_a_calibration_file(capsys):
    fixture = DATA / "lerobot_so101_follower.json"
    cal = read_calibration(fixture, "so101")
    virtual = VirtualArm("so101", return_delay=0)
    with virtual as port:
        assert main(["status", "--robot", "so101", "--port", port, "--calibration", str(fixture)]) == 2
        err = capsys.readouterr().err
        assert (
            "the arm's EEPROM differs from the calibration: servo 1, shoulder_pan Homing_Offset is 0" in err
        )
        assert err.count("\n") == 1
        for servo, joint in zip(virtual.bus.servos, cal.joints.values()):  # the arm it was written for
            for reg, value in (("Homing_Offset", joint.homing_offset), ("Min_Position_Limit", joint.range_min),
                               ("Max_Position_Limit", joint.range_max)):  # fmt: skip
                servo.set(reg, value)
        assert main(["status", "--robot", "so101", "--port", port, "--calibration", str(fixture)]) == 0
        out = capsys.readouterr().out
        assert f"calibration: the EEPROM matches {fixture}" in out
        offsets = [int(r[2]) for r in _rows(out).values()]
        assert offsets == [j.homing_offset for j in cal.joints.values()]
