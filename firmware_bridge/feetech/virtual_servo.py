"""One virtual STS3215: its control table and how it answers instructions (docs/feetech_protocol.md).

No I/O and no clock: ``VirtualBus`` feeds it instruction packets and plant states. What it models:
the EEPROM/RAM table with Lock (an EEPROM write takes effect at once and survives ``power_cycle()`` only
if made with Lock 0), read-only registers, Homing_Offset (Present_Position = raw - offset, mod 4096),
position limits clamping goals, Torque_Enable 128 (the present position becomes 2048), Return_Delay_Time,
Response_Status_Level, the overload latch and the voltage bit.
"""

from __future__ import annotations

from robokit.firmware_bridge.feetech import control_table as ct
from robokit.firmware_bridge.feetech.plant import PlantState
from robokit.firmware_bridge.feetech.protocol import ErrorBit, Instruction

STALL_CURRENT_A = 2.7  # STS3215 phase current at full load, 12 V (model): Present_Current = |load| x this
CURRENT_UNIT_A = 0.0065
_REG = ct.REGISTERS
_A = {name: r.address for name, r in _REG.items()}  # one-byte registers read by address in hot paths
_READ_ONLY = {a for r in ct.STS3215 if r.access == "r" for a in range(r.address, r.address + r.size)}
_EEPROM_END = ct.RAM_START


