"""The STS3215 control table as data (docs/feetech_protocol.md, "Control table").

Each ``Register`` has its address and size (bytes, little-endian), its area (EEPROM: kept over a power
cycle when Lock is 0; RAM: lost), its access, the sign bit of a sign-magnitude field, and the factory
value the virtual servo starts from. Values are in the servo's own units (counts, 0.1 V, 2 us, ...).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Literal

from robokit.firmware_bridge.feetech.protocol import (
    FeetechProtocolError,
    decode_sign_magnitude,
    encode_sign_magnitude,
)

STS3215_MODEL_NUMBER = 777
FIRMWARE_VERSION = (3, 10)  # (major, minor) the virtual servo reports; real servos vary
COUNTS_PER_TURN = 4096  # 12-bit magnetic encoder
MIDDLE_COUNTS = 2048  # what Torque_Enable 128 makes the present position read; robokit's q = 0
RAD_PER_COUNT = 2 * math.pi / COUNTS_PER_TURN
TORQUE_CALIBRATE = 128  # written to Torque_Enable: set the present position as the middle
RAM_START = 40  # addresses below are EEPROM
TABLE_SIZE = 87  # addresses 0..86 answer a READ (unlisted ones read 0)


@dataclass(frozen=True)
class Register:
    """One control-table entry. sign_bit: None for unsigned, else the bit carrying the sign."""

    name: str
    address: int
    size: int
    access: Literal["r", "rw"] = "rw"
    default: int = 0
    sign_bit: int | None = None

    @property
    def area(self) -> Literal["eeprom", "ram"]:
        return "eeprom" if self.address < RAM_START else "ram"

    @property
    def value_range(self) -> tuple[int, int]:
        """(lowest, highest) value the field can hold."""
        if self.sign_bit is not None:
            limit = (1 << self.sign_bit) - 1
            return -limit, limit
        return 0, (1 << (8 * self.size)) - 1

    def encode(self, value: int) -> bytes:
        """``value`` as this register's bytes. Raises FeetechProtocolError when it does not fit."""
        low, high = self.value_range
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise FeetechProtocolError(f"{self.name} {value!r} is not a whole number")
        value = int(value)  # numpy integers too
        if not low <= value <= high:
            raise FeetechProtocolError(f"{self.name} {value!r} is outside {low}..{high}")
        raw = value if self.sign_bit is None else encode_sign_magnitude(value, self.sign_bit)
        return raw.to_bytes(self.size, "little")

    def decode(self, data: bytes) -> int:
        """The value of this register's bytes (signed fields decoded)."""
        raw = int.from_bytes(data[: self.size], "little")
        return raw if self.sign_bit is None else decode_sign_magnitude(raw, self.sign_bit)


_R = Register
STS3215 = (
    # EEPROM (kept over a power cycle only if written with Lock = 0)
    _R("Firmware_Major_Version", 0, 1, "r", FIRMWARE_VERSION[0]),
    _R("Firmware_Minor_Version", 1, 1, "r", FIRMWARE_VERSION[1]),
    _R("Model_Number", 3, 2, "r", STS3215_MODEL_NUMBER),
    _R("ID", 5, 1, default=1),
    _R("Baud_Rate", 6, 1, default=0),  # index 0 = 1 Mbaud
    _R("Return_Delay_Time", 7, 1, default=250),  # 2 us units
    _R("Response_Status_Level", 8, 1, default=1),  # 0: only PING and READ are answered
    _R("Min_Position_Limit", 9, 2, default=0),
    _R("Max_Position_Limit", 11, 2, default=4095),
    _R("Max_Temperature_Limit", 13, 1, default=70),  # C
    _R("Max_Voltage_Limit", 14, 1, default=140),  # 0.1 V
    _R("Min_Voltage_Limit", 15, 1, default=40),  # 0.1 V
    _R("Max_Torque_Limit", 16, 2, default=1000),  # 0.1 %
    _R("Phase", 18, 1, default=0),
    _R("Unloading_Condition", 19, 1, default=0),
    _R("LED_Alarm_Condition", 20, 1, default=0),
    _R("P_Coefficient", 21, 1, default=32),
    _R("D_Coefficient", 22, 1, default=32),
    _R("I_Coefficient", 23, 1, default=0),
    _R("Minimum_Startup_Force", 24, 2, default=0),
    _R("CW_Dead_Zone", 26, 1, default=1),
    _R("CCW_Dead_Zone", 27, 1, default=1),
    _R("Protection_Current", 28, 2, default=500),  # 6.5 mA
    _R("Angular_Resolution", 30, 1, default=1),
    _R("Homing_Offset", 31, 2, default=0, sign_bit=11),  # Present = raw - offset (mod 4096)
    _R("Operating_Mode", 33, 1, default=0),  # 0 position
    _R("Protective_Torque", 34, 1, default=20),  # %
    _R("Protection_Time", 35, 1, default=200),  # 10 ms units
    _R("Overload_Torque", 36, 1, default=80),  # % of max torque
    # RAM (lost at power off)
    _R("Torque_Enable", 40, 1, default=0),  # 0 off, 1 on, 128 set present position as 2048
    _R("Acceleration", 41, 1, default=0),
    _R("Goal_Position", 42, 2, default=0),
    _R("Goal_Time", 44, 2, default=0),
    _R("Goal_Velocity", 46, 2, default=0, sign_bit=15),
    _R("Torque_Limit", 48, 2, default=1000),  # 0.1 %
    _R("Lock", 55, 1, default=1),  # 1: EEPROM writes are not kept over a power cycle
    _R("Present_Position", 56, 2, "r"),
    _R("Present_Velocity", 58, 2, "r", sign_bit=15),  # counts/s
    _R("Present_Load", 60, 2, "r", sign_bit=10),  # 0.1 % of max torque
    _R("Present_Voltage", 62, 1, "r", 120),  # 0.1 V
    _R("Present_Temperature", 63, 1, "r", 30),  # C
    _R("Status", 65, 1, "r"),  # the error bits
    _R("Moving", 66, 1, "r"),
    _R("Present_Current", 69, 2, "r"),  # 6.5 mA
)
REGISTERS: dict[str, Register] = {r.name: r for r in STS3215}


def turn_delta(new: Any, old: Any) -> Any:
    """The change from ``old`` to ``new`` encoder counts taken the short way round the turn (-2048 ..
    2048): a joint that crossed the 0/4095 seam moved a few counts, not a whole turn. Scalars or arrays."""
    return (new - old + COUNTS_PER_TURN / 2) % COUNTS_PER_TURN - COUNTS_PER_TURN / 2


def register(name: str) -> Register:
    """The register called ``name``; raises KeyError listing the known names."""
    try:
        return REGISTERS[name]
    except KeyError:
        raise KeyError(f"no STS3215 register {name!r}; known: {', '.join(REGISTERS)}") from None


def factory_table() -> bytearray:
    """The whole table (TABLE_SIZE bytes) at factory values."""
    table = bytearray(TABLE_SIZE)
    for r in STS3215:
        table[r.address : r.address + r.size] = r.encode(r.default)
    return table
