"""The firmware's compiled-in defaults (robot_defaults.h) agree with the servo_arm RobotSpec."""

from __future__ import annotations

import re

from robokit.firmware_bridge import fixedpoint as fx
from robokit.firmware_bridge.gen_defaults import HEADER_PATH, render_defaults_header
from robokit.robots import get_robot


def test_checked_in_header_matches_robot_spec():
    assert HEADER_PATH.read_text() == render_defaults_header("servo_arm"), (
        "firmware/robot_defaults.h is stale: run robokit dev gen-defaults"
    )


def test_header_values_are_the_spec_in_firmware_units():
    spec = get_robot("servo_arm")
    text = HEADER_PATH.read_text()

    def array(name: str) -> list[int]:
        m = re.search(rf"#define {name} \{{([^}}]*)\}}", text)
        assert m, name
        return [int(v) for v in m.group(1).split(",")]

    assert re.search(rf"#define N_JOINTS {spec.n_joints}\b", text)
    assert array("DEFAULT_LOWER") == [round(v * 1e4) for v in spec.lower]
    assert array("DEFAULT_UPPER") == [round(v * 1e4) for v in spec.upper]
    assert array("DEFAULT_HOME") == [round(v * 1e4) for v in spec.home_q]
    assert array("DEFAULT_MAX_STEP") == [round(v * 0.02 * 1e4) for v in spec.max_speed]
    assert array("DEFAULT_PULSE_ZERO") == [3000] * spec.n_joints
    assert array("DEFAULT_GAIN_Q16") == [fx.gain_q16(2000 / 3.141592653589793)] * spec.n_joints


def test_default_watchdog_timeout_is_inside_the_valid_range():
    """The compiled-in default must pass the firmware's own CONFIG check (else every EEPROM-less board
    would run a watchdog the protocol calls invalid)."""
    from robokit.firmware_bridge import protocol as p

    text = HEADER_PATH.read_text()
    m = re.search(r"#define DEFAULT_WATCHDOG_TIMEOUT_MS (\d+)\b", text)
    assert m and int(m.group(1)) == fx.DEFAULT_WATCHDOG_TIMEOUT_MS
    assert p.WATCHDOG_MIN_MS <= fx.DEFAULT_WATCHDOG_TIMEOUT_MS <= p.WATCHDOG_MAX_MS
