"""Calibration and watchdog settings of the robokit firmware: valid ranges, checks, the calibration file.

Every value checked here is checked before anything is sent to an arm or written to a file:

- zero pulse width (us at 0 rad): ``PULSE_MIN_US``..``PULSE_MAX_US`` (500..2500 us, the firmware's pulse
  range);
- slope (us per rad, the sign gives the direction): ``US_PER_RAD_MIN``..``US_PER_RAD_MAX`` in magnitude
  (a 180-degree servo is 637, a 270-degree one 424);
- communication watchdog: ``WATCHDOG_MIN_MS``..``WATCHDOG_MAX_MS`` ms, and at least
  ``WATCHDOG_MIN_PERIODS`` control periods of the host's control rate (120 ms at 25 Hz), so one late
  tick never trips it; 0 (off) is refused.

Raises ``ValueError`` (``CalibrationFileError`` for a calibration JSON file) with a one-line message.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from robokit.core.arm import ArmError
from robokit.firmware_bridge import protocol as pr
from robokit.firmware_bridge.fixedpoint import TICK_US, gain_to_us_per_rad
from robokit.paths import read_small_file
from robokit.robots import RobotSpec

PULSE_MIN_US = pr.PULSE_ZERO_MIN_TICKS * TICK_US  # 500 us: the firmware's zero pulse range ...
PULSE_MAX_US = pr.PULSE_ZERO_MAX_TICKS * TICK_US  # 2500 us ... is its pulse range
# The firmware's gain bounds (protocol.GAIN_Q16_MIN/MAX, Q16.16) in host units; check_gain_q16 uses
# those, and a test checks that these round to exactly them (test_calibration_checks.py).
US_PER_RAD_MIN = 100.0
US_PER_RAD_MAX = 4000.0
WATCHDOG_MIN_MS, WATCHDOG_MAX_MS = pr.WATCHDOG_MIN_MS, pr.WATCHDOG_MAX_MS  # the firmware enforces it too
WATCHDOG_MIN_PERIODS = 3


class CalibrationFileError(ArmError):
    """A calibration JSON file that cannot be read or holds values that make no sense."""


def _finite(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def check_zero_us(zero_us: float) -> float:
    """A zero pulse width in us within the firmware's pulse range; returns it. Raises ValueError."""
    us = _finite(zero_us, "the zero pulse width")
    if not PULSE_MIN_US <= us <= PULSE_MAX_US:
        raise ValueError(
            f"zero pulse width {us:g} us is outside the servo pulse range {PULSE_MIN_US:.0f}..{PULSE_MAX_US:.0f} us"
        )
    return us


def check_us_per_rad(us_per_rad: float) -> float:
    """A calibration slope in us per rad (signed) with a magnitude a servo can have; returns it.
    Raises ValueError (0 would leave the servo still while STATE reports motion)."""
    v = _finite(us_per_rad, "us per rad")
    if not US_PER_RAD_MIN <= abs(v) <= US_PER_RAD_MAX:
        raise ValueError(
            f"{v:g} us per rad is not a servo's slope: its magnitude must be {US_PER_RAD_MIN:.0f}..{US_PER_RAD_MAX:.0f} "
            "(a 180-degree servo: 637, a 270-degree one: 424; the sign gives the direction)"
        )
    return v


def check_gain_q16(gain_q16: int) -> int:
    """A firmware gain (Q16.16 ticks per 1e-4 rad) the firmware accepts: magnitude
    ``protocol.GAIN_Q16_MIN..GAIN_Q16_MAX`` (the bounds of ``check_us_per_rad`` rounded to the firmware's
    unit); returns it. Raises ValueError."""
    lo, hi = pr.GAIN_Q16_MIN, pr.GAIN_Q16_MAX
    if isinstance(gain_q16, bool) or not isinstance(gain_q16, int) or not lo <= abs(gain_q16) <= hi:
        us = gain_to_us_per_rad(gain_q16) if isinstance(gain_q16, int) else gain_q16
        raise ValueError(
            f"{us:g} us per rad is not a servo's slope: its magnitude must be {US_PER_RAD_MIN:.0f}..{US_PER_RAD_MAX:.0f}"
        )
    return gain_q16


def check_zero_ticks(ticks: int) -> int:
    """A firmware zero pulse (0.5 us ticks) within the pulse range; returns it. Raises ValueError."""
    if isinstance(ticks, bool) or not isinstance(ticks, int):
        raise ValueError(f"zero pulse {ticks!r} is not a whole number of ticks")
    check_zero_us(ticks * TICK_US)
    return ticks


