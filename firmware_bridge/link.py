"""The serial link to the robokit firmware (docs/protocol.md, "Link"): frames out, a reader thread
decoding frames in, replies matched by sequence number.

``FirmwareLink`` knows frames and sequence numbers, not what the messages mean: ``HardwareArm`` builds
the Arm contract on top of it. Any pyserial URL works (see ``serial_port.open_port``).
"""

from __future__ import annotations

import contextlib
import termios
import threading
import time

import serial

from robokit.core.arm import ArmDisconnected
from robokit.firmware_bridge import protocol as pr
from robokit.firmware_bridge.serial_port import open_port

BAUD = 1_000_000  # the firmware's UART rate (firmware/link.c and Makefile BAUD: exact at 16 MHz with U2X)
MAX_KEPT_REPLIES = 64  # replies nobody waited for are dropped, oldest first

__all__ = ["BAUD", "FirmwareLink"]


class FirmwareLink:
    """One serial port to the firmware. ``open()`` starts a reader thread that decodes every frame as it
    arrives, stores it by sequence number (``replies``) and keeps the latest STATE with its arrival time
    (``time.monotonic()`` s). A port error ends the link: ``dead`` then says why, and every later
    ``send``/``request`` raises ArmDisconnected.

    url: a device path (opened exclusively) or a pyserial URL; baud: its rate; reply_timeout_s: how long
    ``request`` waits by default.
    """

    def __init__(self, url: str, baud: int = BAUD, reply_timeout_s: float = 0.1) -> None:
        self.url, self.baud, self.reply_timeout_s = url, baud, reply_timeout_s
        self.ser: serial.SerialBase | None = None
        self.decoder = pr.FrameDecoder()
        self.replies: dict[int, pr.Message] = {}  # guarded by cond
        self.cond = threading.Condition()
        self.dead: str | None = None
        self._latest: pr.State | None = None
        self._latest_t = 0.0
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def is_open(self) -> bool:
        return self.ser is not None

    def open(self) -> None:
        """Open the port (PortBusy / PortError) and start the reader. A frame delimiter goes out first:
        it ends any half frame a previous client left in the firmware."""
        self.ser = open_port(self.url, self.baud)
        self.dead = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._reader, name="HardwareArm-reader", daemon=True)
        self._thread.start()
        with contextlib.suppress(OSError, serial.SerialException):  # a dead link shows in the next request
            self.ser.write(b"\x00")

    def close(self) -> None:
        """Stop the reader and close the port; never raises (the port may have vanished)."""
        if self.ser is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        with contextlib.suppress(Exception):  # closing a vanished port
            self.ser.close()
        self.ser = None

    def _reader(self) -> None:
        ser = self.ser
        assert ser is not None
        while not self._stop.is_set():
            try:
                data = ser.read(max(1, ser.in_waiting))
            except Exception as exc:  # noqa: BLE001 - any failure in pyserial ends the link, never the thread
                if not self._stop.is_set():
                    with self.cond:
                        self.dead = f"port error: {exc}"
                        self.cond.notify_all()
                return
            msgs = self.decoder.feed(data) if data else []
            if msgs:
                self._store(msgs, time.monotonic())

    def _store(self, msgs: list[pr.Message], now: float) -> None:
        with self.cond:
            for m in msgs:
                self.replies[m.seq] = m
                if isinstance(m, pr.State):
                    self._latest, self._latest_t = m, now
                if len(self.replies) > MAX_KEPT_REPLIES:
                    self.replies.pop(next(iter(self.replies)))
            self.cond.notify_all()

    def next_seq(self) -> int:
        """The next sequence number (u8, wrapping)."""
        self._seq = (self._seq + 1) & 0xFF
        return self._seq

    def send(self, msg: pr.Message) -> None:
        """Write ``msg`` as one frame; raises ArmDisconnected on a closed or dead link."""
        if self.dead:
            raise ArmDisconnected(f"link to {self.url} lost ({self.dead})")
        if self.ser is None:
            raise ArmDisconnected(f"{self.url} is not open")
        try:
            self.ser.write(pr.encode_frame(msg))
        except (serial.SerialException, OSError, termios.error) as exc:  # termios: a pty whose end closed
            self.dead = f"write failed: {exc}"
            raise ArmDisconnected(f"link to {self.url} lost ({exc})") from exc

    def request(self, msg: pr.Message, timeout_s: float | None = None) -> pr.Message | None:
        """Send msg, wait for the reply with its sequence number; None on timeout (default
        ``reply_timeout_s``). Raises ArmDisconnected when the link dies meanwhile."""
        with self.cond:
            self.replies.pop(msg.seq, None)
        self.send(msg)
        deadline = time.monotonic() + (self.reply_timeout_s if timeout_s is None else timeout_s)
        with self.cond:
            while msg.seq not in self.replies:
                if self.dead:
                    raise ArmDisconnected(f"link to {self.url} lost ({self.dead})")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)
            return self.replies.pop(msg.seq)

    def wait_reply(self, seq: int, timeout_s: float) -> pr.Message | None:
        """The reply with sequence number ``seq`` (left stored), waiting at most ``timeout_s``; None if
        none came or the link died."""
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while seq not in self.replies and time.monotonic() < deadline and not self.dead:
                self.cond.wait(max(0.0, deadline - time.monotonic()))
            return self.replies.get(seq)

    def latest_state(self) -> tuple[pr.State | None, float]:
        """The last STATE received (None before any) and when it arrived (``time.monotonic()`` s)."""
        with self.cond:
            return self._latest, self._latest_t
