"""Calibration of an arm on a Feetech bus (the SO-101): per joint, the encoder count at q = 0, the
direction, the servo's Homing_Offset and the recorded range, as kept in the servos' EEPROM and in a file.

robokit's convention (docs/so101.md): ``q = (Present_Position - zero_counts) * 2 pi / 4096 * sign``, sign
-1 where ``drive_mode`` is 1. robokit's own calibration writes each Homing_Offset so that the arm's zero
pose reads 2048 (``zero_counts`` 2048), shifted only for a joint whose recorded range would otherwise
cross the encoder's 0/4095 seam. A LeRobot calibration file imports without recalibrating: LeRobot homes
each joint at the middle of its range and reads angles as ``(position - (range_min + range_max) / 2) *
360 / 4095`` (facts: LeRobot 0.4.x), so ``zero_counts`` is the range's middle; the gripper's q = 0
(closed) is the end of its range where LeRobot's 0..100 reads 0. The file is untrusted input: every field
is checked (``CalibrationError``, one line) before anything is sent to an arm.

    cal = read_calibration("so101.json", "so101")
    FeetechArm(port, "so101", calibration=cal)      # refuses to connect if the EEPROM differs
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robokit.firmware_bridge.feetech.control_table import COUNTS_PER_TURN, MIDDLE_COUNTS
from robokit.paths import read_small_file

FORMAT = "robokit-feetech-calibration"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024
OFFSET_LIMIT = 2047  # Homing_Offset is sign-magnitude with its sign in bit 11
FIELDS = ("id", "drive_mode", "homing_offset", "range_min", "range_max")  # LeRobot's per-joint keys
SOURCES = ("robokit", "lerobot")
TOP_KEYS = ("format", "version", "robot", "source", "joints")  # robokit's file

__all__ = [
    "BusCalibration",
    "CalibrationError",
    "JointCalibration",
    "from_lerobot",
    "homing_offset",
    "read_calibration",
    "write_calibration",
]


class CalibrationError(ValueError):
    """A calibration that cannot be used (a bad file, a joint the servo cannot measure); one line."""


@dataclass(frozen=True)
class JointCalibration:
    """One joint: servo ``id``, ``drive_mode`` (1: q grows as counts fall), ``homing_offset`` (counts,
    the EEPROM's; Present_Position = raw - offset mod 4096), the recorded ``range_min`` .. ``range_max``
    (Present_Position counts, also the servo's position limits) and ``zero_counts`` (Present_Position at
    q = 0, inside the range)."""

    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int
    zero_counts: float


@dataclass(frozen=True)
class BusCalibration:
    """A robot's calibration: ``joints`` {name: JointCalibration} in the robot's joint order."""

    robot: str
    joints: dict[str, JointCalibration]
    source: str = "robokit"

    @property
    def signs(self) -> np.ndarray:
        """(n,) +1.0, or -1.0 where drive_mode is 1."""
        return np.array([-1.0 if j.drive_mode else 1.0 for j in self.joints.values()])

    @property
    def zero_counts(self) -> np.ndarray:
        """(n,) Present_Position counts at q = 0."""
        return np.array([j.zero_counts for j in self.joints.values()], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "robot": self.robot,
            "source": self.source,
            "joints": {name: asdict(j) for name, j in self.joints.items()},
        }


def homing_offset(raw_counts: int, zero_counts: float = MIDDLE_COUNTS) -> int:
    """The Homing_Offset that makes a joint whose encoder reads ``raw_counts`` (0..4095, with offset 0)
    read ``zero_counts``: ``raw - zero`` taken into -2047..2047 modulo a turn. The one value the field
    cannot hold (2048 either way) is never asked for: the caller moves ``zero_counts`` by a count (see
    ``calibrate``); here it raises CalibrationError."""
    offset = (int(raw_counts) - round(zero_counts)) % COUNTS_PER_TURN
    if offset > COUNTS_PER_TURN // 2:
        offset -= COUNTS_PER_TURN
    if abs(offset) > OFFSET_LIMIT:
        raise CalibrationError(
            f"Homing_Offset {offset} does not fit the servo's field (+-{OFFSET_LIMIT}): read the zero pose "
            "one count to either side"
        )
    return offset


def from_lerobot(data: Any, robot: str) -> BusCalibration:
    """A LeRobot calibration file's contents ({joint: {id, drive_mode, homing_offset, range_min,
    range_max}}) on robokit's convention (module docstring). Raises CalibrationError."""
    names, ids = _robot_joints(robot)
    if not isinstance(data, Mapping):
        raise CalibrationError("a LeRobot calibration file holds a JSON object of joints")
    joints = {}
    for k, name in enumerate(names):
        raw = _joint_entry(data, name, names, FIELDS)
        mode = raw["drive_mode"]
        if name == "gripper":  # LeRobot's gripper reads 0..100 over its range, 0 where robokit's q is 0
            zero: float = raw["range_max"] if mode else raw["range_min"]
        else:
            zero = (raw["range_min"] + raw["range_max"]) / 2
        joints[name] = _joint(name, ids[k], {**raw, "zero_counts": zero})
    return BusCalibration(robot, joints, "lerobot")


