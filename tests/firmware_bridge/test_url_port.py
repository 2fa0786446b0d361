"""Any pyserial URL works: HardwareArm over ``socket://`` to the real firmware, through a loopback TCP
bridge to the emulator's pty (as ser2net or an ESP32 serial bridge would serve a real arm)."""

import contextlib
import socket
import threading
import time

import numpy as np
import pytest

from robokit.firmware_bridge.hardware_arm import HardwareArm
from robokit.firmware_bridge.link import BAUD
from robokit.firmware_bridge.serial_port import PortBusy, open_port

from .host_helpers import Emulator, needs_emulator, pulse_angles

pytestmark = needs_emulator


@contextlib.contextmanager
def tcp_bridge(pty_path: str):
    """A TCP server on 127.0.0.1 relaying bytes both ways to ``pty_path`` (held exclusively, with a write
    timeout, as robokit opens every port); yields its port."""
    ser = open_port(pty_path, BAUD, timeout_s=0.002)
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def relay() -> None:
        conn, _ = srv.accept()
        conn.settimeout(0.002)
        with conn:
            while not stop.is_set():
                if data := ser.read(4096):
                    conn.sendall(data)
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    return
                ser.write(data)

    thread = threading.Thread(target=relay, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2.0)
        srv.close()
        ser.close()


def test_hardware_arm_over_a_socket_url_drives_the_real_firmware():
    with (
        Emulator() as emu,
        tcp_bridge(emu.port) as tcp_port,
        HardwareArm(f"socket://127.0.0.1:{tcp_port}", "servo_arm") as arm,
    ):
        assert arm.url.startswith("socket://") and len(arm.info.joints) == 6
        arm.enable()
        target = np.asarray(arm.spec.home_q) + np.array([0.3, -0.2, -0.3, 0.1, 0.2, 0.0])
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            arm.command(target)
            state = arm.read()
            if np.allclose(state.q, target, atol=1e-3):
                break
            time.sleep(0.02)
        pf = emu.pulses.wait_for(state.frame)
        angles = pulse_angles(pf, arm.info)
    assert np.allclose(state.q, target, atol=1e-3)  # the firmware reached it over TCP
    assert np.allclose(angles, target, atol=np.deg2rad(0.2))  # and the servos are told so


def test_the_pty_behind_a_socket_bridge_is_held_exclusively_and_the_url_is_not_locked():
    """socket:// is not a file and is not locked; the device behind the bridge is, by the bridge."""
    with Emulator() as emu, tcp_bridge(emu.port) as tcp_port:
        with pytest.raises(PortBusy, match=f"port busy: {emu.port} is held by pid"):
            HardwareArm(emu.port, "servo_arm", hello_timeout_s=0.5)
        with HardwareArm(f"socket://127.0.0.1:{tcp_port}", "servo_arm") as arm:
            assert arm.info.n_joints == 6 and arm.read().released