def min_watchdog_ms(control_period_s: float) -> int:
    """The shortest watchdog timeout (ms) the host accepts at this control period (s)."""
    return max(WATCHDOG_MIN_MS, math.ceil(round(WATCHDOG_MIN_PERIODS * control_period_s * 1000, 6)))


def check_watchdog_for_period(timeout_ms: int, control_period_s: float) -> None:
    """Raise ValueError unless ``timeout_ms`` is in [WATCHDOG_MIN_MS, WATCHDOG_MAX_MS] and at least
    WATCHDOG_MIN_PERIODS control periods of ``control_period_s`` (s). 0 (watchdog off) is refused."""
    if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int):
        raise ValueError(f"watchdog timeout must be a whole number of ms, got {timeout_ms!r}")
    if not (math.isfinite(control_period_s) and control_period_s > 0):
        raise ValueError(f"control period must be a finite number of seconds > 0, got {control_period_s!r}")
    if timeout_ms == 0:
        raise ValueError(
            f"watchdog timeout 0 ms turns the firmware's watchdog off; use {WATCHDOG_MIN_MS}..{WATCHDOG_MAX_MS} ms"
        )
    if not WATCHDOG_MIN_MS <= timeout_ms <= WATCHDOG_MAX_MS:
        raise ValueError(
            f"watchdog timeout {timeout_ms} ms is outside {WATCHDOG_MIN_MS}..{WATCHDOG_MAX_MS} ms"
        )
    need = min_watchdog_ms(control_period_s)
    if timeout_ms < need:
        raise ValueError(
            f"watchdog timeout {timeout_ms} ms is shorter than {WATCHDOG_MIN_PERIODS} control periods at "
            f"{1 / control_period_s:g} Hz ({need} ms): every run would trip it; use {need}..{WATCHDOG_MAX_MS} ms"
        )


def check_config(
    joints: tuple[pr.JointConfig, ...] | list[pr.JointConfig],
    watchdog_timeout_ms: int,
    watchdog_action: int,
    spec: RobotSpec,
    control_period_s: float,
) -> None:
    """Raise ValueError ("...; nothing sent") unless a CONFIG's settings can work: one joint config per
    joint of ``spec``, each with a zero pulse and a slope a servo can have, a watchdog that suits
    ``control_period_s``, an action that is hold or release."""
    if len(joints) != spec.n_joints:
        raise ValueError(f"{len(joints)} joint configs for {spec.n_joints} joints; nothing sent")
    try:
        check_watchdog_for_period(watchdog_timeout_ms, control_period_s)
    except ValueError as exc:
        raise ValueError(f"{exc}; nothing sent") from None
    if watchdog_action not in (pr.WATCHDOG_HOLD, pr.WATCHDOG_RELEASE):
        raise ValueError(f"watchdog action {watchdog_action!r} is neither hold nor release; nothing sent")
    for name, j in zip(spec.joint_names, joints):
        try:
            check_zero_ticks(j.pulse_zero_ticks)
            check_gain_q16(j.gain_q16)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}; nothing sent") from None


def firmware_settings_problems(info: pr.Info, spec: RobotSpec, control_period_s: float) -> list[str]:
    """What is wrong with the settings a firmware reports in INFO (watchdog off or too short for this
    control period, a zero pulse outside the pulse range, a slope no servo has); [] if nothing."""
    out = []
    try:
        check_watchdog_for_period(info.watchdog_timeout_ms, control_period_s)
    except ValueError as exc:
        out.append(f"firmware {exc}")
    for name, j in zip(spec.joint_names, info.joints):
        for check, value in ((check_zero_ticks, j.pulse_zero_ticks), (check_gain_q16, j.gain_q16)):
            try:
                check(value)
            except ValueError as exc:
                out.append(f"{name}: {exc}")
    return out


