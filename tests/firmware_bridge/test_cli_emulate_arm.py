"""`robokit emulate` and `robokit arm` from the command line, against the real firmware in simavr."""

import json
import signal
import subprocess
import sys
import time

import pytest

from robokit.cli import main
from robokit.firmware_bridge.hardware_arm import ArmMismatch, HardwareArm

from .host_helpers import Emulator, needs_emulator

pytestmark = needs_emulator


def test_robokit_emulate_prints_a_port_that_answers_hello():
    proc = subprocess.Popen(
        [sys.executable, "-m", "robokit.cli", "emulate"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        port = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("PORT "):
                port = line.split()[1]
                break
        assert port and port.startswith("/dev/pts/")
        with HardwareArm(port, "servo_arm") as arm:
            assert arm.info.n_joints == 6 and arm.read().released
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_robokit_arm_commands_and_calibration_file(tmp_path, capsys):
    cal = tmp_path / "cal.json"
    with Emulator() as emu:
        assert main(["arm", "status", "--port", emu.port]) == 0
        assert "released" in capsys.readouterr().out
        assert main(["arm", "home", "--port", emu.port]) == 0
        assert main(["arm", "estop", "--port", emu.port]) == 0
        assert main(["arm", "enable", "--port", emu.port]) == 1  # refused while the e-stop is latched
        assert "ESTOP_LATCHED" in capsys.readouterr().err
        assert main(["arm", "clear", "--port", emu.port]) == 0
        args = ["--joint", "elbow", "--zero-us", "1520", "--out", str(cal)]
        assert main(["arm", "calibrate", "--port", emu.port, *args]) == 0
        data = json.loads(cal.read_text())
        assert data["joints"]["elbow"]["pulse_zero_us"] == 1520.0
        assert data["joints"]["shoulder"]["pulse_zero_us"] == 1500.0
        with HardwareArm(emu.port, "servo_arm", calibration=cal) as arm:  # matches: accepted
            assert arm.info.joints[2].pulse_zero_ticks == 3040
        data["joints"]["elbow"]["pulse_zero_ticks"] = 3000
        cal.write_text(json.dumps(data))
        with pytest.raises(ArmMismatch, match="elbow: firmware calibration"):
            HardwareArm(emu.port, "servo_arm", calibration=cal)