def read_calibration(path: str | os.PathLike, robot: str) -> BusCalibration:
    """Read a calibration file: robokit's (``write_calibration``) or LeRobot's (imported, see
    ``from_lerobot``). Raises CalibrationError naming the file and what is wrong (the field, where one is)."""
    path = Path(path)
    try:
        data = json.loads(_read_text(path), object_pairs_hook=_no_duplicates, parse_int=_parse_int)
    except CalibrationError as exc:  # a key twice
        raise CalibrationError(f"calibration {path}: {exc}") from None
    except RecursionError:
        raise CalibrationError(f"calibration {path}: its JSON is nested too deeply") from None
    except (OSError, ValueError) as exc:  # ValueError: UnicodeDecodeError, JSONDecodeError
        raise CalibrationError(
            f"cannot read calibration {path}: {_line(getattr(exc, 'strerror', None) or exc)}"
        ) from None
    try:
        if isinstance(data, dict) and "format" in data:
            return _from_robokit(data, robot)
        return from_lerobot(data, robot)
    except CalibrationError as exc:
        raise CalibrationError(f"calibration {path}: {exc}") from None
    except (ValueError, TypeError, ArithmeticError, RecursionError) as exc:  # a check missed: still one line
        raise CalibrationError(f"calibration {path}: {type(exc).__name__}: {_line(exc)}") from None


def _read_text(path: Path) -> str:
    """The text of regular file ``path`` (at most MAX_FILE_BYTES); OSError, UnicodeDecodeError."""
    return read_small_file(path, MAX_FILE_BYTES, "calibration file")


class _LongNumber:
    """A JSON integer too long to be a count (parsing it could take Python's 4300-digit limit's error)."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"a {self.digits}-digit number"


def _parse_int(text: str) -> int | _LongNumber:
    return _LongNumber(len(text.lstrip("-"))) if len(text) > 20 else int(text)


def _line(what: object) -> str:
    """``what`` as a short single line."""
    return " ".join(str(what).split())[:160]


def _shown(value: Any) -> str:
    """A value from the file, shown short."""
    return repr(value)[:40]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different (json keeps the last of a repeated key, silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise CalibrationError(f"{key!r} appears twice")
        out[key] = value
    return out


def write_calibration(path: str | os.PathLike, calibration: BusCalibration) -> Path:
    """Write ``calibration`` as robokit's JSON (atomically: a reader sees the old file or the new)."""
    from robokit.firmware_bridge.calibration import write_json_atomic

    write_json_atomic(Path(path), calibration.to_json())
    return Path(path)


