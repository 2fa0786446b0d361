"""A camera for an emulated arm: its plant rendered and served as an MJPEG stream over HTTP on 127.0.0.1,
the way an IP camera serves one (``robokit emulate --robot so101 --camera``).

A client reads it with OpenCV exactly as it reads a USB camera or a network camera
(``cv2.VideoCapture(url)``; robokit.runtime.camera), so recording with a camera is tested end to end in
emulation. Each frame renders the robot folder's model and scene (its boxes, its camera) at the joint
angles the plant has at that moment (``q_source``): the plant's view.

Rendering and encoding run in a process of their own: a frame costs a few ms of CPU holding the GIL,
which in the emulator's process would delay the virtual servos' replies. The emulator's process only
copies the plant's angles into shared memory at the camera's rate (``q_source`` under the bus lock, a few
us); the camera process renders them in its own PyBullet client.

MJPEG over HTTP: one ``multipart/x-mixed-replace`` response whose parts are JPEG images (the format of
most IP cameras; OpenCV's FFmpeg backend reads it).
"""

from __future__ import annotations

import contextlib
import http.server
import select
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

BOUNDARY = b"robokitframe"
JPEG_QUALITY = 90
SIZE_RANGE = ((16, 1280), (16, 960))  # width, height px
FPS_RANGE = (1.0, 60.0)
START_TIMEOUT_S = 30.0


def check_view(width: int, height: int, fps: float) -> None:
    """ValueError (one line) for a frame size or rate outside SIZE_RANGE / FPS_RANGE."""
    (wl, wh), (hl, hh) = SIZE_RANGE
    if not (wl <= width <= wh and hl <= height <= hh):
        raise ValueError(f"camera size {width}x{height} is outside {wl}..{wh} x {hl}..{hh} px")
    if not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:  # NaN fails too
        raise ValueError(f"camera rate {fps} is outside {FPS_RANGE[0]:g}..{FPS_RANGE[1]:g} fps")


class Renderer:
    """A robot folder's model and scene boxes in a PyBullet DIRECT client of its own, rendered from the
    folder's camera at given joint angles as (height, width, 3) uint8 RGB frames."""

    def __init__(self, folder: Any, width: int, height: int) -> None:
        import pybullet as p

        from robokit.core.kinematics import joint_index_map

        self.folder, self.width, self.height = folder, int(width), int(height)
        self.client = c = p.connect(p.DIRECT)
        for box in folder.boxes:
            shape = p.createVisualShape(p.GEOM_BOX, halfExtents=box.half_extents_m, rgbaColor=box.rgba,
                                        physicsClientId=c)  # fmt: skip
            p.createMultiBody(0, -1, shape, basePosition=box.position_m, physicsClientId=c)
        self.body = p.loadURDF(folder.spec.urdf, useFixedBase=True, physicsClientId=c)
        self.joints, _ = joint_index_map(self.body, folder.spec.joint_names, c)
        cam = folder.camera
        self.view = p.computeViewMatrixFromYawPitchRoll(
            cam["target"], cam["distance_m"], cam["yaw_deg"], cam["pitch_deg"], 0.0, 2, physicsClientId=c
        )
        self.proj = p.computeProjectionMatrixFOV(
            cam.get("fov_deg", 50.0), self.width / self.height, 0.01, 10.0, physicsClientId=c
        )

    def render(self, q: np.ndarray) -> np.ndarray:
        """The scene with the robot at ``q`` (n,) rad: (height, width, 3) uint8 RGB."""
        import pybullet as p

        for j, angle in zip(self.joints, np.asarray(q, dtype=np.float64).tolist()):
            p.resetJointState(self.body, j, angle, 0.0, physicsClientId=self.client)
        img = p.getCameraImage(self.width, self.height, self.view, self.proj, renderer=p.ER_TINY_RENDERER,
                               flags=p.ER_NO_SEGMENTATION_MASK, physicsClientId=self.client)  # fmt: skip
        return np.asarray(img[2], dtype=np.uint8).reshape(self.height, self.width, 4)[:, :, :3]

    def close(self) -> None:
        import pybullet as p

        p.disconnect(self.client)


