"""A robot folder's ``bus`` section: how its real arm is wired, for robots driven over a servo bus.

    bus:
      driver: feetech            # robokit.firmware_bridge.<driver>
      baud: 1000000
      ids: [1, 2, 3, 4, 5, 6]    # one servo id per joint, in the spec's joint order
      model_number: 777          # every servo must report it (STS3215: 777)
      drive_mode: [0, 0, 0, 0, 0, 0]   # 1: the joint's angle grows as the servo's counts fall
      supply_v: [10.5, 13.5]     # the bus voltage the arm works at; outside it, enable is refused
      positive: [turns right, ...]   # per joint, how it moves as its angle grows (calibration's prompts)

The section is untrusted input like the rest of robot.yaml: checked here, one RobotFolderError otherwise.
A robot without it (the Panda, the own-firmware servo arm) has ``RobotFolder.bus`` None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DRIVERS = ("feetech",)
KEYS = ("driver", "baud", "ids", "model_number", "drive_mode", "supply_v", "positive")
RATE_RANGE = (9_600, 4_000_000)  # bit/s a USB serial adapter can be asked for
MAX_SERVO_ID = 253  # 254 (0xFE) is broadcast


@dataclass(frozen=True)
class BusSettings:
    """The checked ``bus`` section (see the module docstring); tuples are in the spec's joint order."""

    driver: str
    baud: int
    ids: tuple[int, ...]
    model_number: int
    drive_mode: tuple[int, ...]
    supply_v: tuple[float, float]
    positive: tuple[str, ...] = ()

    @property
    def signs(self) -> tuple[float, ...]:
        """Per joint, +1.0, or -1.0 where ``drive_mode`` is 1 (the angle grows as the counts fall)."""
        return tuple(-1.0 if mode == 1 else 1.0 for mode in self.drive_mode)

    def joint_of(self, servo_id: int, joint_names: tuple[str, ...]) -> str:
        """The joint name servo ``servo_id`` drives ("?" for an id not on this arm)."""
        return joint_names[self.ids.index(servo_id)] if servo_id in self.ids else "?"


def check_bus(check: Any, raw: Any, n_joints: int) -> BusSettings | None:
    """The ``bus`` section checked with the folder's checker (RobotFolderError), or None if absent."""
    if raw is None:
        return None
    raw = check.mapping(raw, "bus", KEYS, ("driver", "baud", "ids"))
    driver = check.text(raw["driver"], "bus.driver")
    if driver not in DRIVERS:
        raise check.fail("bus.driver", f"unknown driver {driver!r}; known: {list(DRIVERS)}")
    rate = _ints(check, [raw["baud"]], "bus.baud", 1, *RATE_RANGE)[0]
    ids = _ints(check, raw["ids"], "bus.ids", n_joints, 0, MAX_SERVO_ID)
    if len(set(ids)) != len(ids):
        raise check.fail("bus.ids", f"two joints share a servo id: {list(ids)}")
    model = _ints(check, [raw.get("model_number", 777)], "bus.model_number", 1, 0, 65535)[0]
    drive = _ints(check, raw.get("drive_mode", [0] * n_joints), "bus.drive_mode", n_joints, 0, 1)
    low, high = check.numbers(raw.get("supply_v", [4.5, 14.0]), "bus.supply_v", 2)
    if not 0 < low < high <= 30:
        raise check.fail("bus.supply_v", f"want 0 < low < high <= 30 V, got {[low, high]}")
    positive = raw.get("positive", ["grows"] * n_joints)
    if not isinstance(positive, list) or len(positive) != n_joints:
        raise check.fail("bus.positive", f"want a list of {n_joints} descriptions, got {positive!r}")
    words = tuple(check.text(v, f"bus.positive[{i}]") for i, v in enumerate(positive))
    return BusSettings(driver, rate, ids, model, drive, (low, high), words)


def _ints(check: Any, value: Any, where: str, n: int, low: int, high: int) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) != n:
        raise check.fail(where, f"want a list of {n} whole numbers, got {value!r}")
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise check.fail(f"{where}[{i}]", f"want a whole number in [{low}, {high}], got {v!r}")
    return tuple(value)
