"""A thin PyBullet wrapper: one physics client per env, DIRECT by default, GUI only with a display."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

import numpy as np
import pybullet_data

from robokit.core.bullet_client import disconnect_when_collected, p

NO_DISPLAY_HINT = "use render_mode='rgb_array', or run under Xvfb (xvfb-run ...)"


class NoDisplayError(RuntimeError):
    """render_mode='human' asked for on a machine without a display that can be opened."""


def display_problem() -> str | None:
    """Why PyBullet's GUI could not open a window here, or None if it can. On X11 systems (Linux, BSD) the
    display named by $DISPLAY must open: PyBullet's GUI connect exits the whole process when it does not.
    macOS and Windows open windows without X."""
    if sys.platform in ("darwin", "win32"):
        return None
    display = os.environ.get("DISPLAY")
    if not display:
        return "$DISPLAY is not set"
    lib = ctypes.util.find_library("X11")
    if lib is None:
        return "libX11 is not installed"
    try:
        x11 = ctypes.CDLL(lib)
    except OSError as exc:
        return f"libX11 cannot be loaded ({exc})"
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = x11.XOpenDisplay(display.encode())
    if not handle:
        return f"cannot open display {display!r}"
    x11.XCloseDisplay(handle)
    return None


class Bullet:
    """Owns one PyBullet client. ``gui=True`` opens a window (needs a display). Bodies added with a
    ``name`` are kept in ``bodies`` and their poses and velocities read by that name.

    ``close()`` disconnects (idempotent); a Bullet dropped without it is disconnected when collected.
    Raises NoDisplayError for ``gui=True`` where no window can open (checked before PyBullet is asked:
    its GUI connect would exit the process), RuntimeError if PyBullet refuses the connection."""

    def __init__(self, timestep_s: float, gui: bool = False, solver_iterations: int | None = None) -> None:
        if gui and (problem := display_problem()):
            raise NoDisplayError(f"render_mode='human' needs a display ({problem}); {NO_DISPLAY_HINT}")
        self.client = p.connect(p.GUI if gui else p.DIRECT)
        if self.client < 0:  # e.g. a second GUI client in one process
            raise RuntimeError(f"PyBullet refused a {'GUI' if gui else 'DIRECT'} connection")
        self._finalizer = disconnect_when_collected(self, self.client)
        # the all-pairs broadphase: it drops a pair the step its bodies part. Bullet's default (a dynamic
        # AABB tree) drops a few stale pairs per step from a cursor that runs on across episodes, so which
        # contact manifolds exist, in which order, depended on earlier episodes, and so did a seeded
        # reset's steps. A scene here has a few dozen bodies and links: the O(n^2) pass costs nothing.
        p.resetSimulation(p.RESET_USE_SIMPLE_BROADPHASE, physicsClientId=self.client)
        self.timestep_s = timestep_s
        self.bodies: dict[str, int] = {}
        self._recipes: dict[str, tuple[float, int, int, dict]] = {}  # free bodies: how to make them again
        p.setTimeStep(timestep_s, physicsClientId=self.client)
        p.setGravity(0, 0, -9.81, physicsClientId=self.client)
        if solver_iterations is not None:
            p.setPhysicsEngineParameter(numSolverIterations=solver_iterations, physicsClientId=self.client)
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=self.client)
        if gui:
            p.configureDebugVisualizer(p.COV_ENABLE_GUI, 0, physicsClientId=self.client)

    def _named(self, name: str | None, body: int) -> int:
        """Record ``body`` under ``name`` (if given); ValueError if the name is taken."""
        if name is not None:
            if name in self.bodies:
                raise ValueError(f"a body named {name!r} exists already")
            self.bodies[name] = body
        return body

    def load_urdf(
        self, path: str, fixed: bool = True, position=(0.0, 0.0, 0.0), name: str | None = None
    ) -> int:
        flags = p.URDF_USE_SELF_COLLISION_EXCLUDE_PARENT if fixed else 0
        body = p.loadURDF(path, position, useFixedBase=fixed, flags=flags, physicsClientId=self.client)
        return self._named(name, body)

    def add_box(
        self,
        half_extents,
        position,
        rgba=(0.8, 0.8, 0.8, 1.0),
        name: str | None = None,
        mass_kg: float = 0.0,
        lateral_friction: float | None = None,
        friction_anchor: bool = False,
    ) -> int:
        """A box (collides): static with mass 0 (a table), else a free object of ``mass_kg``. Contact settings:
        ``lateral_friction`` (None: PyBullet's 0.5; a contact uses the product of both bodies' values) and
        ``friction_anchor`` (friction holds the contact point: a box squeezed in a gripper does not creep).
        ValueError for a negative or non-finite friction."""
        if lateral_friction is not None and not 0.0 <= lateral_friction < float("inf"):
            raise ValueError(f"lateral_friction must be a finite value >= 0, not {lateral_friction!r}")
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half_extents, physicsClientId=self.client)
        vis = p.createVisualShape(
            p.GEOM_BOX, halfExtents=half_extents, rgbaColor=rgba, physicsClientId=self.client
        )
        body = p.createMultiBody(mass_kg, col, vis, position, physicsClientId=self.client)
        contact = {"lateralFriction": lateral_friction} if lateral_friction is not None else {}
        if friction_anchor:
            contact["frictionAnchor"] = 1
        if contact:
            p.changeDynamics(body, -1, physicsClientId=self.client, **contact)
        self._remember(name, mass_kg, col, vis, contact)
        return self._named(name, body)

    def _remember(self, name: str | None, mass_kg: float, col: int, vis: int, dynamics: dict) -> None:
        """Keep how the free body ``name`` was made, so ``renew`` can make it again."""
        if name is not None and mass_kg > 0:
            self._recipes[name] = (mass_kg, col, vis, dict(dynamics))

    def add_cylinder(
        self,
        radius_m: float,
        height_m: float,
        position,
        rgba=(0.8, 0.8, 0.8, 1.0),
        name: str | None = None,
        mass_kg: float = 0.0,
    ) -> int:
        """An upright cylinder (collides, axis along z): static with mass 0, else a free object."""
        col = p.createCollisionShape(
            p.GEOM_CYLINDER, radius=radius_m, height=height_m, physicsClientId=self.client
        )
        vis = p.createVisualShape(
            p.GEOM_CYLINDER, radius=radius_m, length=height_m, rgbaColor=rgba, physicsClientId=self.client
        )
        self._remember(name, mass_kg, col, vis, {})
        return self._named(name, p.createMultiBody(mass_kg, col, vis, position, physicsClientId=self.client))

    def add_marker(self, radius_m: float, rgba=(0.1, 0.9, 0.1, 0.5), name: str | None = None) -> int:
        """A visual-only sphere of ``radius_m`` (no collision shape): goals and targets."""
        kw = {"shapeType": p.GEOM_SPHERE, "radius": radius_m}
        vis = p.createVisualShape(rgbaColor=rgba, physicsClientId=self.client, **kw)
        body = p.createMultiBody(0, -1, vis, [0, 0, -1], physicsClientId=self.client)
        # PyBullet still gives it a (point-sized) broadphase proxy: keep it out of every collision pair
        p.setCollisionFilterGroupMask(body, -1, 0, 0, physicsClientId=self.client)
        return self._named(name, body)

    def set_lateral_friction(self, body: str | int, friction: float) -> None:
        """A body's base lateral friction coefficient (PyBullet multiplies the two of a contact)."""
        p.changeDynamics(self._body(body), -1, lateralFriction=friction, physicsClientId=self.client)
        if isinstance(body, str) and body in self._recipes:
            self._recipes[body][3]["lateralFriction"] = friction

    def renew(self, name: str, position, orientation=(0.0, 0.0, 0.0, 1.0)) -> None:
        """Make the free body ``name`` again (same shape, mass and contact settings, same name), at rest at
        ``position`` (3,) m, ``orientation`` (4,) xyzw. Bullet keeps a body's contact history (persistent
        manifolds, their warm-start impulses) through ``restoreState``, so a reset that only moved the
        objects stepped differently after different earlier episodes; a new body has none. It is made
        where it goes, not where it was: Bullet pairs a new body at once with all it overlaps there, and
        such a pair (with a manifold) lingers for a few steps, again a history."""
        cid = self.client
        mass_kg, col, vis, dynamics = self._recipes[name]
        p.removeBody(self.bodies[name], physicsClientId=cid)
        body = p.createMultiBody(mass_kg, col, vis, position, orientation, physicsClientId=cid)
        if dynamics:
            p.changeDynamics(body, -1, physicsClientId=cid, **dynamics)
        self.bodies[name] = body

    def _body(self, body: str | int) -> int:
        if isinstance(body, str):
            if body not in self.bodies:
                raise KeyError(f"no body named {body!r}; bodies: {sorted(self.bodies)}")
            return self.bodies[body]
        return body

    def move(self, body: str | int, position, orientation=(0.0, 0.0, 0.0, 1.0)) -> None:
        """Place a body (name or id) at ``position`` (3,) m, ``orientation`` (4,) quaternion xyzw, at rest
        as it was (velocities kept)."""
        p.resetBasePositionAndOrientation(
            self._body(body), position, orientation, physicsClientId=self.client
        )

    def sort_contact_pairs(self) -> None:
        """Process contact pairs in a fixed order (PyBullet's deterministicOverlappingPairs), not in the
        order a scene's history created them: with free objects, a seeded reset then steps identically."""
        p.setPhysicsEngineParameter(deterministicOverlappingPairs=1, physicsClientId=self.client)

    def position(self, body: str | int) -> np.ndarray:
        """A body's base position (3,) m, world frame (= the robot's base frame)."""
        return np.array(p.getBasePositionAndOrientation(self._body(body), physicsClientId=self.client)[0])

    def orientation(self, body: str | int) -> np.ndarray:
        """A body's base orientation (4,), quaternion x, y, z, w."""
        return np.array(p.getBasePositionAndOrientation(self._body(body), physicsClientId=self.client)[1])

    def velocity(self, body: str | int) -> np.ndarray:
        """A body's base linear velocity (3,) m/s."""
        return np.array(p.getBaseVelocity(self._body(body), physicsClientId=self.client)[0])

    def angular_velocity(self, body: str | int) -> np.ndarray:
        """A body's base angular velocity (3,) rad/s."""
        return np.array(p.getBaseVelocity(self._body(body), physicsClientId=self.client)[1])

    def body_state(self, body: str | int) -> tuple[tuple[float, ...], ...]:
        """A body's base position (3,) m, orientation (4,) xyzw, linear (3,) m/s and angular (3,) rad/s
        velocity, as PyBullet's tuples: the four readers above in two PyBullet calls (the hot path)."""
        b = self._body(body)
        pos, orn = p.getBasePositionAndOrientation(b, physicsClientId=self.client)
        lin, ang = p.getBaseVelocity(b, physicsClientId=self.client)
        return pos, orn, lin, ang

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
        """An RGB frame (height, width, 3) uint8 from TinyRenderer; ValueError unless both sizes are >= 1."""
        if width < 1 or height < 1:
            raise ValueError(f"frame size must be at least 1x1 pixels, not {width}x{height}")
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
        """Disconnect the client; calling it again does nothing."""
        self._finalizer()
        self.client = -1
