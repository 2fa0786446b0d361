"""A virtual bus of STS3215 servos on a real pseudo-terminal, answering byte for byte as the servos would
(docs/feetech_protocol.md, "The virtual bus"). Any client talks to it: robokit's ``FeetechBus``,
``scservo_sdk``, LeRobot.

    vbus = VirtualBus(servo_ids=range(1, 7))
    with vbus as port:                     # a thread serves the pty; port is its path
        vbus.drop_rate = 0.1               # faults on demand
        ... open ``port`` with any client at 1000000 baud ...

A thread reads the pty master, decodes instruction packets, lets the addressed servos (``VirtualServo``)
act, and writes their status packets no earlier than the wire would carry them: 10 bits per byte at
``baud`` for the request and each reply, plus each servo's Return_Delay_Time. Between requests it steps
the plant (``plant.Plant``, default ``KinematicPlant``) in real time.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import threading
import time
import tty
from collections.abc import Iterable

import numpy as np

from robokit.firmware_bridge.feetech import control_table as ct
from robokit.firmware_bridge.feetech import protocol as fp
from robokit.firmware_bridge.feetech.bus import BAUD
from robokit.firmware_bridge.feetech.plant import KinematicPlant, Plant
from robokit.firmware_bridge.feetech.virtual_servo import VirtualServo

BITS_PER_BYTE = 10  # 8N1
TICK_S = 0.005  # how often the plant is stepped while the bus is idle
MAX_STEP_S = 0.05  # a longer pause (a stalled thread) is not simulated as one big step
PACKET_GAP_S = 0.01  # bytes after a longer pause start afresh: a partial packet before it is dropped (model)

__all__ = ["VirtualBus"]


class VirtualBus:
    """Virtual STS3215 servos with ids ``servo_ids`` behind one pty, the plant's joints in that order.

    plant: what the servos move (default a KinematicPlant starting at 2048 counts); baud: the rate the
    wire time is computed at; return_delay: if given, every servo's Return_Delay_Time (2 us units; the
    factory value is 250); seed: for the fault dice.

    Faults: ``drop_rate`` / ``corrupt_rate`` (0..1, per status packet; a corrupted packet has one bit
    flipped after its header), ``servo(id).silent``, ``servo(id).set_voltage(volts)``, a stalled plant
    joint (overload latch), ``power_cycle()``. Counters in ``stats``.
    """

    def __init__(
        self,
        servo_ids: Iterable[int] = range(1, 7),
        plant: Plant | None = None,
        *,
        baud: int = BAUD,
        return_delay: int | None = None,
        seed: int = 0,
    ) -> None:
        ids = list(servo_ids)
        self.plant: Plant = plant if plant is not None else KinematicPlant(len(ids))
        if self.plant.n_joints != len(ids):
            raise ValueError(f"{len(ids)} servos but the plant has {self.plant.n_joints} joints")
        start = self.plant.state().counts
        self.servos = [VirtualServo(i, float(start[k])) for k, i in enumerate(ids)]
        if return_delay is not None:
            address = ct.register("Return_Delay_Time").address
            for s in self.servos:
                s.eeprom[address] = s.table[address] = return_delay
        self.baud = baud
        self.drop_rate = 0.0
        self.corrupt_rate = 0.0
        self.stats = {
            "requests": 0,
            "replies": 0,
            "dropped": 0,
            "corrupted": 0,
            "bad_checksum": 0,
            "refused": 0,
        }
        self._last_byte = 0.0
        self.port: str | None = None
        self.lock = threading.RLock()
        self._rng = random.Random(seed)
        self._decoder = fp.PacketDecoder()
        self._fds: tuple[int, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._line_free = 0.0  # time.monotonic() when the last reply has crossed the wire
        self._state_at = time.monotonic()  # the clock time the plant's last state is of

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> str:
        """Open the pty and start serving; returns the path clients open."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo or line editing even before a client sets the port up
        os.set_blocking(master, False)
        self._fds = (master, slave)
        self.port = os.ttyname(slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="VirtualBus", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Stop serving and close the pty; a client's next read sees nothing, its writes go nowhere."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        if self._fds is not None:
            for fd in self._fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._fds = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the servos ------------------------------------------------------------------------------

    def servo(self, servo_id: int) -> VirtualServo:
        """The servo now answering to ``servo_id`` (ids can be rewritten); raises KeyError."""
        for s in self.servos:
            if s.servo_id == servo_id:
                return s
        raise KeyError(f"no virtual servo with id {servo_id}")

    def power_cycle(self) -> None:
        """Switch every servo off and on (RAM reset, EEPROM as kept, latches cleared)."""
        with self.lock:
            for s in self.servos:
                s.power_cycle()

    # --- serving ---------------------------------------------------------------------------------

    def _serve(self) -> None:
        assert self._fds is not None
        master = self._fds[0]
        last = time.monotonic()
        while not self._stop.is_set():
            ready, _, _ = select.select([master], [], [], max(0.0, last + TICK_S - time.monotonic()))
            now = time.monotonic()
            replied = False
            if ready:  # answer first: a request does not wait for a physics step
                replied = self._read_and_answer(master, now)
            # right after a reply the client is busy with it: step then if half a tick is due, so the
            # next request rarely arrives during a step (at 200 Hz it would wait up to ~0.8 ms for one)
            if time.monotonic() - last >= (TICK_S / 2 if replied else TICK_S):
                with self.lock:
                    self._step(min(time.monotonic() - last, MAX_STEP_S))
                last = time.monotonic()

    def _read_and_answer(self, master: int, now: float) -> bool:
        """Read what the client wrote and answer it; returns whether any status packet was sent."""
        try:
            data = os.read(master, 4096)
        except (BlockingIOError, OSError):  # EIO while no client has the slave open
            time.sleep(TICK_S)
            return False
        replied = False
        with self.lock:
            if now - self._last_byte > PACKET_GAP_S:  # a servo drops a packet cut short by a pause
                self._decoder.clear()
            self._last_byte = now
            bad = self._decoder.bad_checksum
            packets = self._decoder.feed(data)
            self.stats["bad_checksum"] += self._decoder.bad_checksum - bad
            for packet in packets:
                try:
                    replied |= self._answer(master, packet, now)
                except (fp.FeetechProtocolError, ValueError, IndexError):  # a request no servo can serve
                    self.stats["refused"] += 1
        return replied

    def _step(self, dt_s: float) -> None:
        goals = np.array([s.goal_counts() for s in self.servos])
        torque = np.array([s.torque_enabled for s in self.servos])
        state = self.plant.step(goals, torque, dt_s)
        # the state is of the plant's time: behind the clock by what it has not stepped yet (whole steps)
        self._state_at = time.monotonic() - float(getattr(self.plant, "behind_s", 0.0))
        for k, s in enumerate(self.servos):
            s.update(state, k, dt_s)

    def _answer(self, master: int, packet: fp.Packet, arrived: float) -> bool:
        """Let the addressed servos act on ``packet`` and write their replies on time; returns whether
        any were written."""
        self.stats["requests"] += 1
        request_bytes = 6 + len(packet.params)
        t = max(arrived, self._line_free) + request_bytes * BITS_PER_BYTE / self.baud
        out = bytearray()
        for servo, params in self._replies(packet):
            reply = fp.status(servo.servo_id, servo.error_bits(), params)
            t += servo.return_delay_s + len(reply) * BITS_PER_BYTE / self.baud
            out += self._damaged(reply)
        if out:  # a sync read's replies leave together once the last would have crossed the wire: one
            self._send(master, bytes(out), t)  # wake-up, not one per servo (a client reads them all anyway)
        self._line_free = t
        return bool(out)

    def _replies(self, packet: fp.Packet) -> list[tuple[VirtualServo, bytes]]:
        """(servo, status params) for every reply ``packet`` asks for, in order; acts on the servos."""
        code, params = packet.code, packet.params
        if packet.servo_id != fp.BROADCAST_ID:
            servo = next((s for s in self.servos if s.servo_id == packet.servo_id), None)
            if servo is not None and code == fp.Instruction.READ:
                servo.show_position(time.monotonic() - self._state_at)
            reply = servo.handle(code, params) if servo is not None else None
            return [] if reply is None else [(servo, reply)]
        if code == fp.Instruction.SYNC_READ and len(params) >= 2:
            address, size = params[0], params[1]
            self._fresh_positions()
            out = []
            for servo_id in params[2:]:
                servo = next((s for s in self.servos if s.servo_id == servo_id and not s.silent), None)
                if servo is not None:
                    out.append((servo, servo.read(address, size)))
            return out
        if code == fp.Instruction.SYNC_WRITE and len(params) >= 2:
            address, size = params[0], params[1]
            for k in range(2, len(params) - size, size + 1):
                servo = next((s for s in self.servos if s.servo_id == params[k] and not s.silent), None)
                if servo is not None:
                    servo.write(address, params[k + 1 : k + 1 + size])
            return []
        for s in self.servos:  # any other broadcast: every servo acts, none answers
            if not s.silent:
                s.handle(code, params)
        return []

    def _fresh_positions(self) -> None:
        """Every servo's Present_Position as of now, not of the plant's last step (up to a physics step
        and a bus tick old): what a real servo's encoder reads when asked."""
        ahead = time.monotonic() - self._state_at
        for s in self.servos:
            s.show_position(ahead)

    def _damaged(self, reply: bytes) -> bytes:
        """``reply`` as the wire delivers it: dropped (b"") or corrupted (one bit flipped) at the set rates."""
        if self.drop_rate and self._rng.random() < self.drop_rate:
            self.stats["dropped"] += 1
            return b""
        self.stats["replies"] += 1
        if self.corrupt_rate and self._rng.random() < self.corrupt_rate:
            damaged = bytearray(reply)
            damaged[self._rng.randrange(2, len(damaged))] ^= 1 << self._rng.randrange(8)
            self.stats["corrupted"] += 1
            return bytes(damaged)
        return reply

    def _send(self, master: int, data: bytes, due: float) -> None:
        """Write ``data`` at ``due`` (time.monotonic())."""
        while (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        with contextlib.suppress(BlockingIOError, OSError):  # a full pty (nobody reads): lost, as on a wire
            os.write(master, data)
