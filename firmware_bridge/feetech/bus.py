"""A Feetech STS bus over a serial port: ping, read, write, sync read, sync write by register name
(docs/feetech_protocol.md, "robokit's bus client").

Faults are data. A missing, corrupt or mismatched status packet is retried and counted per servo
(``counters``); only when the retries are used up does ``ServoNotAnswering`` name the servo and the
baud. Status error bits are recorded (``last_error``), never raised: the arm driver above decides.

    with FeetechBus("/dev/ttyACM0") as bus:
        bus.ping(1)
        positions = bus.sync_read("Present_Position", [1, 2, 3, 4, 5, 6])   # {id: counts}
        bus.sync_write("Goal_Position", {1: 2048, 2: 2100})
"""

from __future__ import annotations

import contextlib
import termios
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import serial

from robokit.core.arm import ArmDisconnected, ArmError
from robokit.firmware_bridge.feetech import protocol as fp
from robokit.firmware_bridge.feetech.control_table import Register, register
from robokit.firmware_bridge.serial_port import open_port

BAUD = 1_000_000  # STS3215 factory rate (Baud_Rate index 0)
BITS_PER_BYTE = 10  # 8N1: start + 8 data + stop
STATUS_OVERHEAD = 6  # FF FF id len error chk
READ_POLL_S = 0.001  # the port's read timeout: how often the reply loop checks its deadline
# what a port that went away raises: pyserial's error, the OS's, and termios.error from a flush (tcflush) on
# a pseudo-terminal whose other end closed (EIO), which is neither
PORT_ERRORS = (serial.SerialException, OSError, termios.error)

__all__ = ["BAUD", "FeetechBus", "FeetechBusError", "ServoCounters", "ServoNotAnswering"]


class FeetechBusError(ArmError):
    """A failure on a Feetech bus that is not a lost port."""


class ServoNotAnswering(FeetechBusError):
    """No valid status packet from ``servo_ids`` (``servo_id``: the first) in ``tries`` tries at ``baud``;
    ``detail``: {id: 'T timeouts, C corrupt'}. The arm driver adds joint names."""

    def __init__(self, servo_ids: Sequence[int], baud: int, tries: int, detail: Mapping[int, str]) -> None:
        self.servo_ids, self.baud, self.tries, self.detail = tuple(servo_ids), baud, tries, dict(detail)
        self.servo_id = self.servo_ids[0]
        if len(self.servo_ids) == 1:
            msg = f"servo {self.servo_id} does not answer at {baud} baud ({tries} tries: {detail[self.servo_id]})"
        else:
            names = ", ".join(str(i) for i in self.servo_ids[:-1]) + f" and {self.servo_ids[-1]}"
            msg = f"servos {names} do not answer at {baud} baud ({tries} tries each)"
        super().__init__(msg)


@dataclass
class ServoCounters:
    """Per-servo transaction counts. requests: calls that expected a reply; timeouts / corrupt: tries
    that got nothing / a bad or mismatched packet; retries: tries after the first; failures: calls that
    raised ServoNotAnswering; errors: status packets with any error bit set."""

    requests: int = 0
    timeouts: int = 0
    corrupt: int = 0
    retries: int = 0
    failures: int = 0
    errors: int = 0