class PlantView:
    """Serves ``folder`` (a RobotFolder) rendered at the angles ``q_source()`` gives ((n,) rad) as
    ``width`` x ``height`` frames at ``fps`` to any HTTP client, from a process of its own
    (``python -m robokit.firmware_bridge.plant_view``, reading the angles from shared memory). ValueError
    for a size or rate outside SIZE_RANGE / FPS_RANGE; RuntimeError when the camera process does not start."""

    def __init__(
        self,
        folder: Any,
        q_source: Callable[[], np.ndarray],
        width: int = 320,
        height: int = 240,
        fps: float = 30.0,
    ) -> None:
        check_view(width, height, fps)
        self.folder, self.q_source = folder, q_source
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self._memory: Any = None
        self._process: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._publisher: threading.Thread | None = None

    def start(self) -> str:
        """Start the camera process and the angle publisher; returns the stream's URL."""
        from multiprocessing import shared_memory

        n = self.folder.spec.n_joints
        self._memory = shared_memory.SharedMemory(create=True, size=8 * n)
        self._angles()[:] = self.q_source()
        cmd = [sys.executable, "-m", __name__, self.folder.name, self._memory.name, str(n), str(self.width),
               str(self.height), repr(self.fps)]  # fmt: skip
        self._process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        ready = select.select([self._process.stdout], [], [], START_TIMEOUT_S)[0]
        line = self._process.stdout.readline() if ready else ""
        if not line.startswith("CAMERA "):
            self.stop()
            raise RuntimeError(f"the camera process did not start within {START_TIMEOUT_S:g} s")
        self._publisher = threading.Thread(target=self._publish, name="plant-view-angles", daemon=True)
        self._publisher.start()
        return line.split()[1]

    def _angles(self) -> np.ndarray:
        return np.ndarray((self.folder.spec.n_joints,), dtype=np.float64, buffer=self._memory.buf)

    def _publish(self) -> None:
        period = 1.0 / self.fps
        while not self._stop.wait(period / 2):  # twice per frame: a frame shows angles at most half old
            self._angles()[:] = self.q_source()

    def stop(self) -> None:
        self._stop.set()
        if self._publisher is not None:  # its last copy into the shared memory is done before it goes
            self._publisher.join()
            self._publisher = None
        if self._process is not None:
            self._process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5.0)
            self._process.stdout.close()
            self._process = None
        if self._memory is not None:
            self._memory.close()
            self._memory.unlink()
            self._memory = None


def _serve(robot: str, memory_name: str, n: int, width: int, height: int, fps: float) -> None:
    """The camera process: render the shared angles and serve MJPEG on 127.0.0.1 until terminated; prints
    'CAMERA <url>' once it listens."""
    from multiprocessing import shared_memory

    from robokit.robots import robot_folder

    memory = shared_memory.SharedMemory(name=memory_name)
    if sys.version_info < (
        3,
        13,
    ):  # the emulator owns and unlinks it: this process must not (3.13: track=False)
        from multiprocessing import resource_tracker

        resource_tracker.unregister(memory._name, "shared_memory")  # type: ignore[attr-defined]
    shared_q = np.ndarray((n,), dtype=np.float64, buffer=memory.buf)
    renderer = Renderer(robot_folder(robot), width, height)
    lock = threading.Lock()  # one render at a time in the renderer's client

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            _stream(self, lambda: _jpeg(renderer, shared_q, lock), fps)

        def log_message(self, *args: Any) -> None:  # no access log on stderr
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"CAMERA http://127.0.0.1:{server.server_address[1]}/stream.mjpg", flush=True)
    server.serve_forever()


def _jpeg(renderer: Renderer, shared_q: Any, lock: threading.Lock) -> bytes:
    import cv2

    with lock:
        rgb = renderer.render(shared_q.copy())
    ok, jpeg = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return jpeg.tobytes()


def _stream(handler: http.server.BaseHTTPRequestHandler, frame: Callable[[], bytes], fps: float) -> None:
    """One client: a JPEG part every 1/fps s on absolute deadlines until it hangs up."""
    handler.send_response(200)
    handler.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
    handler.send_header("Cache-Control", "no-cache")
    handler.end_headers()
    period, start, k = 1.0 / fps, time.monotonic(), 0
    while True:
        jpeg = frame()
        head = b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (BOUNDARY, len(jpeg))
        try:
            handler.wfile.write(head + jpeg + b"\r\n")
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
        k += 1
        time.sleep(max(0.0, start + k * period - time.monotonic()))


if __name__ == "__main__":  # the camera process (PlantView.start)
    _robot, _memory, _n, _w, _h, _fps = sys.argv[1:7]
    _serve(_robot, _memory, int(_n), int(_w), int(_h), float(_fps))
