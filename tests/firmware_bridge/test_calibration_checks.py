"""Calibration and watchdog settings are checked against physical sense before anything is sent or
written (issue 9, items 4 and 11): pure checks, plus HardwareArm refusing a bad calibration file before
it opens the port (a real pty the test holds shows that nothing was sent)."""

import json
import os
import select
import stat
from pathlib import Path

import pytest

from robokit.firmware_bridge import calibration as cal
from robokit.firmware_bridge.fixedpoint import default_joint_configs, gain_q16
from robokit.firmware_bridge.hardware_arm import CalibrationFileError, HardwareArm, check_watchdog_for_period
from robokit.robots import get_robot

SPEC = get_robot("servo_arm")


@pytest.mark.parametrize(
    ("timeout_ms", "period_s"),
    [(100, 0.02), (120, 0.04), (500, 0.04), (60000, 0.04), (150, 0.05), (100, 0.005)],
)
def test_watchdog_timeouts_that_work(timeout_ms, period_s):
    check_watchdog_for_period(timeout_ms, period_s)


@pytest.mark.parametrize(
    ("timeout_ms", "period_s", "message"),
    [
        (0, 0.04, "turns the firmware's watchdog off"),
        (10, 0.04, "outside 100..60000 ms"),
        (99, 0.02, "outside 100..60000 ms"),
        (119, 0.04, "shorter than 3 control periods at 25 Hz (120 ms)"),
        (500, 0.2, "shorter than 3 control periods at 5 Hz (600 ms)"),
        (60001, 0.04, "outside 100..60000 ms"),
        (65535, 0.04, "outside 100..60000 ms"),
        (-1, 0.04, "outside"),
        (1.5, 0.04, "whole number"),
        (True, 0.04, "whole number"),
        (500, 0.0, "control period"),
        (500, float("nan"), "control period"),
    ],
)
def test_watchdog_timeouts_that_cannot_work_are_refused(timeout_ms, period_s, message):
    with pytest.raises(ValueError) as exc:
        check_watchdog_for_period(timeout_ms, period_s)
    assert message in str(exc.value)


def test_the_watchdog_range_is_the_firmwares():
    from robokit.firmware_bridge import protocol as pr

    assert (
        (cal.WATCHDOG_MIN_MS, cal.WATCHDOG_MAX_MS) == (pr.WATCHDOG_MIN_MS, pr.WATCHDOG_MAX_MS) == (100, 60000)
    )
    assert cal.min_watchdog_ms(0.04) == 120 and cal.min_watchdog_ms(0.01) == 100


def test_the_slope_and_zero_pulse_bounds_are_the_firmwares():
    """check_us_per_rad's 100..4000 us/rad round to exactly the firmware's gain bounds, check_gain_q16
    uses those, and the zero pulse range is the firmware's (protocol.py twins of proto.h)."""
    from robokit.firmware_bridge import protocol as pr

    assert (gain_q16(cal.US_PER_RAD_MIN), gain_q16(cal.US_PER_RAD_MAX)) == (pr.GAIN_Q16_MIN, pr.GAIN_Q16_MAX)
    assert (cal.PULSE_MIN_US, cal.PULSE_MAX_US) == (
        pr.PULSE_ZERO_MIN_TICKS * 0.5,
        pr.PULSE_ZERO_MAX_TICKS * 0.5,
    )
    for g in (pr.GAIN_Q16_MIN, -pr.GAIN_Q16_MIN, pr.GAIN_Q16_MAX, -pr.GAIN_Q16_MAX):
        assert cal.check_gain_q16(g) == g
    for g in (0, pr.GAIN_Q16_MIN - 1, -(pr.GAIN_Q16_MIN - 1), pr.GAIN_Q16_MAX + 1, -(pr.GAIN_Q16_MAX + 1)):
        with pytest.raises(ValueError, match="us per rad"):
            cal.check_gain_q16(g)
    for z in (pr.PULSE_ZERO_MIN_TICKS, pr.PULSE_ZERO_MAX_TICKS):
        assert cal.check_zero_ticks(z) == z
    for z in (pr.PULSE_ZERO_MIN_TICKS - 1, pr.PULSE_ZERO_MAX_TICKS + 1):
        with pytest.raises(ValueError, match="zero pulse"):
            cal.check_zero_ticks(z)


