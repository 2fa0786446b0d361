"""`robokit emulate` and `robokit arm` from the command line, against the real firmware in simavr."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from robokit.cli import arm as cli_arm
from robokit.cli import main
from robokit.firmware_bridge import fixedpoint as fx
from robokit.firmware_bridge import protocol as pr
from robokit.firmware_bridge.hardware_arm import ArmMismatch, HardwareArm
from robokit.robots import get_robot

from .host_helpers import Emulator, needs_emulator, scripted_policy_file

pytestmark = needs_emulator

SPEC = get_robot("servo_arm")
ELBOW = SPEC.joint_names.index("elbow")


def _steady_pulse_us(emu: Emulator, joint: int, want_us: float, timeout_s: float = 3.0) -> float:
    """Wait until the measured pulse of ``joint`` is ``want_us`` (+-1 us, the servo may still be
    slewing there) and return it; fails with the last width seen."""
    deadline = time.monotonic() + timeout_s
    while True:
        pf = emu.pulses.latest()
        if pf is not None and abs(pf.widths_us[joint] - want_us) <= 1.0:
            return pf.widths_us[joint]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"joint {joint}: pulse {pf and pf.widths_us[joint]} us, expected {want_us} us"
            )
        time.sleep(0.02)


def test_robokit_emulate_prints_a_port_that_answers_hello():
    proc = subprocess.Popen(
        [sys.executable, "-m", "robokit.cli", "emulate"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl-C as from a terminal, even under a runner started in the background (which ignores SIGINT)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
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
        # leave the arm away from home; the closed link then trips the watchdog (hold)
        home = np.asarray(SPEC.home_q)
        away = home + np.array([0.5, -0.4, -0.6, 0.3, 0.2, 0.5])
        with HardwareArm(emu.port, "servo_arm") as arm:
            arm.enable()
            deadline = time.monotonic() + 3.0
            while np.max(np.abs(arm.read().q - away)) > 1e-4 and time.monotonic() < deadline:
                arm.command(away)
                time.sleep(0.05)
        time.sleep(0.7)
        assert main(["arm", "home", "--port", emu.port]) == 0
        assert "clearing the tripped watchdog" in capsys.readouterr().err
        with HardwareArm(emu.port, "servo_arm") as arm:
            np.testing.assert_allclose(arm.read().q, home, atol=1e-4)  # reported setpoints
            time.sleep(0.1)
            widths = emu.pulses.latest().widths_us  # measured pulses: the home pose's
            want = [fx.pulse_us(q, j) for q, j in zip(fx.rad_to_100urad(home), arm.info.joints)]
            np.testing.assert_allclose(widths, want, atol=1.0)
        assert main(["arm", "estop", "--port", emu.port]) == 0
        assert main(["arm", "enable", "--port", emu.port]) == 1  # refused while the e-stop is latched
        assert "not enabled; state: e-stop latched" in capsys.readouterr().err
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


def test_arm_calibrate_interactive_survives_a_pause_and_bad_input(tmp_path, capsys):
    """Scripted answers: Enter for every joint but the elbow; for the elbow an invalid answer, then
    1540 us typed after a pause longer than the watchdog timeout, then Enter. The watchdog is set to
    release, so a trip during the pause would stop the pulses."""
    cal = tmp_path / "cal.json"
    with Emulator() as emu:
        elbow_prompts: list[str] = []
        pause_widths: list[float] = []

        def answer(prompt: str) -> str:
            if not prompt.startswith("elbow"):
                return ""
            elbow_prompts.append(prompt)
            if len(elbow_prompts) == 1:  # elbow held at 0 rad with the default calibration
                _steady_pulse_us(emu, ELBOW, 1500.0)
                return "fifteen forty"
            if len(elbow_prompts) == 2:
                first = emu.pulses.latest().frame
                time.sleep(0.8)  # the user thinks; the firmware's watchdog is 500 ms
                last = emu.pulses.latest().frame
                pause_widths.extend(emu.pulses.wait_for(f).widths_us[ELBOW] for f in range(first, last + 1))
                return " 1540 "
            _steady_pulse_us(emu, ELBOW, 1540.0)  # the new zero, tried live
            return ""

        args = ["--port", emu.port, "--interactive", "--watchdog-action", "release", "--out", str(cal)]
        assert cli_arm.main(["calibrate", *args], input_fn=answer) == 0
        out = capsys.readouterr().out
        assert "'fifteen forty' is not a pulse width" in out
        assert len(elbow_prompts) == 3 and "1540.0 us" in elbow_prompts[2]
        # pulses all through the pause: the watchdog (release) never tripped
        assert len(pause_widths) >= 35 and max(abs(w - 1500.0) for w in pause_widths) <= 1.0

        data = json.loads(cal.read_text())
        assert data["watchdog_action"] == "release"
        assert data["joints"]["elbow"]["pulse_zero_ticks"] == 3080
        assert data["joints"]["elbow"]["pulse_zero_us"] == 1540.0
        assert {data["joints"][n]["pulse_zero_us"] for n in SPEC.joint_names if n != "elbow"} == {1500.0}

        time.sleep(0.7)  # the CLI has closed the link: the watchdog trips and releases the arm
        with HardwareArm(emu.port, "servo_arm", calibration=cal) as arm:  # HELLO: matches the file
            info = arm.info
            assert info.flags & 1 and info.watchdog_action == pr.WATCHDOG_RELEASE
            assert info.joints[ELBOW].pulse_zero_ticks == 3080
            assert arm.read().released
            arm.clear()
            # the measured pulse follows the new calibration: 0 rad -> 1540 us, and 0.5 rad -> 40 us
            # more than the default calibration gives
            q = np.asarray(SPEC.home_q)
            q[ELBOW] = 0.5
            arm.enable(q)
            default = fx.default_joint_configs(SPEC)[ELBOW]
            q_100urad = fx.rad_to_100urad([0.5])[0]
            want_us = fx.pulse_us(q_100urad, info.joints[ELBOW])
            assert want_us == fx.pulse_us(q_100urad, default) + 40.0
            assert _steady_pulse_us(emu, ELBOW, want_us) == pytest.approx(want_us, abs=0.5)


def test_arm_calibrate_interactive_abort_changes_nothing(tmp_path, capsys):
    cal = tmp_path / "cal.json"
    with Emulator() as emu:

        def ctrl_c(prompt: str) -> str:
            raise KeyboardInterrupt

        args = ["--port", emu.port, "--interactive", "--out", str(cal)]
        assert cli_arm.main(["calibrate", *args], input_fn=ctrl_c) == 1
        assert "calibration aborted" in capsys.readouterr().err
        with HardwareArm(emu.port, "servo_arm") as arm:
            assert not arm.info.flags & 1  # no CONFIG sent: still the compiled-in defaults
            arm.release()  # the abort left the arm holding at home

        answers = iter(["1600"])  # try a new base_yaw zero, then Ctrl-D

        def then_eof(prompt: str) -> str:
            answer = next(answers, None)
            if answer is None:
                raise EOFError
            return answer

        assert cli_arm.main(["calibrate", *args], input_fn=then_eof) == 1
        assert "restored the previous calibration" in capsys.readouterr().err
        assert not cal.exists()
        with HardwareArm(emu.port, "servo_arm") as arm:
            assert arm.read().released
            assert [j.pulse_zero_ticks for j in arm.info.joints] == [3000] * 6


def _slew(arm: HardwareArm, q: np.ndarray, timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while np.max(np.abs(arm.read().q - q)) > 1e-4 and time.monotonic() < deadline:
        arm.command(q)
        time.sleep(0.05)


def test_arm_messages_say_what_the_firmware_state_really_is(tmp_path, capsys):
    """After a run that ended holding, `arm status` says holding, `arm clear` says enabled (not
    "stays released"), and `arm enable` on an enabled arm sends nothing: the pulses stay where they
    were instead of snapping home. Every message is checked against STATE and the measured pulses."""
    cal = str(tmp_path / "cal.json")
    with Emulator() as emu:
        port = ["--port", emu.port]
        assert main(["arm", "calibrate", *port, "--watchdog-ms", "1000", "--out", cal]) == 0
        away = np.asarray(SPEC.home_q) + np.array([0.5, -0.4, -0.6, 0.3, 0.2, 0.5])
        with HardwareArm(emu.port, "servo_arm") as arm:  # a deploy that ended with --on-exit hold
            arm.enable()
            _slew(arm, away)
            away_us = [fx.pulse_us(q, j) for q, j in zip(fx.rad_to_100urad(away), arm.info.joints)]
        time.sleep(1.3)  # the host is silent: the watchdog trips and holds
        capsys.readouterr()
        assert main(["arm", "status", *port]) == 0
        assert (
            "state: holding: the watchdog tripped (the host was silent for 1000 ms)"
            in capsys.readouterr().out
        )
        assert main(["arm", "clear", *port]) == 0
        out = capsys.readouterr().out
        assert "cleared; state: enabled: pulses on, holding still" in out and "released" not in out
        assert main(["arm", "enable", *port]) == 0
        out = capsys.readouterr().out
        assert "already enabled; nothing sent" in out and "state: enabled: pulses on" in out
        time.sleep(0.1)
        np.testing.assert_allclose(emu.pulses.latest().widths_us, away_us, atol=1.0)  # no jump home
        assert main(["arm", "release", *port]) == 0
        assert "released; state: released: no pulses" in capsys.readouterr().out
        time.sleep(0.1)
        assert emu.pulses.latest().widths_us == (0.0,) * 6
        assert main(["arm", "clear", *port]) == 0
        assert "cleared; state: released: no pulses" in capsys.readouterr().out
        assert main(["arm", "estop", *port]) == 0
        assert "E-STOP sent; state: e-stop latched" in capsys.readouterr().out
        assert main(["arm", "status", *port]) == 0
        assert "state: e-stop latched" in capsys.readouterr().out
        assert main(["arm", "home", *port]) == 1
        assert "not moved; state: e-stop latched" in capsys.readouterr().err
        assert main(["arm", "clear", *port]) == 0
        # a watchdog set to release: a silent host leaves the arm released by it, and status says so
        assert main(["arm", "calibrate", *port, "--watchdog-action", "release", "--out", cal]) == 0
        with HardwareArm(emu.port, "servo_arm") as arm:
            arm.enable()
        time.sleep(1.3)
        capsys.readouterr()
        assert main(["arm", "status", *port]) == 0
        want = "state: released: no pulses; the watchdog tripped (the host was silent for 1000 ms) and released the arm"
        assert want in capsys.readouterr().out
        assert emu.pulses.latest().widths_us == (0.0,) * 6


def test_calibrate_values_that_make_no_sense_leave_the_firmware_untouched(tmp_path, capsys):
    """The issue's cases on the real firmware: --zero-us 99999 (a struct.error before), --us-per-rad 0
    (written to EEPROM before: the servo never moved), --watchdog-ms 0 and 10, an unwritable --out
    (EEPROM rewritten before, then the file write failed). Each: exit 2, one line, no CONFIG."""
    with Emulator() as emu:
        cal = str(tmp_path / "cal.json")
        bad = [
            ["--zero-us", "99999", "--out", cal],
            ["--us-per-rad", "0", "--out", cal],
            ["--watchdog-ms", "0", "--out", cal],
            ["--watchdog-ms", "10", "--out", cal],
            ["--zero-us", "1520", "--out", str(tmp_path / "missing" / "cal.json")],
        ]
        for extra in bad:
            assert main(["arm", "calibrate", "--port", emu.port, *extra]) == 2
            err = capsys.readouterr().err
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert not (tmp_path / "cal.json").exists()
        with HardwareArm(emu.port, "servo_arm") as arm:
            assert not arm.info.flags & 1  # no CONFIG since boot: the compiled-in defaults
            assert arm.info.joints == fx.default_joint_configs(SPEC)
            assert arm.info.watchdog_timeout_ms == fx.DEFAULT_WATCHDOG_TIMEOUT_MS


def test_a_firmware_whose_watchdog_cannot_work_is_refused_and_arm_calibrate_repairs_it(tmp_path, capsys):
    """A watchdog of 110 ms (in the firmware's range, as an older robokit could write it) is shorter than
    3 control periods at 25 Hz: every deploy would stop at its first late tick. HardwareArm refuses it
    on connect (deploy then exits 2 before moving); `robokit arm` still connects, warns, and repairs."""
    from robokit.firmware_bridge.hardware_arm import ArmConfigInvalid

    cal = str(tmp_path / "cal.json")
    with Emulator() as emu:
        with HardwareArm(emu.port, "servo_arm") as arm:
            arm.configure(arm.info.joints, 110, pr.WATCHDOG_HOLD, check=False)
        with pytest.raises(ArmConfigInvalid, match=r"shorter than 3 control periods at 25 Hz \(120 ms\)"):
            HardwareArm(emu.port, "servo_arm")
        policy = scripted_policy_file(tmp_path)
        deploy = [
            "deploy",
            str(policy),
            "--port",
            emu.port,
            "--goal",
            "0.20,0.05,0.15",
            "--log",
            str(tmp_path / "log"),
        ]
        assert main(deploy) == 2  # refused before the arm moves, not aborted at tick 0
        assert "shorter than 3 control periods" in capsys.readouterr().err
        with HardwareArm(emu.port, "servo_arm", control_period_s=0.02) as arm:  # 50 Hz: 100 ms suffice
            assert arm.info.watchdog_timeout_ms == 110
            assert arm.read().released  # deploy never enabled it
        assert main(["arm", "status", "--port", emu.port]) == 0
        assert "warning: firmware watchdog timeout 110 ms is shorter" in capsys.readouterr().err
        # a calibration that keeps the firmware's watchdog is refused as a whole, nothing sent
        assert main(["arm", "calibrate", "--port", emu.port, "--zero-us", "1510", "--out", cal]) == 2
        assert "give the setting on the command line" in capsys.readouterr().err
        assert main(["arm", "calibrate", "--port", emu.port, "--watchdog-ms", "500", "--out", cal]) == 0
        with HardwareArm(emu.port, "servo_arm") as arm:
            assert arm.info.watchdog_timeout_ms == 500 and arm.info.joints[ELBOW].pulse_zero_ticks == 3000
