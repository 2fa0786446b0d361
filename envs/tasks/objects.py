"""What the object tasks (Push, Slide, PickAndPlace, Stack) share: free objects on the table, each with a
goal marker, their observation entries, goal sampling in the robot base frame, and the
settings a robot gives them.

Observation entries per object, as panda-gym v3's tasks: position (3, m), orientation (3, Euler XYZ rad),
linear velocity (3, m/s), angular velocity (3, rad/s): 12 entries per object, read by body name through
the task's scene reader (the simulator, or a task-state source on a real arm). The achieved goal is the
objects' positions, one after the other (3 per object).

Source for the defaults (sizes, masses, ranges, thresholds): panda-gym v3, panda_gym/envs/tasks/*.py,
moved into the Panda's base frame (panda-gym's world origin is 0.6 m ahead of the Panda's base).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from robokit.core.arm import ArmState
from robokit.core.kinematics import Kinematics
from robokit.envs.bullet import Bullet
from robokit.envs.tasks.base import SceneReader, Task
from robokit.robots import RobotSpec

ENTRIES_PER_OBJECT = 12  # position (3), Euler XYZ (3), linear velocity (3), angular velocity (3)
PANDA_XY_M = [[0.45, -0.15], [0.75, 0.15]]  # panda-gym's 0.3 m x 0.3 m range, Panda base frame
# number settings: (low, high], both in the setting's unit
NUMBER_RANGES = {
    "distance_threshold_m": (0.0, 1.0),
    "object_size_m": (0.0, 0.5),
    "object_mass_kg": (0.0, 100.0),
    "lateral_friction": (0.0, 10.0),
    # PickAndPlace: the gripper's opening (0 shut .. 1 open) on the cube
    "grip_opening_on_object": (0.0, 1.0),
}


def _euler(x: float, y: float, z: float, w: float) -> tuple[float, float, float]:
    """Roll, pitch, yaw (rad, about fixed X, Y, Z) of the quaternion xyzw, in Python floats."""
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    pitch = math.asin(max(-1.0, min(1.0, 2.0 * (w * y - z * x))))
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return roll, pitch, yaw


def euler_xyz(quaternion_xyzw: np.ndarray) -> np.ndarray:
    """Euler angles (3,) rad, roll/pitch/yaw about fixed X, Y, Z, of a quaternion (4,) xyzw: the
    convention of PyBullet's ``getEulerFromQuaternion`` (which panda-gym's observation uses)."""
    x, y, z, w = (float(v) for v in quaternion_xyzw)
    return np.array(_euler(x, y, z, w))


def _body_state(scene: SceneReader, name: str) -> tuple:
    """(position (3,), quaternion xyzw (4,), velocity (3,), angular velocity (3,)) of a body as float
    sequences: from the simulator in two PyBullet calls (``Bullet.body_state``), else the four readers."""
    if isinstance(scene, Bullet):
        return scene.body_state(name)
    return (
        scene.position(name).tolist(),
        scene.orientation(name).tolist(),
        scene.velocity(name).tolist(),
        scene.angular_velocity(name).tolist(),
    )


def _entries(state: tuple) -> list[float]:
    """A body state (``_body_state``) as its 12 observation entries, Python floats."""
    pos, (x, y, z, w), lin, ang = state
    return [*pos, *_euler(float(x), float(y), float(z), float(w)), *lin, *ang]


def object_entries(scene: SceneReader, name: str) -> np.ndarray:
    """One object's 12 observation entries (position, Euler XYZ, velocity, angular velocity), float64."""
    return np.array(_entries(_body_state(scene, name)), dtype=np.float64)


def _fail(task: str, key: str, want: str, value: Any) -> ValueError:
    return ValueError(f"{task}: {key} must be {want}, not {value!r}")


