"""Fixtures for the firmware bridge tests: shared vectors, a built emulator, a pyserial link."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from robokit.firmware_bridge import protocol as p
from robokit.firmware_bridge.emulator import Emulator, build, missing_tools
from robokit.firmware_bridge.link import BAUD

VECTORS_PATH = Path(__file__).resolve().parents[2] / "docs" / "protocol_vectors.json"


@pytest.fixture(scope="session")
def vectors() -> dict:
    return json.loads(VECTORS_PATH.read_text())


@pytest.fixture(scope="session")
def emulator_build():
    reason = missing_tools()
    if reason:
        pytest.skip(f"firmware emulator needs avr-gcc and simavr: {reason}")
    return build()


WRITE_TIMEOUT_S = 5.0  # a write that cannot complete (the far end stopped reading) fails, never hangs


class Link:
    """A real pyserial connection to an emulator's pty, speaking the project's codec."""

    def __init__(self, port: str) -> None:
        self.ser = serial.Serial(port, BAUD, timeout=0.02, write_timeout=WRITE_TIMEOUT_S)
        self.dec = p.FrameDecoder()
        self.seq = 0
        self.stray: list[p.Message] = []

    def close(self) -> None:
        self.ser.close()

    def send_raw(self, data: bytes) -> None:
        """Write ``data`` in one write; raises serial.SerialTimeoutException after WRITE_TIMEOUT_S."""
        self.ser.write(data)

    def read_messages(self, duration_s: float) -> list[p.Message]:
        """Everything that arrives within ``duration_s``."""
        out: list[p.Message] = []
        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            out += self.dec.feed(self.ser.read(max(1, self.ser.in_waiting)))
        return out

    def request(self, msg: p.Message, timeout_s: float = 1.0) -> p.Message:
        """Send ``msg`` with the next sequence number and return the reply carrying it."""
        self.seq = (self.seq + 1) & 0xFF
        msg = dataclasses.replace(msg, seq=self.seq)
        self.send_raw(p.encode_frame(msg))
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            for reply in self.dec.feed(self.ser.read(max(1, self.ser.in_waiting))):
                if reply.seq == self.seq:
                    return reply
                self.stray.append(reply)
        raise TimeoutError(f"no reply to {type(msg).__name__} seq {self.seq}")

    def hello(self, attempts: int = 20) -> p.Info:
        """HELLO repeated until INFO arrives (a real board may sit in its bootloader)."""
        for _ in range(attempts):
            try:
                reply = self.request(p.Hello(), timeout_s=0.25)
            except TimeoutError:
                continue
            assert isinstance(reply, p.Info)
            return reply
        raise TimeoutError("no INFO after repeated HELLO")

    def state(self, msg: p.Message | None = None) -> p.State:
        reply = self.request(msg or p.Ping())
        assert isinstance(reply, p.State), reply
        return reply


@pytest.fixture
def emu(emulator_build) -> Iterator[Emulator]:
    with Emulator() as e:
        yield e


@pytest.fixture
def link(emu: Emulator) -> Iterator[Link]:
    lk = Link(emu.port)
    yield lk
    lk.close()
