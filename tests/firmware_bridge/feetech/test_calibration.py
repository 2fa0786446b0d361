"""SO-101 calibration against the virtual bus (a PyBullet SO-101 whose encoders read anything at q = 0, as
a freshly assembled arm's do; a scripted hand moves the joints where a person would): offsets that fit,
directions measured, ranges across the seam, EEPROM written and locked, the file checked at connect; and a
LeRobot calibration file imported so the same physical pose gives the same joint angles."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from robokit.firmware_bridge.feetech.arm import CalibrationMismatch, FeetechArm
from robokit.firmware_bridge.feetech.bus import FeetechBus
from robokit.firmware_bridge.feetech.calibration import (
    CalibrationError,
    from_lerobot,
    homing_offset,
    read_calibration,
    write_calibration,
)
from robokit.firmware_bridge.feetech.control_table import RAD_PER_COUNT
from robokit.firmware_bridge.feetech.virtual_arm import VirtualArm
from robokit.robots import get_robot
from robokit.runtime.calibrate_bus import calibrate_bus_arm, eeprom_note

SPEC = get_robot("so101")
LOWER, UPPER = np.asarray(SPEC.lower), np.asarray(SPEC.upper)
DATA = Path(__file__).parent / "data"
ASSEMBLED = [1000.0, 3100.0, 2500.0, 600.0, 2047.0, 0.0]  # raw counts at q = 0 (the gripper's horn at 0)
SETTLE_S = 0.15  # the virtual servos show a held pose within a few 5 ms plant steps


class Hand:
    """A person at the arm: holds every joint (torque off) at ``pose`` and answers the calibration's
    prompts; ``zero_error`` is how far from the true zero pose they hold it (rad); ``sweep`` scales how
    far past the zero pose they move each joint toward its limits."""

    def __init__(self, virtual: VirtualArm, zero_error: np.ndarray | None = None, sweep: float = 1.0) -> None:
        self.plant, self.sweep = virtual.plant, sweep
        self.zero = np.zeros(6) if zero_error is None else np.asarray(zero_error, float)
        self.pose, self.t0, self.prompts = self.zero.copy(), None, []
        self.plant.hand = self._hold

    def _hold(self, t_s: float) -> dict[int, float]:
        if self.t0 is not None:  # the range step: each joint in turn, zero -> lower -> upper -> zero
            return dict(enumerate(self._sweep_pose(t_s - self.t0)))
        return dict(enumerate(self.pose))

    def _sweep_pose(self, t: float) -> np.ndarray:
        q = self.zero.copy()
        k, phase = int(t // 0.6), (t % 0.6) / 0.6
        if k < 6:
            lo, hi = self.zero[k] + (LOWER[k] - self.zero[k]) * self.sweep, UPPER[k] * self.sweep
            # dwelling at each end as a person does, so the 50 Hz sampling sees it
            path = np.interp(
                phase, [0, 0.2, 0.35, 0.6, 0.75, 1], [self.zero[k], lo, lo, hi, hi, self.zero[k]]
            )
            q[k] = path
        return q

    def ask(self, prompt: str) -> None:
        self.prompts.append(prompt)
        if prompt.startswith("Move every joint"):
            self.t0 = self.plant.t_s
            return
        self.pose = self.zero.copy()
        for k, name in enumerate(SPEC.joint_names):
            if prompt.startswith(f"Move {name} a little"):
                self.pose[k] += 0.25
        time.sleep(SETTLE_S)

    def done(self) -> bool:
        return self.t0 is not None and self.plant.t_s - self.t0 > 6 * 0.6 + 0.05


def _calibrate(assembled=ASSEMBLED, zero_error=None, sweep=1.0, reversed_joint=None):
    notes: list[str] = []
    with VirtualArm("so101", return_delay=0, encoder_at_zero=assembled) as port:
        virtual = _running()
        if reversed_joint is not None:  # that servo mounted the other way round: counts fall as q grows
            virtual.plant.sign[reversed_joint] = -1.0
        hand = Hand(virtual, zero_error, sweep)
        with FeetechBus(port) as bus:
            cal = calibrate_bus_arm(bus, "so101", hand.ask, hand.done, notes.append)
            eeprom = [bytes(s.eeprom) for s in virtual.bus.servos]
            locks = [s.get("Lock") for s in virtual.bus.servos]
    return cal, eeprom, locks, notes, hand


_CURRENT: list[VirtualArm] = []


def _running() -> VirtualArm:
    return _CURRENT[-1]


@pytest.fixture(autouse=True)
def _track(monkeypatch):
    """Lets _calibrate reach the VirtualArm its `with` started (start() returns only the port)."""
    real = VirtualArm.start

    def start(self):
        _CURRENT.append(self)
        return real(self)

    monkeypatch.setattr(VirtualArm, "start", start)
    yield
    _CURRENT.clear()


def test_homing_offset_fits_the_field_or_says_why():
    assert homing_offset(1000) == 1000 - 2048 and homing_offset(3100) == 3100 - 2048
    assert homing_offset(4095, 2048) == 2047 and homing_offset(1, 2048) == -2047
    with pytest.raises(CalibrationError, match="does not fit the servo's field"):
        homing_offset(0, 2048)  # -2048: the value calibrate never asks for (it reads that pose as 2047)


def _read_pose(eeprom, calibration, pose, reversed_joint=None) -> np.ndarray:
    """q read through FeetechArm(calibration) from servos holding ``eeprom`` after a power cycle, the
    plant held at ``pose``."""
    with VirtualArm("so101", return_delay=0, encoder_at_zero=ASSEMBLED) as port:
        virtual = _running()
        if reversed_joint is not None:
            virtual.plant.sign[reversed_joint] = -1.0
        for servo, kept in zip(virtual.bus.servos, eeprom):
            servo.eeprom[:] = kept
            servo.power_cycle()
        virtual.plant.hand = lambda t: dict(enumerate(pose))
        time.sleep(SETTLE_S)
        with FeetechArm(port, "so101", calibration=calibration) as arm:
            return arm.read().q


def test_calibration_on_an_assembled_arm_reads_true_angles_and_survives_a_power_cycle(tmp_path):
    cal, eeprom, locks, notes, hand = _calibrate()
    assert all(abs(j.homing_offset) <= 2047 for j in cal.joints.values())
    assert cal.joints["gripper"].zero_counts == 2047  # raw 0 at the zero pose: -2048 would not fit
    assert [j.drive_mode for j in cal.joints.values()] == [0] * 6 and not notes
    assert locks == [1] * 6  # the EEPROM is locked again
    path = write_calibration(tmp_path / "so101.json", cal)
    assert read_calibration(path, "so101") == cal
    pose = np.array([0.4, -0.6, 0.9, -0.3, 1.2, 0.5])
    q = _read_pose(eeprom, read_calibration(path, "so101"), pose)
    assert np.max(np.abs(q - pose)) <= 1.5 * RAD_PER_COUNT


def test_a_reversed_servo_and_a_range_across_the_seam_are_measured_not_guessed():
    # elbow_flex's servo mounted the other way round; the wrist_roll held 1.2 rad off its zero: its range
    # (-2.74..2.84 rad) would cross 0/4095
    cal, eeprom, _, notes, _ = _calibrate(zero_error=np.array([0, 0, 0, 0, 1.2, 0]), reversed_joint=2)
    assert cal.joints["elbow_flex"].drive_mode == 1 and any("elbow_flex counts fall" in n for n in notes)
    roll = cal.joints["wrist_roll"]
    assert roll.zero_counts != 2048 and 0 <= roll.range_min < roll.zero_counts < roll.range_max <= 4095
    assert any("wrist_roll's range crossed" in n for n in notes)
    span = (roll.range_max - roll.range_min) * RAD_PER_COUNT
    assert span == pytest.approx(UPPER[4] - LOWER[4], abs=0.02)
    pose = np.array([0.2, 0.3, -0.8, 0.4, -2.0, 0.1])  # wrist_roll near the end that used to wrap
    q = _read_pose(eeprom, cal, pose, reversed_joint=2)
    want = pose - np.array([0, 0, 0, 0, 1.2, 0])  # that wrist_roll zero is where the hand held it
    assert np.max(np.abs(q - want)) <= 1.5 * RAD_PER_COUNT


@pytest.mark.slow  # the default suite stays under 10 minutes; `pytest -m slow` runs it
def test_a_joint_turned_a_whole_turn_is_refused_with_the_reason():
    with pytest.raises(CalibrationError, match="wrist_roll turned .* a whole turn"):
        _calibrate(sweep=1.2)  # swept 20% past its limits: wrist_roll then covers more than 360 deg


def test_an_eeprom_that_differs_from_the_file_is_named_and_nothing_is_enabled(tmp_path):
    cal, eeprom, _, _, _ = _calibrate()
    path = write_calibration(tmp_path / "so101.json", cal)
    with VirtualArm("so101", return_delay=0, encoder_at_zero=ASSEMBLED) as port:
        virtual = _running()
        for servo, kept in zip(virtual.bus.servos, eeprom):
            servo.eeprom[:] = kept
            servo.power_cycle()
        virtual.bus.servo(3).set("Homing_Offset", cal.joints["elbow_flex"].homing_offset + 40)
        with pytest.raises(
            CalibrationMismatch, match=r"servo 3, elbow_flex Homing_Offset is .*nothing was enabled"
        ):
            FeetechArm(port, "so101", calibration=read_calibration(path, "so101"))
        assert all(s.get("Torque_Enable") == 0 for s in virtual.bus.servos)


def test_a_lerobot_calibration_imports_onto_the_same_joint_angles():
    """The fixture is what LeRobot writes for an arm assembled as ASSEMBLED_LEROBOT: each joint homed at the
    middle of its range (reading 2047), ranges recorded around it (wrist_roll: the full 0..4095)."""
    data = json.loads((DATA / "lerobot_so101_follower.json").read_text())
    cal = from_lerobot(data, "so101")
    raw_at_zero = np.array([j["homing_offset"] + 2047 for j in data.values()], dtype=float)
    pose = np.array([0.3, -0.5, 0.7, 0.2, -1.0, 0.6])
    with VirtualArm("so101", return_delay=0, encoder_at_zero=raw_at_zero) as port:
        virtual = _running()
        for servo, joint in zip(virtual.bus.servos, data.values()):  # what LeRobot left in EEPROM
            for reg, key in (("Homing_Offset", "homing_offset"), ("Min_Position_Limit", "range_min"),
                             ("Max_Position_Limit", "range_max")):  # fmt: skip
                servo.set(reg, joint[key])
        virtual.plant.hand = lambda t: dict(enumerate(pose))
        time.sleep(SETTLE_S)
        with FeetechArm(port, "so101", calibration=cal) as arm:
            q = arm.read().q
            counts = arm._counts
    assert np.max(np.abs(q[:5] - pose[:5])) <= 1.5 * RAD_PER_COUNT  # the arm joints: the same angles
    for k, joint in enumerate(list(data.values())[:5]):  # ... as LeRobot's own degrees read them
        lerobot_deg = (counts[k] - (joint["range_min"] + joint["range_max"]) / 2) * 360 / 4095
        assert np.radians(lerobot_deg) == pytest.approx(q[k], abs=0.002)
    grip = data["gripper"]
    assert cal.joints["gripper"].zero_counts == grip["range_min"]  # LeRobot's gripper 0 = robokit's closed


def test_a_joint_given_twice_is_refused_not_silently_the_last(tmp_path):
    text = (DATA / "lerobot_so101_follower.json").read_text()
    twice = text.replace('"gripper": {', '"elbow_flex": {"id": 3, "drive_mode": 0, "homing_offset": 0, '
                         '"range_min": 0, "range_max": 4095}, "gripper": {', 1)  # fmt: skip
    (tmp_path / "cal.json").write_text(twice)
    with pytest.raises(CalibrationError, match="'elbow_flex' appears twice"):
        read_calibration(tmp_path / "cal.json", "so101")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("elbow_flex"), "joint 'elbow_flex' is missing"),
        (lambda d: d.update(elbow=d["elbow_flex"]), "unknown joint 'elbow'"),
        (lambda d: d["wrist_flex"].update(homing_offset=2048), "homing_offset 2048 does not fit"),
        (lambda d: d["wrist_flex"].update(id=9), "wrist_flex.id is 9, but the robot folder wires"),
        (lambda d: d["gripper"].update(range_min=3000, range_max=2000), "want 0 <= range_min < range_max"),
        (lambda d: d["shoulder_pan"].update(drive_mode=2), "drive_mode must be 0 or 1"),
        (lambda d: d["shoulder_pan"].update(range_max="4095"), "shoulder_pan.range_max: want a whole number"),
    ],
)
def test_a_bad_calibration_file_is_one_line_naming_the_field(tmp_path, edit, message):
    data = json.loads((DATA / "lerobot_so101_follower.json").read_text())
    edit(data)
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match=message) as exc:
        read_calibration(path, "so101")
    assert "\n" not in str(exc.value) and str(path) in str(exc.value)


# --- robokit arm calibrate --robot so101 ------------------------------------------------------------------


def test_robokit_arm_calibrate_walks_the_user_through_and_writes_the_file(tmp_path, capsys):
    from robokit.cli.arm import main

    out = tmp_path / "so101.json"
    with VirtualArm("so101", return_delay=0, encoder_at_zero=ASSEMBLED) as port:
        hand = Hand(_running())

        def answer(prompt: str) -> str:  # the user at the keyboard, the hand at the arm
            if prompt == "":  # Enter that ends the range recording
                hand.ask("Move every joint")
                while not hand.done():
                    time.sleep(0.05)
            else:
                hand.ask(prompt)
            return ""

        code = main(["calibrate", "--robot", "so101", "--port", port, "--out", str(out)], input_fn=answer)
        eeprom = [bytes(s.eeprom) for s in _running().bus.servos]
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Hold the arm" in hand.prompts[0] and "torque goes off" in hand.prompts[0]
    assert "zero pose" in hand.prompts[1] and "Move gripper a little" in hand.prompts[7]
    assert all(p.rstrip().endswith("; then press Enter") for p in hand.prompts[:8])
    assert f"wrote {out}" in printed.out
    cal = read_calibration(out, "so101")
    q = _read_pose(eeprom, cal, np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]))
    assert np.max(np.abs(q - [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])) <= 1.5 * RAD_PER_COUNT


def test_robokit_arm_imports_a_lerobot_file_and_checks_the_eeprom_against_it(tmp_path, capsys):
    from robokit.cli.arm import main

    fixture = DATA / "lerobot_so101_follower.json"
    data = json.loads(fixture.read_text())
    raw_at_zero = [j["homing_offset"] + 2047 for j in data.values()]
    out = tmp_path / "so101.json"
    with VirtualArm("so101", return_delay=0, encoder_at_zero=raw_at_zero) as port:
        virtual = _running()
        argv = [
            "calibrate",
            "--robot",
            "so101",
            "--import-lerobot",
            str(fixture),
            "--port",
            port,
            "--out",
            str(out),
        ]
        assert (
            main(argv) == 2
        )  # the servos still hold factory values: refused (nothing written), named, no file
        assert "servo 1, shoulder_pan Homing_Offset is 0, the file says -1047" in capsys.readouterr().err
        assert not out.exists()
        for servo, joint in zip(virtual.bus.servos, data.values()):
            servo.set("Homing_Offset", joint["homing_offset"])
            servo.set("Min_Position_Limit", joint["range_min"])
            servo.set("Max_Position_Limit", joint["range_max"])
        assert main(argv) == 0, capsys.readouterr().err
        out.write_text("an earlier calibration")
        assert main(argv) == 0  # again: the earlier file is kept beside it, not lost
        assert (tmp_path / "so101.json.previous").read_text() == "an earlier calibration"
        same = ["calibrate", "--robot", "so101", "--import-lerobot", str(fixture), "--out", str(fixture)]
        before = fixture.read_bytes()
        assert main(same) == 2 and fixture.read_bytes() == before  # never over the file being imported
    assert read_calibration(out, "so101") == from_lerobot(data, "so101")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["calibrate", "--robot", "so101"], "calibrate needs --port"),
        (
            ["enable", "--robot", "so101", "--port", "/dev/null"],
            "servo-bus arm: `robokit arm` does status, release, estop, calibrate",
        ),
        (["status", "--robot", "so101"], "status needs --port"),
        (["release", "--robot", "so101", "--port", "/dev/null", "--out", "c.json"], "--out is for calibrate"),
        (
            ["calibrate", "--robot", "so101", "--port", "/dev/null", "--calibration", "c.json"],
            "--calibration is for status and deploy",
        ),
        (["status", "--port", "/dev/null", "--calibration", "c.json"], "--calibration is for servo-bus arms"),
        (
            ["calibrate", "--robot", "so101", "--port", "/dev/null", "--zero-us", "1500"],
            "--zero-us is for arms on",
        ),
        (
            ["calibrate", "--robot", "so101", "--import-lerobot", "/nonexistent.json"],
            "cannot read calibration",
        ),
        (
            ["calibrate", "--port", "/dev/null", "--import-lerobot", "x.json"],
            "--import-lerobot is for servo-bus",
        ),
    ],
)
def test_robokit_arm_refuses_bad_bus_arguments_in_one_line(argv, message, capsys, tmp_path, monkeypatch):
    from robokit.cli.arm import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not list(tmp_path.iterdir())


# --- a recalibration that stops puts the arm's previous calibration back -------------------------------


class Stop:
    """A Hand that stops the calibration at its ``at``-th prompt (0: the first) by raising ``exc``, or, with
    ``exc`` None, holds the joint still there (so the direction step says it did not move)."""

    def __init__(self, hand: Hand, at: int, exc: BaseException | None) -> None:
        self.hand, self.at, self.exc = hand, at, exc

    def ask(self, prompt: str) -> None:
        if len(self.hand.prompts) == self.at:
            self.hand.prompts.append(prompt)
            if self.exc is not None:
                raise self.exc
            time.sleep(SETTLE_S)  # the user pressed Enter without moving the joint
            return
        self.hand.ask(prompt)


def _calibrated_earlier():
    """An arm calibrated once (its calibration and the EEPROM it left), to be recalibrated."""
    cal, eeprom, _, _, _ = _calibrate()
    return cal, eeprom


def _power_cycled(virtual: VirtualArm, eeprom) -> None:
    for servo, kept in zip(virtual.bus.servos, eeprom):
        servo.eeprom[:] = kept
        servo.power_cycle()


BACK = "the arm's previous calibration is back in its EEPROM"


@pytest.mark.parametrize(
    ("at", "exc", "stopped", "note"),
    [
        (0, KeyboardInterrupt(), KeyboardInterrupt, "nothing was changed on the arm"),  # "Hold the arm"
        (1, KeyboardInterrupt(), KeyboardInterrupt, BACK),  # Ctrl-C at the zero-pose prompt (offsets cleared)
        pytest.param(2, EOFError(), EOFError, BACK, marks=pytest.mark.slow),  # end of input, offsets written
        pytest.param(3, None, CalibrationError, BACK, marks=pytest.mark.slow),  # "did not move"
        pytest.param(
            8, KeyboardInterrupt(), KeyboardInterrupt, BACK, marks=pytest.mark.slow
        ),  # before ranges
    ],
)
def test_a_stopped_recalibration_puts_the_previous_calibration_back(at, exc, stopped, note):
    cal, eeprom = _calibrated_earlier()
    with VirtualArm("so101", return_delay=0, encoder_at_zero=ASSEMBLED) as port:
        virtual = _running()
        _power_cycled(virtual, eeprom)
        hand = Hand(virtual, np.array([0.3, -0.2, 0.1, 0.2, -0.4, 0.1]))  # held off the first zero pose
        with FeetechBus(port) as bus, pytest.raises(stopped) as raised:
            calibrate_bus_arm(bus, "so101", Stop(hand, at, exc).ask, hand.done)
        assert eeprom_note(raised.value).startswith(note) and len(hand.prompts) == at + 1
        assert [s.get("Lock") for s in virtual.bus.servos] == [1] * 6
        assert all(s.get("Torque_Enable") == 0 for s in virtual.bus.servos)
        for servo in virtual.bus.servos:  # kept in EEPROM, not just in RAM
            servo.power_cycle()
        with FeetechArm(port, "so101", calibration=cal) as arm:  # no CalibrationMismatch
            assert arm.read().q_is_measured


def test_robokit_arm_calibrate_interrupted_says_the_previous_calibration_is_back(tmp_path, capsys):
    from robokit.cli.arm import main

    cal, eeprom = _calibrated_earlier()
    out = write_calibration(tmp_path / "A.json", cal)
    with VirtualArm("so101", return_delay=0, encoder_at_zero=ASSEMBLED) as port:
        virtual = _running()
        _power_cycled(virtual, eeprom)
        hand = Hand(virtual, np.array([0.3, -0.2, 0.1, 0.2, -0.4, 0.1]))
        stop = Stop(hand, 1, KeyboardInterrupt())

        def answer(prompt: str) -> str:
            stop.ask(prompt.strip())
            return ""

        argv = ["calibrate", "--robot", "so101", "--port", port, "--out", str(out)]
        assert main(argv, input_fn=answer) == 130
        err = capsys.readouterr().err
        assert "interrupted; the arm's previous calibration is back in its EEPROM" in err
        assert "no file written" in err and err.count("\n") == 1
        FeetechArm(port, "so101", calibration=read_calibration(out, "so101")).close()
        hand.prompts.clear()
        stop = Stop(hand, 2, KeyboardInterrupt())

        def silence(prompt: str) -> str:  # servo 3 stops answering after the offsets were written
            if len(hand.prompts) == 2:
                virtual.bus.servo(3).silent = True
            return answer(prompt)

        assert main(argv, input_fn=silence) == 130
        err = capsys.readouterr().err
        assert "could not put the arm's previous calibration back on servo 3 (servo 3 does not answer" in err
        assert err.count("\n") == 1


@pytest.mark.slow  # the same restore as Ctrl-C's (tested by default); SIGHUP reaches it through the handler
def test_a_closed_terminal_during_calibration_also_puts_the_previous_calibration_back(tmp_path, capsys):
    """SIGHUP (the terminal closed) or SIGTERM ends the calibration as Ctrl-C does, not half done."""
    import os
    import signal

    from robokit.cli.arm import main

    cal, eeprom = _calibrated_earlier()
    out = write_calibration(tmp_path / "A.json", cal)
    with VirtualArm("so101", return_delay=0, encoder_at_zero=ASSEMBLED) as port:
        virtual = _running()
        _power_cycled(virtual, eeprom)
        hand = Hand(virtual, np.array([0.3, -0.2, 0.1, 0.2, -0.4, 0.1]))

        def answer(prompt: str) -> str:
            hand.ask(prompt.strip())
            if len(hand.prompts) == 3:  # at the first direction prompt
                os.kill(os.getpid(), signal.SIGHUP)
                time.sleep(1)  # the handler runs in the main thread before this returns
            return ""

        argv = ["calibrate", "--robot", "so101", "--port", port, "--out", str(out)]
        ignored = signal.signal(
            signal.SIGHUP, lambda *_: None
        )  # if the CLI did not catch it: not pytest's end
        try:
            assert main(argv, input_fn=answer) == 130
        finally:
            signal.signal(signal.SIGHUP, ignored)
        assert "interrupted; the arm's previous calibration is back" in capsys.readouterr().err
        for servo in virtual.bus.servos:
            servo.power_cycle()
        FeetechArm(port, "so101", calibration=read_calibration(out, "so101")).close()


# --- a calibration file is untrusted input: anything wrong is one line naming the file and the field -------


def _robokit_file(tmp_path: Path) -> dict:
    """robokit's calibration file (as write_calibration writes it) of the LeRobot fixture, as JSON data."""
    data = json.loads((DATA / "lerobot_so101_follower.json").read_text())
    path = write_calibration(tmp_path / "robokit.json", from_lerobot(data, "so101"))
    return json.loads(path.read_text())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (lambda lr, rk: "[" * 50_000, "nested too deeply"),  # 50 KB: under the size cap
        (
            lambda lr, rk: json.dumps(lr).replace('"homing_offset": -1047', '"homing_offset": ' + "9" * 5000),
            "shoulder_pan.homing_offset: want a whole number, got a 5000-digit number",
        ),  # fmt: skip
        (
            lambda lr, rk: json.dumps(rk).replace('"zero_counts": 2047.0', '"zero_counts": 1e308', 1),
            r"zero_counts: want a number in 0..4095 \(a whole or a half count\), got 1e\+308",
        ),  # fmt: skip
        (lambda lr, rk: json.dumps({**rk, "version": True}), "version: want the whole number 1, got True"),
        (lambda lr, rk: json.dumps({**rk, "version": 1.0}), "version: want the whole number 1, got 1.0"),
        (lambda lr, rk: json.dumps({**rk, "robot": ["so101"]}), r"robot: it is for \['so101'\], not 'so101'"),
        (lambda lr, rk: json.dumps({**rk, "colour": "red"}), "unknown key 'colour'"),
        (
            lambda lr, rk: json.dumps(rk).replace('"drive_mode": 0', '"drive_mode": false', 1),
            "shoulder_pan.drive_mode: want a whole number, got False",
        ),  # fmt: skip
        (
            lambda lr, rk: json.dumps(rk).replace('"zero_counts": 2047.0', '"zero_counts": NaN', 1),
            "zero_counts: want a number in 0..4095",
        ),  # fmt: skip
        (
            lambda lr, rk: json.dumps(lr).replace('"range_max": 3299', '"range_max": 1e999', 1),
            "shoulder_pan.range_max: want a whole number, got inf",
        ),  # fmt: skip
        (lambda lr, rk: json.dumps(lr)[:-1] + ', "\\ud800": 1}', "unknown joint"),
    ],
)
def test_a_hostile_calibration_file_is_one_line_naming_the_file_and_the_field(tmp_path, text, message):
    lerobot = json.loads((DATA / "lerobot_so101_follower.json").read_text())
    path = tmp_path / "cal.json"
    path.write_text(text(lerobot, _robokit_file(tmp_path)), encoding="utf-8")
    assert path.stat().st_size < 64 * 1024
    with pytest.raises(CalibrationError, match=message) as exc:
        read_calibration(path, "so101")
    assert "\n" not in str(exc.value) and str(path) in str(exc.value) and len(str(exc.value)) < 400


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "directory"])
def test_a_file_that_is_not_a_regular_file_is_refused_before_it_is_read(tmp_path, kind):
    """Run as `robokit arm calibrate --import-lerobot` in a process with bounded memory and time: reading
    /dev/zero never ends, opening a FIFO waits for a writer."""
    import os
    import resource
    import subprocess
    import sys

    source = {"/dev/zero": "/dev/zero", "fifo": str(tmp_path / "fifo"), "directory": str(tmp_path)}[kind]
    if kind == "fifo":
        os.mkfifo(source)
    argv = [
        "arm",
        "calibrate",
        "--robot",
        "so101",
        "--import-lerobot",
        source,
        "--out",
        str(tmp_path / "o.json"),
    ]
    limit = lambda: resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # noqa: E731
    run = subprocess.run([sys.executable, "-m", "robokit.cli", *argv], capture_output=True, text=True,
                         timeout=60, preexec_fn=limit)  # fmt: skip
    assert run.returncode == 2, run.stderr[-500:]
    assert f"cannot read calibration {source}: not a regular file" in run.stderr
    assert run.stderr.count("\n") == 1