@pytest.mark.parametrize("value", [0.0, -99.0, 4000.5, float("nan"), float("inf"), 1e9])
def test_slopes_no_servo_has_are_refused(value):
    with pytest.raises(ValueError, match="us per rad"):
        cal.check_us_per_rad(value)


def test_slopes_at_the_bounds_pass_in_both_units():
    for v in (100.0, -100.0, 636.62, -4000.0, 4000.0):
        assert cal.check_us_per_rad(v) == v
        assert cal.check_gain_q16(gain_q16(v)) == gain_q16(v)
    with pytest.raises(ValueError):
        cal.check_gain_q16(0)


@pytest.mark.parametrize("value", [499.9, 2500.1, 99999.0, float("nan"), -1500.0])
def test_zero_pulses_outside_the_servo_range_are_refused(value):
    with pytest.raises(ValueError, match="zero pulse"):
        cal.check_zero_us(value)


def test_check_config_names_the_joint_and_says_nothing_was_sent():
    joints = list(default_joint_configs(SPEC))
    cal.check_config(joints, 500, 0, SPEC, 0.04)
    joints[2] = joints[2].__class__(**{**joints[2].__dict__, "gain_q16": 0})
    with pytest.raises(ValueError, match="elbow: .*nothing sent"):
        cal.check_config(joints, 500, 0, SPEC, 0.04)
    with pytest.raises(ValueError, match="nothing sent"):
        cal.check_config(default_joint_configs(SPEC), 500, 7, SPEC, 0.04)


def _good_file(tmp_path):
    from robokit.firmware_bridge import protocol as pr

    info = pr.Info(joints=default_joint_configs(SPEC), watchdog_timeout_ms=500)
    path = tmp_path / "cal.json"
    cal.write_json_atomic(path, cal.calibration_dict(SPEC, info))
    return path, json.loads(path.read_text())


def test_a_written_calibration_file_loads_back_and_is_not_private(tmp_path):
    path, _ = _good_file(tmp_path)
    assert cal.load_calibration(path, SPEC)["elbow"] == (3000, default_joint_configs(SPEC)[2].gain_q16)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # as any file the user writes, not 0600
    assert [p.name for p in tmp_path.iterdir()] == ["cal.json"]  # no temporary file left


MUTATIONS = {
    "not JSON": lambda d: "{not json",
    "a list": lambda d: [1, 2, 3],
    "no joints": lambda d: {**d, "joints": None},
    "another robot": lambda d: {**d, "robot": "panda"},
    "a joint missing": lambda d: {**d, "joints": {k: v for k, v in d["joints"].items() if k != "elbow"}},
    "a string": lambda d: {
        **d,
        "joints": {**d["joints"], "elbow": {**d["joints"]["elbow"], "gain_q16": "x"}},
    },
    "a bool": lambda d: {**d, "joints": {**d["joints"], "elbow": {**d["joints"]["elbow"], "gain_q16": True}}},
    "a float": lambda d: {
        **d,
        "joints": {**d["joints"], "elbow": {**d["joints"]["elbow"], "pulse_zero_ticks": 3000.5}},
    },
    "gain 0": lambda d: {**d, "joints": {**d["joints"], "elbow": {**d["joints"]["elbow"], "gain_q16": 0}}},
    "zero out of range": lambda d: {
        **d,
        "joints": {**d["joints"], "elbow": {**d["joints"]["elbow"], "pulse_zero_ticks": 199998}},
    },
}