def _from_robokit(data: dict[str, Any], robot: str) -> BusCalibration:
    """robokit's own file (``to_json``): every key known, every value of its type (a bool is not a number)."""
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise CalibrationError(
            f"unknown key {unknown[0]!r} (robokit's calibration has {', '.join(TOP_KEYS)})"
        )
    if data["format"] != FORMAT:
        raise CalibrationError(f"format: want {FORMAT!r}, got {_shown(data['format'])}")
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        raise CalibrationError(f"version: want the whole number {VERSION}, got {_shown(version)}")
    if data.get("robot") != robot or not isinstance(data.get("robot"), str):
        raise CalibrationError(f"robot: it is for {_shown(data.get('robot'))}, not {robot!r}")
    source = data.get("source")
    if not isinstance(source, str) or source not in SOURCES:
        raise CalibrationError(f"source: want one of {list(SOURCES)}, got {_shown(source)}")
    names, ids = _robot_joints(robot)
    joints_raw = data.get("joints")
    if not isinstance(joints_raw, Mapping):
        raise CalibrationError("joints: want an object of joints")
    keys = (*FIELDS, "zero_counts")
    joints = {
        name: _joint(name, ids[k], _joint_entry(joints_raw, name, names, keys, strict=True))
        for k, name in enumerate(names)
    }
    return BusCalibration(robot, joints, source)


def _robot_joints(robot: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    from robokit.robots import robot_folder

    folder = robot_folder(robot)
    if folder.bus is None:
        raise CalibrationError(f"robot {robot} is not a servo-bus arm (no `bus` section)")
    return tuple(folder.spec.joint_names), tuple(folder.bus.ids)


def _joint_entry(
    data: Mapping, name: str, names: tuple[str, ...], keys: tuple[str, ...], strict: bool = False
) -> dict:
    """Joint ``name``'s ``keys`` from ``data``, each a whole number (zero_counts: a whole or half count in
    0..4095); ``strict``: no other keys (robokit's own file; LeRobot's may grow one)."""
    unknown = sorted(set(map(str, data)) - set(names))
    if unknown:
        raise CalibrationError(
            f"unknown joint {_shown(unknown[0])} (this robot's joints: {', '.join(names)})"
        )
    entry = data.get(name)
    if not isinstance(entry, Mapping):
        raise CalibrationError(f"joint {name!r} is missing or not an object")
    extra = sorted(set(map(str, entry)) - set(keys))
    if strict and extra:
        raise CalibrationError(f"{name}: unknown key {_shown(extra[0])} (want {', '.join(keys)})")
    out = {}
    for key in keys:
        if key not in entry:
            raise CalibrationError(f"{name}.{key} is missing")
        value = entry[key]
        whole = isinstance(value, int) and not isinstance(value, bool)  # a bool is not a number here
        if key == "zero_counts":
            half = isinstance(value, float) and math.isfinite(value) and (value * 2).is_integer()
            if not ((whole or half) and 0 <= value <= COUNTS_PER_TURN - 1):
                raise CalibrationError(f"{name}.zero_counts: want a number in 0..{COUNTS_PER_TURN - 1} (a whole "
                                       f"or a half count), got {_shown(value)}")  # fmt: skip
        elif not whole:
            raise CalibrationError(f"{name}.{key}: want a whole number, got {_shown(value)}")
        out[key] = value
    return out


def _joint(name: str, servo_id: int, raw: dict[str, Any]) -> JointCalibration:
    """Check one joint's numbers against each other and the robot's wiring."""
    if raw["id"] != servo_id:
        raise CalibrationError(
            f"{name}.id is {raw['id']}, but the robot folder wires {name} to servo {servo_id}"
        )
    if raw["drive_mode"] not in (0, 1):
        raise CalibrationError(f"{name}.drive_mode must be 0 or 1, got {raw['drive_mode']}")
    if abs(raw["homing_offset"]) > OFFSET_LIMIT:
        raise CalibrationError(f"{name}.homing_offset {raw['homing_offset']} does not fit the servo's field "
                               f"(+-{OFFSET_LIMIT})")  # fmt: skip
    low, high = raw["range_min"], raw["range_max"]
    if not 0 <= low < high <= COUNTS_PER_TURN - 1:
        raise CalibrationError(f"{name}: want 0 <= range_min < range_max <= 4095, got {low}..{high}")
    if not low <= raw["zero_counts"] <= high:
        raise CalibrationError(f"{name}.zero_counts {raw['zero_counts']} is outside its range {low}..{high}")
    return JointCalibration(
        raw["id"], raw["drive_mode"], raw["homing_offset"], low, high, float(raw["zero_counts"])
    )