class VirtualServo:
    """A virtual STS3215 with id ``servo_id`` whose joint starts at ``raw_counts`` (encoder counts).

    Faults: ``silent`` (answers nothing); ``set_voltage(volts)``; a stall in the plant trips the overload
    latch after Protection_Time. ``table`` is the live control table, ``eeprom`` what survives a power
    cycle."""

    def __init__(self, servo_id: int = 1, raw_counts: float = 2048.0) -> None:
        self.eeprom = ct.factory_table()[:_EEPROM_END]
        self.eeprom[_REG["ID"].address] = servo_id
        self.silent = False
        self.raw = float(raw_counts)  # unwrapped encoder counts from the plant
        self.velocity = 0.0  # counts/s, from the plant
        self.power_cycle()

    # --- registers -------------------------------------------------------------------------------

    def get(self, name: str) -> int:
        """Register ``name``'s value (signed fields decoded)."""
        r = ct.register(name)
        return r.decode(self.table[r.address : r.address + r.size])

    def set(self, name: str, value: int) -> None:
        """Set register ``name`` as the servo itself would (no access check, no Lock, not persisted).
        Raises FeetechProtocolError if the value does not fit."""
        r = ct.register(name)
        self.table[r.address : r.address + r.size] = r.encode(value)

    def _put(self, name: str, value: int) -> None:
        """``set`` without the range check, for values the servo computes itself (hot path)."""
        r = _REG[name]
        raw = (-value) | (1 << r.sign_bit) if r.sign_bit is not None and value < 0 else value
        self.table[r.address : r.address + r.size] = raw.to_bytes(r.size, "little")

    @property
    def servo_id(self) -> int:
        return self.table[_REG["ID"].address]

    @property
    def return_delay_s(self) -> float:
        return self.table[_REG["Return_Delay_Time"].address] * 2e-6

    @property
    def torque_enabled(self) -> bool:
        return self.table[_A["Torque_Enable"]] == 1

    def error_bits(self) -> int:
        """The error byte of the next status packet (also the Status register)."""
        t = self.table
        bits = 0
        if not t[_A["Min_Voltage_Limit"]] <= t[_A["Present_Voltage"]] <= t[_A["Max_Voltage_Limit"]]:
            bits |= ErrorBit.VOLTAGE
        if t[_A["Present_Temperature"]] > t[_A["Max_Temperature_Limit"]]:
            bits |= ErrorBit.OVERHEAT
        if self.overload_latched:
            bits |= ErrorBit.OVERLOAD
        return int(bits)

    def set_voltage(self, volts: float) -> None:
        """The supply voltage the servo measures (Present_Voltage, 0.1 V)."""
        self.set("Present_Voltage", max(0, min(255, round(volts * 10))))

    def power_cycle(self) -> None:
        """Switch off and on: RAM to factory values, EEPROM as last kept, latches cleared, the goal where
        the joint is."""
        self.table = ct.factory_table()
        self.table[:_EEPROM_END] = self.eeprom
        self.set("Torque_Limit", self.get("Max_Torque_Limit"))
        self.overload_latched = False
        self._overload_s = 0.0
        self._pending: tuple[int, bytes] | None = None
        self.show_position()
        self.set("Goal_Position", self.get("Present_Position"))

    # --- instructions ----------------------------------------------------------------------------

    def handle(self, instruction: int, params: bytes) -> bytes | None:
        """Carry out one instruction addressed to this servo; returns the status packet's params, or None
        when the servo does not answer (silent, or Response_Status_Level 0 for a write)."""
        if self.silent:
            return None
        reply: bytes | None = b""
        if instruction == Instruction.READ and len(params) == 2:
            reply = self.read(params[0], params[1])
        elif instruction in (Instruction.WRITE, Instruction.REG_WRITE) and params:
            if instruction == Instruction.WRITE:
                self.write(params[0], params[1:])
            else:
                self._pending = (params[0], bytes(params[1:]))
        elif instruction == Instruction.ACTION and self._pending:
            self.write(*self._pending)
            self._pending = None
        if instruction not in (Instruction.PING, Instruction.READ) and self.get("Response_Status_Level") == 0:
            return None
        return reply

    def read(self, address: int, size: int) -> bytes:
        """``size`` bytes from ``address`` (beyond the table: zeros)."""
        return bytes(self.table[address : address + size]).ljust(size, b"\0")

    def write(self, address: int, data: bytes) -> None:
        """Write ``data`` at ``address`` as the servo does: read-only bytes and bytes past the table are
        ignored; EEPROM bytes are kept over a power cycle only with Lock 0; then the side effects of
        Torque_Enable and Goal_Position."""
        torque_before = self.get("Torque_Enable")
        for offset, byte in enumerate(data):
            a = address + offset
            if a >= ct.TABLE_SIZE or a in _READ_ONLY:
                continue
            if a == _REG["ID"].address and byte > 253:  # 254 is broadcast, 255 never an id (model)
                continue
            self.table[a] = byte
        self._persist(address, len(data))
        end = address + len(data)
        if address <= _REG["Torque_Enable"].address < end:
            self._torque_written(torque_before)
        if address < _REG["Goal_Position"].address + 2 and end > _REG["Goal_Position"].address:
            self.set("Goal_Position", self._clamped_goal())

    def _persist(self, address: int, size: int) -> None:
        """Copy written EEPROM bytes to the kept EEPROM if the lock is open."""
        if self.get("Lock") == 0:
            for a in range(address, min(address + size, _EEPROM_END)):
                self.eeprom[a] = self.table[a]

    def _torque_written(self, before: int) -> None:
        value = self.get("Torque_Enable")
        if value == ct.TORQUE_CALIBRATE:
            self.set("Torque_Enable", before)
            self._calibrate_middle()
        elif value == 1 and self.overload_latched:
            self.set("Torque_Enable", 0)
        elif value == 1 and before != 1:  # enabling holds where the joint is (model)
            self.set("Goal_Position", self.get("Present_Position"))

    def _calibrate_middle(self) -> None:
        """Torque_Enable 128: Homing_Offset such that the present position reads 2048."""
        offset = (round(self.raw) - ct.MIDDLE_COUNTS) % ct.COUNTS_PER_TURN
        if offset >= ct.COUNTS_PER_TURN // 2:
            offset -= ct.COUNTS_PER_TURN
        offset = max(offset, -2047)  # -2048 is not representable: the pose then reads 2047
        r = _REG["Homing_Offset"]
        self.set("Homing_Offset", offset)
        self._persist(r.address, r.size)
        self.show_position()

    def _clamped_goal(self) -> int:
        goal = self.get("Goal_Position")
        low, high = self.get("Min_Position_Limit"), self.get("Max_Position_Limit")
        return min(max(goal, low), high) if low < high else goal

    # --- the plant -------------------------------------------------------------------------------

    def goal_counts(self) -> float:
        """The goal as unwrapped encoder counts for the plant: single-turn absolute control, so the joint
        goes to ``(Goal_Position + Homing_Offset) mod 4096`` without crossing the 0/4095 seam."""
        target = (self.get("Goal_Position") + self.get("Homing_Offset")) % ct.COUNTS_PER_TURN
        return self.raw + (target - self.raw % ct.COUNTS_PER_TURN)

    def update(self, state: PlantState, index: int, dt_s: float) -> None:
        """Take joint ``index`` of the plant's new ``state`` after ``dt_s`` s: present registers, overload."""
        self.raw = float(state.counts[index])
        self.velocity = float(state.velocity_counts_s[index])
        load = float(state.load[index])
        self.show_position()
        self._put("Present_Velocity", max(-32767, min(32767, round(float(state.velocity_counts_s[index])))))
        self._put("Present_Load", max(-1000, min(1000, round(load * 1000))))
        self.table[_A["Moving"]] = int(bool(state.moving[index]))
        self._put("Present_Current", min(2047, round(abs(load) * STALL_CURRENT_A / CURRENT_UNIT_A)))
        self._check_overload(abs(load) * 100, dt_s)
        self.table[_A["Status"]] = self.error_bits()

    def show_position(self, ahead_s: float = 0.0) -> None:
        """Present_Position as the encoder reads ``ahead_s`` s after the plant's last state (the plant
        moves in whole physics steps; a real servo reads its encoder when asked): moved on at the
        joint's velocity. The next plant state replaces it."""
        raw = round(self.raw + self.velocity * ahead_s)
        self._put("Present_Position", (raw - self.get("Homing_Offset")) % ct.COUNTS_PER_TURN)

    def _check_overload(self, load_pct: float, dt_s: float) -> None:
        """Load above Overload_Torque for Protection_Time latches torque off with the overload bit."""
        t = self.table
        if t[_A["Torque_Enable"]] == 1 and load_pct > t[_A["Overload_Torque"]]:
            self._overload_s += dt_s
            if self._overload_s >= t[_A["Protection_Time"]] * 0.01:
                self.overload_latched = True
                t[_A["Torque_Enable"]] = 0
        else:
            self._overload_s = 0.0