@pytest.mark.parametrize("mutate", list(MUTATIONS.values()), ids=list(MUTATIONS))
def test_a_bad_calibration_file_is_refused_before_the_port_is_opened(mutate, tmp_path):
    path, data = _good_file(tmp_path)
    bad = mutate(data)
    path.write_text(bad if isinstance(bad, str) else json.dumps(bad))
    master, slave = os.openpty()
    try:
        with pytest.raises(CalibrationFileError) as exc:
            HardwareArm(os.ttyname(slave), "servo_arm", calibration=path, hello_timeout_s=0.3)
        assert str(path) in str(exc.value) and "\n" not in str(exc.value)
        assert not select.select([master], [], [], 0.05)[0]  # not a byte sent: the port was never opened
    finally:
        os.close(slave)
        os.close(master)


def test_a_missing_calibration_file_is_refused(tmp_path):
    with pytest.raises(CalibrationFileError, match="cannot read calibration file"):
        HardwareArm("/dev/null", "servo_arm", calibration=tmp_path / "nope.json", connect=False)


def test_check_writable_tries_for_real_and_changes_nothing(tmp_path):
    existing = tmp_path / "old.json"
    existing.write_text("keep me")
    cal.check_writable(existing)
    cal.check_writable(tmp_path / "new.json")
    assert existing.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]
    for bad, why in [
        (tmp_path, "folder"),
        (tmp_path / "no" / "x.json", "does not exist"),
        ("/dev/null", "regular"),
    ]:
        with pytest.raises(ValueError, match=why):
            cal.check_writable(bad)


def test_firmware_settings_that_cannot_work_are_each_named():
    """What HardwareArm.connect refuses (ArmConfigInvalid) and `robokit arm` warns about, from an INFO."""
    import dataclasses

    from robokit.firmware_bridge import protocol as pr

    joints = list(default_joint_configs(SPEC))
    good = pr.Info(joints=tuple(joints), watchdog_timeout_ms=500)
    assert cal.firmware_settings_problems(good, SPEC, 0.04) == []
    joints[2] = dataclasses.replace(joints[2], gain_q16=0)  # an older firmware accepted this CONFIG
    joints[4] = dataclasses.replace(joints[4], pulse_zero_ticks=999)
    bad = pr.Info(joints=tuple(joints), watchdog_timeout_ms=110)
    problems = cal.firmware_settings_problems(bad, SPEC, 0.04)
    assert len(problems) == 3
    assert "watchdog timeout 110 ms is shorter than 3 control periods" in problems[0]
    assert problems[1].startswith("elbow: 0 us per rad is not a servo's slope")
    assert problems[2].startswith("wrist_roll: zero pulse width 499.5 us is outside")
    assert cal.firmware_settings_problems(bad, SPEC, 0.01)[0] == problems[1]  # 100 Hz: 110 ms is enough


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("[" * 50_000), "is not JSON"),  # deep nesting: RecursionError in json
        (lambda p: p.write_text('{"joints": {"a": {"pulse_zero_ticks": ' + "9" * 5000 + "}}}"), "joint"),
        (lambda p: p.mkdir(), "not a regular file"),
        (lambda p: os.mkfifo(p), "not a regular file"),  # opening it would wait for a writer
        (lambda p: p.write_bytes(b"{" + b" " * 70_000 + b"}"), "larger than"),
    ],
)
def test_a_hostile_firmware_calibration_file_is_one_line_never_a_hang(tmp_path, make, message):
    """Found by attack on the SO-101's calibration reader; the firmware arm's reader had the same faults."""
    from robokit.firmware_bridge.calibration import CalibrationFileError, load_calibration
    from robokit.robots import get_robot

    path = tmp_path / "cal.json"
    make(path)
    with pytest.raises(CalibrationFileError, match=message) as exc:
        load_calibration(path, get_robot("servo_arm"))
    assert "\n" not in str(exc.value)


def test_dev_zero_is_not_read_as_a_calibration_file():
    from robokit.firmware_bridge.calibration import CalibrationFileError, load_calibration
    from robokit.robots import get_robot

    with pytest.raises(CalibrationFileError, match="not a regular file"):
        load_calibration(Path("/dev/zero"), get_robot("servo_arm"))
