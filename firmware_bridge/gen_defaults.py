"""Generate firmware/robot_defaults.h from the servo_arm RobotSpec.

Run ``robokit dev gen-defaults`` after changing the spec; a test fails while the checked-in header and
the spec disagree.
"""

from __future__ import annotations

from pathlib import Path

from robokit.robots import get_robot

from .fixedpoint import (
    DEFAULT_WATCHDOG_ACTION,
    DEFAULT_WATCHDOG_TIMEOUT_MS,
    FIRMWARE_VERSION,
    default_joint_configs,
)

HEADER_PATH = Path(__file__).resolve().parent / "firmware" / "robot_defaults.h"


def render_defaults_header(robot: str = "servo_arm") -> str:
    """The text of robot_defaults.h for ``robot``."""
    spec = get_robot(robot)
    joints = default_joint_configs(spec)

    def row(attr: str) -> str:
        return ", ".join(str(getattr(j, attr)) for j in joints)

    lines = [
        f"/* Generated from the {robot} RobotSpec by `robokit dev gen-defaults`. Do not edit. */",
        "/* Units: angles 1e-4 rad, max step 1e-4 rad per 20 ms frame, pulse 0.5 us ticks, gain Q16.16. */",
        "#ifndef ROBOT_DEFAULTS_H",
        "#define ROBOT_DEFAULTS_H",
        "",
        f'#define ROBOT_NAME "{robot}"',
        f"#define N_JOINTS {spec.n_joints}",
        f"/* joints: {', '.join(spec.joint_names)} */",
        f"#define FW_VERSION_MAJOR {FIRMWARE_VERSION[0]}",
        f"#define FW_VERSION_MINOR {FIRMWARE_VERSION[1]}",
        f"#define FW_VERSION_PATCH {FIRMWARE_VERSION[2]}",
        f"#define DEFAULT_WATCHDOG_TIMEOUT_MS {DEFAULT_WATCHDOG_TIMEOUT_MS}",
        f"#define DEFAULT_WATCHDOG_ACTION {DEFAULT_WATCHDOG_ACTION}",
        f"#define DEFAULT_LOWER {{{row('lower_100urad')}}}",
        f"#define DEFAULT_UPPER {{{row('upper_100urad')}}}",
        f"#define DEFAULT_HOME {{{row('home_100urad')}}}",
        f"#define DEFAULT_MAX_STEP {{{row('max_step_100urad')}}}",
        f"#define DEFAULT_PULSE_ZERO {{{row('pulse_zero_ticks')}}}",
        f"#define DEFAULT_GAIN_Q16 {{{row('gain_q16')}}}",
        "",
        "#endif",
        "",
    ]
    return "\n".join(lines)