def pulse_range_warning(
    name: str, lower_rad: float, upper_rad: float, zero_us: float, us_per_rad: float
) -> str | None:
    """A warning if the joint's limits map outside the pulse range (the firmware then clamps the pulse:
    the servo stops short of where STATE says), else None."""
    ends = sorted((zero_us + lower_rad * us_per_rad, zero_us + upper_rad * us_per_rad))
    if ends[0] >= PULSE_MIN_US - 0.5 and ends[1] <= PULSE_MAX_US + 0.5:
        return None
    return (
        f"{name}: its range {lower_rad:.3f}..{upper_rad:.3f} rad maps to {ends[0]:.0f}..{ends[1]:.0f} us; the "
        f"firmware clamps pulses to {PULSE_MIN_US:.0f}..{PULSE_MAX_US:.0f} us, so the servo stops short there"
    )


def calibration_dict(spec: RobotSpec, info: pr.Info) -> dict[str, Any]:
    """A firmware's calibration (INFO) as the JSON structure ``load_calibration`` reads."""
    return {
        "robot": spec.name,
        "watchdog_timeout_ms": info.watchdog_timeout_ms,
        "watchdog_action": "release" if info.watchdog_action else "hold",
        "joints": {
            name: {
                "pulse_zero_ticks": j.pulse_zero_ticks,
                "gain_q16": j.gain_q16,
                "pulse_zero_us": j.pulse_zero_ticks * TICK_US,
                "us_per_rad": gain_to_us_per_rad(j.gain_q16),
            }
            for name, j in zip(spec.joint_names, info.joints)
        },
    }


MAX_CALIBRATION_BYTES = 64 * 1024  # a calibration file is a few hundred bytes


def _parse_int(text: str) -> int | float:
    """A JSON integer; one too long to be a pulse width or gain is NaN (refused by the field checks; Python
    refuses to parse more than 4300 digits with an exception of its own)."""
    return float("nan") if len(text) > 20 else int(text)


def _int_field(entry: dict, key: str, where: str) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CalibrationFileError(f"{where}: {key!r} must be an integer, got {value!r}")
    return value


def load_calibration(path: Path, spec: RobotSpec) -> dict[str, tuple[int, int]]:
    """Read and check a calibration JSON file (``robokit arm calibrate``): {joint: (pulse_zero_ticks,
    gain_q16)} for every joint of ``spec``. Raises CalibrationFileError (unreadable, not JSON, another
    robot, a joint missing, a value that is not an integer or makes no physical sense)."""
    try:
        data = json.loads(
            read_small_file(path, MAX_CALIBRATION_BYTES, "calibration file"), parse_int=_parse_int
        )
    except OSError as exc:
        raise CalibrationFileError(f"cannot read calibration file {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        text = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise CalibrationFileError(f"calibration file {path} is not JSON: {text}") from None
    joints = data.get("joints") if isinstance(data, dict) else None
    if not isinstance(joints, dict):
        raise CalibrationFileError(f"calibration file {path} has no 'joints' object")
    if data.get("robot", spec.name) != spec.name:
        raise CalibrationFileError(
            f"calibration file {path} is for robot {data.get('robot')!r}, not {spec.name}"
        )
    out = {}
    for name in spec.joint_names:
        entry = joints.get(name)
        where = f"calibration file {path}, joint {name}"
        if not isinstance(entry, dict):
            raise CalibrationFileError(f"{where}: missing")
        zero, gain = _int_field(entry, "pulse_zero_ticks", where), _int_field(entry, "gain_q16", where)
        try:
            check_zero_ticks(zero)
            check_gain_q16(gain)
        except ValueError as exc:
            raise CalibrationFileError(f"{where}: {exc}") from None
        out[name] = (zero, gain)
    return out


def check_writable(path: Path) -> None:
    """Raise ValueError unless ``path`` can be written, tried for real and changing nothing: an existing
    regular file is opened for writing without truncating it; for a new file, a scratch file is created
    and removed in its folder."""
    from robokit.paths import check_output_file

    path = check_output_file(path, "--out")  # empty, too long, under a file, /proc, loops: a PathError
    if path.is_dir():
        raise ValueError(f"cannot write {path}: it is a folder")
    try:
        if path.exists() or path.is_symlink():
            if not path.is_file():
                raise ValueError(f"cannot write {path}: not a regular file")
            with open(path, "r+b"):
                pass
            return
        folder = path.parent
        if not folder.is_dir():
            raise ValueError(f"cannot write {path}: folder {folder} does not exist")
        probe = folder / f".{path.name}.{os.getpid()}.probe"
        with open(probe, "x"):
            pass
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file in the same folder, so the file is
    either the old one or the new one (mode 0666 minus the umask). Raises OSError."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "x") as f:
            f.write(json.dumps(data, indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
