"""A camera for an emulated arm: its plant rendered and served as an MJPEG stream over HTTP on 127.0.0.1,
the way an IP camera serves one (``robokit emulate --robot so101 --camera``).

A client reads it with OpenCV exactly as it reads a USB camera or a network camera
(``cv2.VideoCapture(url)``; robokit.runtime.camera), so recording with a camera is tested end to end in
emulation. Each frame renders the robot folder's model and scene (its boxes, its camera) in a PyBullet
client of its own, at the joint angles the plant has at that moment (``q_source``): the plant's view,
without touching the plant's physics client from another thread.

MJPEG over HTTP: one ``multipart/x-mixed-replace`` response whose parts are JPEG images (the format of
most IP cameras; OpenCV's FFmpeg backend reads it).
"""

from __future__ import annotations

import http.server
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

BOUNDARY = b"robokitframe"
JPEG_QUALITY = 90
SIZE_RANGE = ((16, 1280), (16, 960))  # width, height px
FPS_RANGE = (1.0, 60.0)


def check_view(width: int, height: int, fps: float) -> None:
    """ValueError (one line) for a frame size or rate outside SIZE_RANGE / FPS_RANGE."""
    (wl, wh), (hl, hh) = SIZE_RANGE
    if not (wl <= width <= wh and hl <= height <= hh):
        raise ValueError(f"camera size {width}x{height} is outside {wl}..{wh} x {hl}..{hh} px")
    if not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:  # NaN fails too
        raise ValueError(f"camera rate {fps} is outside {FPS_RANGE[0]:g}..{FPS_RANGE[1]:g} fps")


class PlantView:
    """Renders ``folder`` (a RobotFolder: model, scene boxes, camera) at the angles ``q_source()`` gives
    ((n,) rad) as ``width`` x ``height`` RGB frames, and serves them at ``fps`` to any HTTP client.
    ValueError for a size or rate outside SIZE_RANGE / FPS_RANGE."""

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
        self._lock = threading.Lock()  # one render at a time in the view's own client
        self._client: int | None = None
        self._server: socketserver.ThreadingTCPServer | None = None
        self.frames_served = 0

    def start(self) -> str:
        """Build the view's scene and start serving; returns the stream's URL."""
        self._build_scene()
        view = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                view._serve(self)

            def log_message(self, *args: Any) -> None:  # no access log on stderr
                pass

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="plant-view", daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}/stream.mjpg"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            if self._client is not None:
                import pybullet as p

                p.disconnect(self._client)
                self._client = None

    def frame(self) -> np.ndarray:
        """The plant's view now: (height, width, 3) uint8 RGB."""
        import pybullet as p

        q = np.asarray(self.q_source(), dtype=np.float64)
        cam = self.folder.camera
        with self._lock:
            if self._client is None:
                raise RuntimeError("the plant view is stopped")
            for j, angle in zip(self._joints, q.tolist()):
                p.resetJointState(self._body, j, angle, 0.0, physicsClientId=self._client)
            view = p.computeViewMatrixFromYawPitchRoll(
                cam["target"], cam["distance_m"], cam["yaw_deg"], cam["pitch_deg"], 0.0, 2,
                physicsClientId=self._client,
            )  # fmt: skip
            proj = p.computeProjectionMatrixFOV(
                cam.get("fov_deg", 50.0), self.width / self.height, 0.01, 10.0, physicsClientId=self._client
            )
            img = p.getCameraImage(self.width, self.height, view, proj, renderer=p.ER_TINY_RENDERER,
                                   flags=p.ER_NO_SEGMENTATION_MASK, physicsClientId=self._client)  # fmt: skip
        return np.asarray(img[2], dtype=np.uint8).reshape(self.height, self.width, 4)[:, :, :3]

    def _build_scene(self) -> None:
        import pybullet as p

        from robokit.core.kinematics import joint_index_map

        c = p.connect(p.DIRECT)
        for box in self.folder.boxes:
            shape = p.createVisualShape(p.GEOM_BOX, halfExtents=box.half_extents_m, rgbaColor=box.rgba,
                                        physicsClientId=c)  # fmt: skip
            p.createMultiBody(0, -1, shape, basePosition=box.position_m, physicsClientId=c)
        self._body = p.loadURDF(self.folder.spec.urdf, useFixedBase=True, physicsClientId=c)
        self._joints, _ = joint_index_map(self._body, self.folder.spec.joint_names, c)
        with self._lock:
            self._client = c

    def _serve(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        """One client: frames at ``fps`` on absolute deadlines until it hangs up or the view stops."""
        import cv2

        handler.send_response(200)
        handler.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        period, start, k = 1.0 / self.fps, time.monotonic(), 0
        while self._server is not None:
            try:
                rgb = self.frame()
            except RuntimeError:
                return
            ok, jpeg = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            head = b"--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % (BOUNDARY, len(jpeg))
            try:
                handler.wfile.write(head + jpeg.tobytes() + b"\r\n")
                handler.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            self.frames_served += 1
            k += 1
            time.sleep(max(0.0, start + k * period - time.monotonic()))
