"""A thin PyBullet wrapper: one physics client per env, DIRECT by default, GUI only with a display."""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pybullet as p
import pybullet_data


class NoDisplayError(RuntimeError):
    """render_mode='human' asked for on a machine without a display."""


class Bullet:
    """Owns one PyBullet client. ``gui=True`` opens a window (needs $DISPLAY)."""

    def __init__(self, timestep_s: float, gui: bool = False, solver_iterations: int | None = None) -> None:
        if gui and not os.environ.get("DISPLAY"):
            # PyBullet's GUI connect would exit the whole process without a display; refuse first.
            raise NoDisplayError(
                "render_mode='human' needs a display ($DISPLAY is not set); "
                "use render_mode='rgb_array', or run under Xvfb (xvfb-run ...)"
            )
        self.client = p.connect(p.GUI if gui else p.DIRECT)
        self.timestep_s = timestep_s
        p.setTimeStep(timestep_s, physicsClientId=self.client)
        p.setGravity(0, 0, -9.81, physicsClientId=self.client)
        if solver_iterations is not None:
            p.setPhysicsEngineParameter(numSolverIterations=solver_iterations, physicsClientId=self.client)
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self.client)
        if gui:
            p.configureDebugVisualizer(p.COV_ENABLE_GUI, 0, physicsClientId=self.client)

    def load_urdf(self, path: str, fixed: bool = True, position=(0.0, 0.0, 0.0)) -> int:
        flags = p.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT if fixed else 0
        return p.loadURDF(path, position, useFixedBase=fixed, flags=flags, physicsClientId=self.client)

    def add_box(self, half_extents, position, rgba=(0.8, 0.8, 0.8, 1.0)) -> int:
        """A static box (collides), e.g. a table."""
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half_extents, physicsClientId=self.client)
        vis = p.createVisualShape(
            p.GEOM_BOX, halfExtents=half_extents, rgbaColor=rgba, physicsClientId=self.client
        )
        return p.createMultiBody(0, col, vis, position, physicsClientId=self.client)

    def add_marker(self, radius_m: float, rgba=(0.1, 0.9, 0.1, 0.5)) -> int:
        """A visual-only sphere (no collision shape): goals and targets."""
        vis = p.createVisualShape(p.GEOM_SPHERE, radius=radius_m, rgbaColor=rgba, physicsClientId=self.client)
        return p.createMultiBody(0, -1, vis, [0, 0, -1], physicsClientId=self.client)

    def move(self, body: int, position) -> None:
        p.resetBasePositionAndOrientation(body, position, [0, 0, 0, 1], physicsClientId=self.client)

    def step(self, n: int) -> None:
        for _ in range(n):
            p.stepSimulation(physicsClientId=self.client)

    def save_state(self) -> int:
        return p.saveState(physicsClientId=self.client)

    def restore_state(self, state_id: int) -> None:
        p.restoreState(stateId=state_id, physicsClientId=self.client)

    def render(
        self,
        width: int,
        height: int,
        target=(0.2, 0.0, 0.1),
        distance_m: float = 0.7,
        yaw_deg: float = 45.0,
        pitch_deg: float = -30.0,
        fov_deg: float = 50.0,
    ) -> np.ndarray:
        """An RGB frame (height, width, 3) uint8 from TinyRenderer."""
        view = p.computeViewMatrixFromYawPitchRoll(
            target, distance_m, yaw_deg, pitch_deg, 0.0, 2, physicsClientId=self.client
        )
        proj = p.computeProjectionMatrixFOV(fov_deg, width / height, 0.01, 10.0, physicsClientId=self.client)
        img = p.getCameraImage(
            width,
            height,
            view,
            proj,
            renderer=p.ER_TINY_RENDERER,
            flags=p.ER_NO_SEGMENTATION_MASK,
            physicsClientId=self.client,
        )
        return np.asarray(img[2], dtype=np.uint8).reshape(height, width, 4)[:, :, :3]

    def close(self) -> None:
        if self.client >= 0:
            with contextlib.suppress(p.error):
                p.disconnect(physicsClientId=self.client)
            self.client = -1
