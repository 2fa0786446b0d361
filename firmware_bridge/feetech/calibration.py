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

FORMAT = "robokit-feetech-calibration"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024
OFFSET_LIMIT = 2047  # Homing_Offset is sign-magnitude with its sign in bit 11
FIELDS = ("id", "drive_mode", "homing_offset", "range_min", "range_max")  # LeRobot's per-joint keys
SOURCES = ("robokit", "lerobot")

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
    ``from_lerobot``). Raises CalibrationError naming the file and what is wrong."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CalibrationError(f"{path} is larger than {MAX_FILE_BYTES} bytes: not a calibration file")
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)
    except CalibrationError as exc:  # a key twice
        raise CalibrationError(f"calibration {path}: {exc}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationError(
            f"cannot read calibration {path}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        if isinstance(data, dict) and "format" in data:
            return _from_robokit(data, robot)
        return from_lerobot(data, robot)
    except CalibrationError as exc:
        raise CalibrationError(f"calibration {path}: {exc}") from None


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
    if data.get("format") != FORMAT or data.get("version") != VERSION:
        raise CalibrationError(f"want format {FORMAT!r} version {VERSION}, got {data.get('format')!r} "
                               f"version {data.get('version')!r}")  # fmt: skip
    if data.get("robot") != robot:
        raise CalibrationError(f"it is for robot {data.get('robot')!r}, not {robot}")
    if data.get("source") not in SOURCES:
        raise CalibrationError(f"source must be one of {list(SOURCES)}, got {data.get('source')!r}")
    names, ids = _robot_joints(robot)
    joints_raw = data.get("joints")
    if not isinstance(joints_raw, Mapping):
        raise CalibrationError("joints: want an object of joints")
    joints = {
        name: _joint(name, ids[k], _joint_entry(joints_raw, name, names, (*FIELDS, "zero_counts")))
        for k, name in enumerate(names)
    }
    return BusCalibration(robot, joints, data["source"])


def _robot_joints(robot: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    from robokit.robots import robot_folder

    folder = robot_folder(robot)
    if folder.bus is None:
        raise CalibrationError(f"robot {robot} is not a servo-bus arm (no `bus` section)")
    return tuple(folder.spec.joint_names), tuple(folder.bus.ids)


def _joint_entry(data: Mapping, name: str, names: tuple[str, ...], keys: tuple[str, ...]) -> dict:
    unknown = sorted(set(map(str, data)) - set(names))
    if unknown:
        raise CalibrationError(f"unknown joint {unknown[0]!r} (this robot's joints: {', '.join(names)})")
    entry = data.get(name)
    if not isinstance(entry, Mapping):
        raise CalibrationError(f"joint {name!r} is missing or not an object")
    out = {}
    for key in keys:
        if key not in entry:
            raise CalibrationError(f"{name}.{key} is missing")
        value = entry.get(key)
        whole = isinstance(value, int) and not isinstance(value, bool)
        half = (
            key == "zero_counts"
            and isinstance(value, float)
            and math.isfinite(value)
            and value * 2 == round(value * 2)
        )
        if not (whole or half):
            raise CalibrationError(f"{name}.{key}: want a whole number, got {repr(value)[:40]}")
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