class FeetechBus:
    """One serial port to a bus of Feetech STS servos.

    url: a device path (opened exclusively) or a pyserial URL; baud: the bus rate; timeout_s: how long a
    transaction waits for replies beyond their wire time (s); retries: extra tries after a missing or
    corrupt status packet. Assumes Response_Status_Level 1 (the factory value: WRITE is answered).
    Raises PortError (ArmDisconnected) on open, ArmDisconnected when the port fails later.
    """

    def __init__(self, url: str, baud: int = BAUD, *, timeout_s: float = 0.02, retries: int = 2) -> None:
        if retries < 0:
            raise ValueError(f"retries must be >= 0, not {retries}")
        self.url, self.baud, self.timeout_s, self.retries = url, baud, timeout_s, retries
        self.ser: serial.SerialBase | None = None
        self.decoder = fp.PacketDecoder()
        self.counters: dict[int, ServoCounters] = {}
        self.last_error: dict[int, int] = {}

    # --- lifecycle -------------------------------------------------------------------------------

    def open(self) -> FeetechBus:
        """Open the port (PortBusy / PortPermissionError / PortError); returns self."""
        if self.ser is None:
            self.ser = open_port(self.url, self.baud, timeout_s=READ_POLL_S)
        return self

    def close(self) -> None:
        """Close the port; never raises."""
        if self.ser is not None:
            with contextlib.suppress(Exception):
                self.ser.close()
            self.ser = None

    def __enter__(self) -> FeetechBus:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- operations ------------------------------------------------------------------------------

    def ping(self, servo_id: int) -> int:
        """PING ``servo_id``; returns its status error bits (0: healthy). Raises ServoNotAnswering."""
        return self._exchange(lambda _: fp.ping(servo_id), [servo_id], 0)[servo_id].error

    def read_bytes(self, servo_id: int, address: int, size: int) -> bytes:
        """READ ``size`` bytes at ``address``. Raises ServoNotAnswering."""
        return self._exchange(lambda _: fp.read(servo_id, address, size), [servo_id], size)[servo_id].params

    def write_bytes(self, servo_id: int, address: int, data: bytes) -> None:
        """WRITE ``data`` at ``address``; a broadcast (0xFE) is not answered, so not waited for.
        Raises ServoNotAnswering."""
        packet = fp.write(servo_id, address, data)
        if servo_id == fp.BROADCAST_ID:
            self._send(packet)
            return
        self._exchange(lambda _: packet, [servo_id], 0)

    def read(self, servo_id: int, name: str) -> int:
        """The value of register ``name`` (signed fields decoded). Raises KeyError, ServoNotAnswering."""
        reg = register(name)
        return reg.decode(self.read_bytes(servo_id, reg.address, reg.size))

    def write(self, servo_id: int, name: str, value: int) -> None:
        """Write ``value`` to register ``name``. Raises KeyError, FeetechProtocolError (read-only register,
        value out of range: nothing is sent), ServoNotAnswering."""
        reg = _writable(name)
        self.write_bytes(servo_id, reg.address, reg.encode(value))

    def sync_read(self, name: str, servo_ids: Iterable[int]) -> dict[int, int]:
        """{id: value} of register ``name`` from every servo in one SYNC_READ; servos that did not answer
        are asked again (only they). Raises ServoNotAnswering naming those still silent."""
        reg, ids = register(name), list(servo_ids)
        packets = self._exchange(lambda wanted: fp.sync_read(reg.address, reg.size, wanted), ids, reg.size)
        return {i: reg.decode(packets[i].params) for i in ids}

    def sync_read_block(self, address: int, size: int, servo_ids: Iterable[int]) -> dict[int, bytes]:
        """{id: the ``size`` bytes at ``address``} from every servo in one SYNC_READ (a run of registers,
        e.g. Present_Position to Present_Load); servos that did not answer are asked again. Raises
        ServoNotAnswering."""
        ids = list(servo_ids)
        packets = self._exchange(lambda wanted: fp.sync_read(address, size, wanted), ids, size)
        return {i: packets[i].params for i in ids}

    def sync_write(self, name: str, values: Mapping[int, int]) -> None:
        """Write register ``name`` on several servos in one SYNC_WRITE (no reply). Raises KeyError,
        FeetechProtocolError (nothing sent)."""
        reg = _writable(name)
        data = {i: reg.encode(v) for i, v in values.items()}
        self._send(fp.sync_write(reg.address, reg.size, data))

    # --- transactions ----------------------------------------------------------------------------

    def _counter(self, servo_id: int) -> ServoCounters:
        return self.counters.setdefault(servo_id, ServoCounters())

    def _exchange(
        self, build: Callable[[list[int]], bytes], ids: list[int], size: int
    ) -> dict[int, fp.Packet]:
        """Send ``build(waiting)`` until every id in ``ids`` answered with ``size`` bytes, at most
        1 + retries times; returns {id: status packet}. Raises ServoNotAnswering."""
        got: dict[int, fp.Packet] = {}
        waiting = list(ids)
        misses = {i: [0, 0] for i in ids}  # this call's timeouts, corrupt replies
        for i in ids:
            self._counter(i).requests += 1
        for attempt in range(self.retries + 1):
            if attempt:
                for i in waiting:
                    self._counter(i).retries += 1
            answers, corrupt = self._transact(build(waiting), waiting, size)
            for i in waiting:
                if i in answers:
                    got[i] = answers[i]
                elif i in corrupt:
                    self._counter(i).corrupt += 1
                    misses[i][1] += 1
                else:
                    self._counter(i).timeouts += 1
                    misses[i][0] += 1
            waiting = [i for i in waiting if i not in got]
            if not waiting:
                break
        for i, packet in got.items():
            self.last_error[i] = packet.error
            self._counter(i).errors += bool(packet.error)
        if waiting:
            raise self._not_answering(waiting, misses)
        return got

    def _not_answering(self, ids: list[int], misses: dict[int, list[int]]) -> ServoNotAnswering:
        detail = {}
        for i in ids:
            self._counter(i).failures += 1
            timeouts, corrupt = misses[i]
            parts = [f"{n} {what}" for n, what in ((timeouts, "timeouts"), (corrupt, "corrupt")) if n]
            detail[i] = ", ".join(parts)
        return ServoNotAnswering(ids, self.baud, self.retries + 1, detail)

    def _transact(self, packet: bytes, ids: list[int], size: int) -> tuple[dict[int, fp.Packet], set[int]]:
        """One try: flush stale input, send, collect status packets until all ``ids`` answered or the
        deadline. Returns ({id: packet}, ids whose reply was corrupt or of the wrong size)."""
        ser = self._port()
        wire_s = (len(packet) + len(ids) * (STATUS_OVERHEAD + size)) * BITS_PER_BYTE / self.baud
        answers: dict[int, fp.Packet] = {}
        corrupt: set[int] = set()
        self.decoder.clear()
        self.decoder.rejected_ids.clear()
        try:
            ser.reset_input_buffer()
            ser.write(packet)
            deadline = time.monotonic() + wire_s + self.timeout_s
            while len(answers) < len(ids):
                if time.monotonic() >= deadline:
                    self._collect(self.decoder.drain(), ids, size, answers, corrupt)
                    break
                data = ser.read(max(1, ser.in_waiting))
                if data:
                    self._collect(self.decoder.feed(data), ids, size, answers, corrupt)
        except PORT_ERRORS as exc:
            raise ArmDisconnected(f"Feetech bus on {self.url} lost ({exc})") from exc
        corrupt.update(i for i in self.decoder.rejected_ids if i in ids and i not in answers)
        return answers, corrupt

    @staticmethod
    def _collect(packets: list[fp.Packet], ids: list[int], size: int, answers: dict, corrupt: set) -> None:
        for p in packets:
            if p.servo_id not in ids or p.servo_id in answers:
                continue  # a stray or duplicate packet
            if len(p.params) != size or p.error & 0x80:
                corrupt.add(p.servo_id)
            else:
                answers[p.servo_id] = p

    def _send(self, packet: bytes) -> None:
        """Write a packet that gets no reply (broadcast, SYNC_WRITE); stale input is flushed by the next
        transaction that waits for replies, not here (a syscall less per tick)."""
        ser = self._port()
        try:
            ser.write(packet)
        except PORT_ERRORS as exc:
            raise ArmDisconnected(f"Feetech bus on {self.url} lost ({exc})") from exc

    def _port(self) -> serial.SerialBase:
        if self.ser is None:
            raise ArmDisconnected(f"Feetech bus on {self.url} is not open")
        return self.ser


def _writable(name: str) -> Register:
    reg = register(name)
    if reg.access != "rw":
        raise fp.FeetechProtocolError(f"{name} is read-only")
    return reg