def _number(task: str, key: str, value: Any, low: float, high: float) -> float:
    """``value`` if a finite real in (low, high], else ValueError naming the setting."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low < value <= high:
        raise _fail(task, key, f"a number in ({low:g}, {high:g}]", value)
    return float(value)


def check_xy_box(task: str, key: str, value: Any) -> np.ndarray:
    """An xy range [[x, y] low, [x, y] high] (m, low <= high) as a (2, 2) array; ValueError if bad."""
    try:
        box = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail(task, key, "[[x, y] low, [x, y] high] in m", value) from None
    if box.shape != (2, 2) or not np.all(np.isfinite(box)) or np.any(box[0] > box[1]):
        raise _fail(task, key, "[[x, y] low, [x, y] high] in m, low <= high", value)
    return box


def check_setting(task: str, key: str, value: Any, n_objects: int) -> None:
    """ValueError naming ``key`` unless ``value`` is a valid object-task setting."""
    if key in ("table_xy_m", "lateral_friction", "grip_opening_on_object") and value is None:
        return
    if key == "friction_anchor":
        if not isinstance(value, bool):
            raise _fail(task, key, "true or false", value)
        return
    if key.endswith("_xy_m"):
        check_xy_box(task, key, value)
    elif key == "goal_height_m":
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise _fail(task, key, "[low, high] in m", value)
        lo = _number(task, key, value[0], -1e-12, 1.0)
        if _number(task, key, value[1], -1e-12, 1.0) < lo:
            raise _fail(task, key, "[low, high] in m with low <= high", value)
    elif key == "goal_on_table_probability":
        _number(task, key, value, -1e-12, 1.0)
    elif key == "object_mass_kg" and isinstance(value, list | tuple):
        if len(value) != n_objects:
            raise _fail(task, key, f"a mass or {n_objects} masses (kg)", value)
        for v in value:
            _number(task, key, v, *NUMBER_RANGES[key])
    else:
        _number(task, key, value, *NUMBER_RANGES[key])


class ObjectTask(Task):
    """Free objects (``objects``, by name) moved to goals; subclasses give the shapes and goal sampling.

    Goals: the objects' target positions (3 per object, m, base frame). Success: the distance between
    all objects' positions and their goals (one vector) below ``distance_threshold_m``."""

    objects: tuple[str, ...] = ("object",)
    goal_dim = 3  # 3 per object
    obs_dim = ENTRIES_PER_OBJECT  # 12 per object
    state_bodies: tuple[str, ...] = ("object",)  # the objects
    colours: tuple[tuple[float, float, float], ...] = ((0.1, 0.9, 0.1),)
    shape = "box"  # "box": a cube of object_size_m; "cylinder": diameter object_size_m, half as high
    default_settings: Mapping[str, Any] = {
        "distance_threshold_m": 0.05,
        "object_size_m": 0.04,
        "object_mass_kg": 1.0,
        "object_xy_m": PANDA_XY_M,
        "goal_xy_m": PANDA_XY_M,
        "lateral_friction": None,  # the objects' friction (None: PyBullet's 0.5)
        "friction_anchor": False,  # friction holds a cube's contact points (a gripper can hold it)
    }

    @classmethod
    def robot_settings(cls, settings: Mapping[str, Any] | None) -> dict[str, Any]:
        """The base class's merge, each setting checked (ValueError naming it)."""
        merged = super().robot_settings(settings)
        for key, value in merged.items():
            check_setting(cls.__name__, key, value, len(cls.objects))
        return merged

    def __init__(
        self,
        spec: RobotSpec,
        kinematics: Kinematics,
        reward_type: str = "sparse",
        distance_threshold_m: float | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        if distance_threshold_m is not None:
            name = type(self).__name__
            distance_threshold_m = _number(name, "distance_threshold_m", distance_threshold_m, 0, 1)
        super().__init__(spec, kinematics, reward_type, distance_threshold_m, settings)  # checks settings
        s = self.settings
        s["distance_threshold_m"] = self.distance_threshold_m
        self.object_size_m = s["object_size_m"]
        mass = s["object_mass_kg"]
        self.masses_kg = list(mass) if isinstance(mass, list | tuple) else [mass] * len(self.objects)
        self.object_xy_m, self.goal_xy_m = s["object_xy_m"], s["goal_xy_m"]
        self.markers: list[str] = []

    @property
    def object_height_m(self) -> float:
        """An object's height (m): the cube's side, or the puck's (half its diameter, as panda-gym)."""
        return self.object_size_m if self.shape == "box" else self.object_size_m / 2

    def _add_shape(self, bullet: Bullet, name: str, rgba: tuple, mass_kg: float | None) -> None:
        """One object (``mass_kg``) or, with None, its visual-only goal marker, named ``name``."""
        size, height = self.object_size_m, self.object_height_m
        start = [*np.mean(self.object_xy_m, axis=0).tolist(), height / 2]
        if mass_kg is None:  # a sphere, not a copy: TinyRenderer (eval videos) ignores alpha
            bullet.add_marker(size / 2, rgba, name=name)
        elif self.shape == "box":
            anchor = bool(self.settings["friction_anchor"])
            bullet.add_box([size / 2] * 3, start, rgba, name=name, mass_kg=mass_kg, friction_anchor=anchor)
        else:
            bullet.add_cylinder(size / 2, height, start, rgba, name=name, mass_kg=mass_kg)
        self.own(name)

    def add_bodies(self, bullet: Bullet, visuals: bool) -> None:
        """The objects, in their colours, and (with ``visuals``) a goal marker for each: a non-colliding
        sphere of the object's size in a paler shade of its colour (half transparent where the renderer
        shows alpha), so a frame tells the object from its goal."""
        bullet.sort_contact_pairs()
        for i, (name, colour) in enumerate(zip(self.objects, self.colours)):
            self._add_shape(bullet, name, (*colour, 1.0), self.masses_kg[i])
            if self.settings["lateral_friction"] is not None:
                bullet.set_lateral_friction(name, self.settings["lateral_friction"])
            if visuals:
                self.markers.append(f"{name}_goal")
                light = tuple(0.45 * c + 0.55 for c in colour)  # the object's colour, paler
                self._add_shape(bullet, f"{name}_goal", (*light, 0.5), None)

    def uniform_xy(self, np_random: np.random.Generator, box: np.ndarray) -> np.ndarray:
        """A point (2,) m drawn uniformly from an xy box (2, 2)."""
        return np_random.uniform(box[0], box[1])

    def sample_goal(self, np_random: np.random.Generator) -> np.ndarray:
        """Goal (goal_dim,): each object resting at a point of ``goal_xy_m`` (panda-gym's Push)."""
        z = self.object_height_m / 2
        return np.concatenate([[*self.uniform_xy(np_random, self.goal_xy_m), z] for _ in self.objects])

    def sample_objects(self, np_random: np.random.Generator) -> list[np.ndarray]:
        """Start positions (3,) m of the objects, resting at points of ``object_xy_m``."""
        z = self.object_height_m / 2
        return [np.array([*self.uniform_xy(np_random, self.object_xy_m), z]) for _ in self.objects]

    def reset(self, np_random: np.random.Generator) -> np.ndarray:
        """Sample a goal, then the objects' start positions (panda-gym's order); place them at rest."""
        goal = self.sample_goal(np_random)
        starts = self.sample_objects(np_random)
        if self.bullet is not None:
            for name, start in zip(self.objects, starts):  # no contact history: a seeded reset steps the same
                self.bullet.renew(name, start.tolist())
        self.set_goal(goal)
        return self.goal.copy()

    def set_goal(self, goal: np.ndarray) -> None:
        super().set_goal(goal)
        if self.bullet is not None:
            for i, marker in enumerate(self.markers):
                self.bullet.move(marker, self.goal[3 * i : 3 * i + 3].tolist())

    def check_goal(self, goal: Any) -> tuple[np.ndarray, list[str]]:
        """Also refuses (ValueError) an object's goal below the robot's floor, one the arm cannot carry or
        push an object to (outside its workspace: ``RobotSpec.check_goal``; a task whose objects travel
        on their own, as Slide's, instead needs the goal above its table), and warns for one outside the
        region training samples goals from (xy, or above the height the task lifts objects to)."""
        g, notes = super().check_goal(goal)
        for i, point in enumerate(g.astype(np.float64).reshape(-1, 3)):
            text = ", ".join(f"{v:.3g}" for v in point)
            if point[2] < self.spec.floor_z_m:
                raise ValueError(
                    f"goal ({text}) puts an object below the floor (z < {self.spec.floor_z_m} m)"
                )
            table = self.settings.get("table_xy_m")
            if table is None:
                self.spec.check_goal(point)  # GoalOutsideWorkspace (a ValueError) out of the arm's reach
            elif np.any(point[:2] < table[0]) or np.any(point[:2] > table[1]):
                raise ValueError(f"goal ({text}) is off the task's table (xy within {table} m)")
            lo, hi = (np.asarray(c, dtype=np.float64) for c in self.goal_xy_m)
            if np.any(point[:2] < lo) or np.any(point[:2] > hi) or point[2] > self.max_goal_z_m + 1e-3:
                notes.append(
                    f"goal ({text}) of object {self.objects[i]!r} is outside the region training sampled "
                    f"goals from (xy in {self.goal_xy_m} m, z up to {self.max_goal_z_m:.3f} m)"
                )
        return g, notes

    @property
    def max_goal_z_m(self) -> float:
        """The highest goal (m) training samples: an object resting on the table (PickAndPlace: lifted by
        up to its ``goal_height_m``). Tasks with other goal heights (Slide, Stack) override it."""
        lift = self.settings.get("goal_height_m", [0.0, 0.0])[1]
        return self.object_height_m / 2 + float(lift)

    def achieved_goal(self, state: ArmState) -> np.ndarray:
        """The objects' positions (goal_dim,) float32, m, read from the scene by name."""
        scene = self._sim()
        return np.concatenate([scene.position(name) for name in self.objects]).astype(np.float32)

    def observation(self) -> np.ndarray:
        """Per object: position, Euler XYZ, velocity, angular velocity: (12 * n_objects,) float32."""
        scene = self._sim()
        return np.array([v for name in self.objects for v in _entries(_body_state(scene, name))], np.float32)

    def observe(self, state: ArmState) -> tuple[np.ndarray | None, np.ndarray]:
        """``(observation(), achieved_goal(state))`` from one read of each object (the env's hot path);
        a subclass that overrides either of them gets the base class's two calls."""
        cls = type(self)
        if cls.observation is not ObjectTask.observation or cls.achieved_goal is not ObjectTask.achieved_goal:
            return super().observe(state)
        scene = self._sim()
        states = [_body_state(scene, name) for name in self.objects]
        entries = np.array([v for s in states for v in _entries(s)], np.float32)
        return entries, np.array([v for s in states for v in s[0]], np.float32)
