"""One robot folder, ``<name>/robot.yaml`` plus its model file, read and checked as untrusted input.

``robot.yaml`` has four sections (see ``servo_arm/robot.yaml``), and a fifth, ``bus``, for an arm on a servo
bus (``robokit.robots.bus_section``):

- ``spec``: the :class:`RobotSpec` fields (``urdf`` relative to the folder, or ``pybullet_data:<path>``);
- ``scene``: ``camera`` (Bullet.render's arguments) and ``boxes``, static bodies by name (the table);
- ``tasks``: per-task settings, ``{task: {setting: value}}``, checked by the task that reads them;
- ``envs``: one entry per env id, ``{task, control_mode, reward_type, ..., train: {algo: {key: value}}}``,
  optionally ``sim: {sim_timestep_s, sim_substeps, solver_iterations}`` (this id's physics settings).

The folder's name is the robot's name. Anything missing, garbled or out of range raises one
:class:`RobotFolderError` naming the folder and the bad entry, before anything is registered.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robokit.core.robot_spec import GripperSpec, RobotSpec, Workspace
from robokit.robots.bus_section import BusSettings, check_bus
from robokit.robots.limits import MAX_REACH_M, in_ranges
from robokit.robots.train_schema import check_train

ROBOT_FILE = "robot.yaml"
MAX_ROBOT_FILE_BYTES = 1_000_000
ROBOT_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")  # also an env id part: servo_arm -> ServoArm
NAME = re.compile(r"[a-z][a-z0-9_]*")  # a box's name, a task, a control mode, ...
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PYBULLET_DATA = "pybullet_data:"
SECTIONS = ("spec", "scene", "tasks", "envs", "bus")
CAMERA_KEYS = ("target", "distance_m", "yaw_deg", "pitch_deg", "fov_deg")
BOX_KEYS = ("name", "half_extents_m", "position_m", "rgba")
CAMERA_RANGES = {
    "distance_m": (0.0, 100.0, True),
    "yaw_deg": (-360.0, 360.0, False),
    "pitch_deg": (-90.0, 90.0, False),
    "fov_deg": (1.0, 179.0, False),
}
SCENE_M = 100.0  # scene boxes and the camera target within this of the base


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _short(value: Any) -> str:
    """``repr(value)``, cut to 60 characters (a 400-digit number stays one readable line)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class RobotFolderError(ValueError):
    """A robot folder that cannot be used: its message names the folder and what is wrong."""


@dataclass(frozen=True)
class SceneBox:
    """A static box (collides), e.g. the table: half extents (3,) m, centre (3,) m, colour RGBA in [0, 1]."""

    name: str
    half_extents_m: tuple[float, float, float]
    position_m: tuple[float, float, float]
    rgba: tuple[float, float, float, float]


@dataclass(frozen=True)
class RobotFolder:
    """Everything about one robot: its spec, scene, per-task settings and env entries."""

    name: str
    path: Path
    spec: RobotSpec
    camera: dict[str, Any]  # Bullet.render keyword arguments
    boxes: tuple[SceneBox, ...]
    tasks: dict[str, dict[str, Any]]
    envs: tuple[dict[str, Any], ...]  # each: task, control_mode, reward_type (, ...) and train
    bus: BusSettings | None = None  # how a real arm on a servo bus is wired (robokit.robots.bus_section)

    def task_settings(self, task: str) -> dict[str, Any]:
        """This robot's settings for ``task`` (empty when it has none)."""
        return dict(self.tasks.get(task, {}))


class _Checker:
    """Type checks that raise RobotFolderError with the folder and the dotted key."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def fail(self, where: str, what: str) -> RobotFolderError:
        return RobotFolderError(f"robot folder {self.folder}: {where}: {what}")

    def mapping(self, value: Any, where: str, keys: tuple[str, ...], required: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"want a mapping, got {type(value).__name__}")
        unknown = sorted(str(k) for k in value if k not in keys)
        if unknown:
            raise self.fail(where, f"unknown key(s) {unknown}; known: {list(keys)}")
        missing = [k for k in required if k not in value]
        if missing:
            raise self.fail(where, f"missing key(s) {missing}")
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
            raise self.fail(where, f"want a finite number, got {_short(value)}")
        return float(value)

    def ranged(self, value: float, where: str, low: float, high: float, low_open: bool = False) -> float:
        """``value`` if it lies in [low, high] (or (low, high] with low_open), else RobotFolderError."""
        if not (value > low if low_open else value >= low) or value > high:
            span = f"{'(' if low_open else '['}{low:g}, {high:g}]"
            raise self.fail(where, f"must be in {span}, got {_short(value)}")
        return value

    def numbers(self, value: Any, where: str, n: int | None = None) -> tuple[float, ...]:
        if not isinstance(value, list) or (n is not None and len(value) != n):
            raise self.fail(where, f"want a list of {n or 'some'} numbers, got {value!r}")
        return tuple(self.number(v, f"{where}[{i}]") for i, v in enumerate(value))

    def text(self, value: Any, where: str, pattern: re.Pattern | None = None) -> str:
        if not isinstance(value, str) or (pattern is not None and not pattern.fullmatch(value)):
            raise self.fail(where, f"want a name ({pattern.pattern if pattern else 'text'}), got {value!r}")
        return value

    def names(self, value: Any, where: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(where, f"want a non-empty list of names, got {value!r}")
        return tuple(self.text(v, f"{where}[{i}]") for i, v in enumerate(value))

    def plain(self, value: Any, where: str) -> Any:
        """A setting: a finite number, bool, text, or a (nested) list of those."""
        if isinstance(value, list):
            return [self.plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, (bool, str)):
            return value
        return self.number(value, where) if isinstance(value, float) else self._int(value, where)

    def _int(self, value: Any, where: str) -> int:
        if not isinstance(value, int):
            raise self.fail(where, f"want a number, true/false, text or a list, got {value!r}")
        return value

    def settings(self, value: Any, where: str) -> dict[str, Any]:
        """{identifier: plain value}."""
        if not isinstance(value, dict):
            raise self.fail(where, f"want a mapping, got {type(value).__name__}")
        return {self.text(k, where, IDENT): self.plain(v, f"{where}.{k}") for k, v in value.items()}

    def tables(self, value: Any, where: str) -> dict[str, dict[str, Any]]:
        """{identifier: {identifier: plain value}}, e.g. per-task settings or per-algorithm defaults."""
        if not isinstance(value, dict):
            raise self.fail(where, f"want a mapping, got {type(value).__name__}")
        return {self.text(k, where, IDENT): self.settings(v, f"{where}.{k}") for k, v in value.items()}


def read_robot_file(folder: Path) -> dict[str, Any]:
    """``robot.yaml`` parsed (a mapping of the four sections); RobotFolderError if it cannot be."""
    import yaml

    from robokit.robots.yaml_input import load_strict

    check = _Checker(folder)
    path = folder / ROBOT_FILE
    if not folder.is_dir():
        raise RobotFolderError(f"robot folder {folder}: not a folder")
    if not path.is_file():
        raise RobotFolderError(f"robot folder {folder}: no {ROBOT_FILE}")
    if path.stat().st_size > MAX_ROBOT_FILE_BYTES:
        raise check.fail(ROBOT_FILE, f"larger than {MAX_ROBOT_FILE_BYTES} bytes")
    try:
        data = load_strict(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise check.fail(ROBOT_FILE, f"not valid YAML ({first})") from None
    return check.mapping(data, ROBOT_FILE, SECTIONS, required=("spec",))


def _model_path(check: _Checker, value: Any) -> str:
    """The model file's absolute path: inside the folder, or inside pybullet_data."""
    text = check.text(value, "spec.urdf")
    if text.startswith(PYBULLET_DATA):
        import pybullet_data

        root, rel = Path(pybullet_data.getDataPath()).resolve(), text[len(PYBULLET_DATA) :]
    else:
        root, rel = check.folder.resolve(), text
    path = (root / rel).resolve()
    if Path(rel).is_absolute() or not path.is_relative_to(root):
        raise check.fail("spec.urdf", f"{text!r} is outside {root}")
    if not path.is_file():
        raise check.fail("spec.urdf", f"no model file at {path}")
    return str(path)


def _spec(check: _Checker, name: str, raw: Any) -> RobotSpec:
    fields = {f.name: f for f in dataclasses.fields(RobotSpec)}
    optional = ("description", "extra", "gripper")
    required = tuple(k for k in fields if k not in ("name", *optional))
    raw = check.mapping(raw, "spec", tuple(k for k in fields if k != "name"), required)
    kw: dict[str, Any] = {"name": name, "urdf": _model_path(check, raw["urdf"])}
    for key in ("joint_names",):
        kw[key] = check.names(raw[key], f"spec.{key}")
    for key in ("lower", "upper", "home_q", "max_speed", "joint_force"):
        kw[key] = check.numbers(raw[key], f"spec.{key}", len(kw["joint_names"]))
    kw["ee_link"] = check.text(raw["ee_link"], "spec.ee_link")
    if not isinstance(raw["servo_driven"], bool):
        raise check.fail("spec.servo_driven", f"want true or false, got {raw['servo_driven']!r}")
    kw["servo_driven"] = raw["servo_driven"]
    for key in ("control_hz", "sim_timestep_s", "max_target_step", "floor_z_m"):
        kw[key] = check.number(raw[key], f"spec.{key}")
    for key in ("ee_delta_scale_m", "joint_delta_scale"):
        kw[key] = check.number(raw[key], f"spec.{key}")
    if isinstance(raw["sim_substeps"], bool) or not isinstance(raw["sim_substeps"], int):
        raise check.fail("spec.sim_substeps", f"want an integer, got {raw['sim_substeps']!r}")
    kw["sim_substeps"] = raw["sim_substeps"]
    kw["workspace"] = _workspace(check, raw["workspace"])
    kw["gripper"] = _gripper(check, raw.get("gripper"), kw["joint_names"])
    kw["description"] = check.text(raw.get("description", ""), "spec.description")
    kw["extra"] = check.settings(raw.get("extra", {}), "spec.extra")
    _positive(check, kw, ("control_hz", "sim_timestep_s", "max_target_step", "ee_delta_scale_m"))
    in_ranges(check, kw)
    period_s = 1.0 / kw["control_hz"]
    if abs(kw["sim_timestep_s"] * kw["sim_substeps"] - period_s) > 1e-6 * period_s:
        raise check.fail(
            "spec.sim_substeps",
            f"sim_timestep_s x sim_substeps = {kw['sim_timestep_s'] * kw['sim_substeps']:g} s must be the "
            f"control period 1 / control_hz = {period_s:g} s",
        )
    try:
        return RobotSpec(**kw)
    except (ValueError, FileNotFoundError) as exc:
        raise check.fail("spec", str(exc)) from None


def _positive(check: _Checker, kw: dict[str, Any], keys: tuple[str, ...]) -> None:
    for key in (*keys, "joint_delta_scale", "sim_substeps"):
        if kw[key] <= 0:
            raise check.fail(f"spec.{key}", f"must be > 0, got {kw[key]!r}")


def _workspace(check: _Checker, raw: Any) -> Workspace:
    keys = ("shoulder_m", "min_reach_m", "reach_m", "goal_box_m")
    raw = check.mapping(raw, "spec.workspace", keys, keys)
    box = raw["goal_box_m"]
    if not isinstance(box, list) or len(box) != 2:
        raise check.fail("spec.workspace.goal_box_m", f"want [low corner, high corner], got {box!r}")
    lo, hi = (check.numbers(c, f"spec.workspace.goal_box_m[{i}]", 3) for i, c in enumerate(box))
    for i, corner in enumerate((lo, hi)):
        for v in corner:
            check.ranged(v, f"spec.workspace.goal_box_m[{i}]", -MAX_REACH_M, MAX_REACH_M)
    shoulder = check.numbers(raw["shoulder_m"], "spec.workspace.shoulder_m", 3)
    for v in shoulder:
        check.ranged(v, "spec.workspace.shoulder_m", -MAX_REACH_M, MAX_REACH_M)
    ws = Workspace(
        shoulder_m=shoulder,  # type: ignore[arg-type]
        min_reach_m=check.number(raw["min_reach_m"], "spec.workspace.min_reach_m"),
        reach_m=check.number(raw["reach_m"], "spec.workspace.reach_m"),
        goal_box_m=(lo, hi),  # type: ignore[arg-type]
    )
    if not 0 <= ws.min_reach_m < ws.reach_m or any(a > b for a, b in zip(lo, hi)):
        raise check.fail("spec.workspace", "want 0 <= min_reach_m < reach_m and a box with low <= high")
    check.ranged(ws.reach_m, "spec.workspace.reach_m", 0.0, MAX_REACH_M, low_open=True)
    return ws


def _gripper(check: _Checker, raw: Any, joint_names: tuple[str, ...]) -> GripperSpec | None:
    if raw is None:
        return None
    keys = ("joint_names", "open_q", "closed_q")
    raw = check.mapping(raw, "spec.gripper", keys, keys)
    names = check.names(raw["joint_names"], "spec.gripper.joint_names")
    if not set(names) <= set(joint_names):
        raise check.fail("spec.gripper.joint_names", f"{list(names)} are not all in spec.joint_names")
    return GripperSpec(
        joint_names=names,
        open_q=check.numbers(raw["open_q"], "spec.gripper.open_q", len(names)),
        closed_q=check.numbers(raw["closed_q"], "spec.gripper.closed_q", len(names)),
    )


def _scene(check: _Checker, raw: Any) -> tuple[dict[str, Any], tuple[SceneBox, ...]]:
    raw = check.mapping(raw if raw is not None else {}, "scene", ("camera", "boxes"))
    camera = dict(check.mapping(raw.get("camera", {}), "scene.camera", CAMERA_KEYS))
    for key, value in camera.items():
        if key == "target":
            camera[key] = check.numbers(value, "scene.camera.target", 3)
            for v in camera[key]:
                check.ranged(v, "scene.camera.target", -SCENE_M, SCENE_M)
        else:
            camera[key] = check.ranged(
                check.number(value, f"scene.camera.{key}"), f"scene.camera.{key}", *CAMERA_RANGES[key]
            )
    boxes_raw = raw.get("boxes", [])
    if not isinstance(boxes_raw, list):
        raise check.fail("scene.boxes", f"want a list, got {type(boxes_raw).__name__}")
    boxes = []
    for i, b in enumerate(boxes_raw):
        where = f"scene.boxes[{i}]"
        b = check.mapping(b, where, BOX_KEYS, ("name", "half_extents_m", "position_m"))
        box = SceneBox(
            name=check.text(b["name"], f"{where}.name", NAME),
            half_extents_m=check.numbers(b["half_extents_m"], f"{where}.half_extents_m", 3),  # type: ignore[arg-type]
            position_m=check.numbers(b["position_m"], f"{where}.position_m", 3),  # type: ignore[arg-type]
            rgba=check.numbers(b.get("rgba", [0.8, 0.8, 0.8, 1.0]), f"{where}.rgba", 4),  # type: ignore[arg-type]
        )
        if min(box.half_extents_m) <= 0 or not all(0 <= c <= 1 for c in box.rgba):
            raise check.fail(where, "want half extents > 0 and rgba in [0, 1]")
        if max(*box.half_extents_m, *map(abs, box.position_m)) > SCENE_M:
            raise check.fail(where, f"want sizes and positions within {SCENE_M:g} m")
        boxes.append(box)
    if len({b.name for b in boxes}) != len(boxes):
        raise check.fail("scene.boxes", "two boxes share a name")
    return camera, tuple(boxes)


def _envs(check: _Checker, raw: Any) -> tuple[dict[str, Any], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise check.fail("envs", f"want a list, got {type(raw).__name__}")
    out = []
    for i, entry in enumerate(raw):
        where = f"envs[{i}]"
        if not isinstance(entry, dict) or "task" not in entry:
            raise check.fail(where, f"want a mapping with at least `task`, got {entry!r}")
        env: dict[str, Any] = {"train": {}}
        for key, value in entry.items():
            if key == "train":
                env["train"] = check_train(check, value, f"{where}.train")
            elif key == "sim":  # physics settings of this id (its keys and ranges: envs/registration.py)
                env["sim"] = check.settings(value, f"{where}.sim")
            else:
                env[check.text(key, where, NAME)] = check.text(value, f"{where}.{key}", NAME)
        out.append(env)
    return tuple(out)


def load_robot_folder(path: str | Path) -> RobotFolder:
    """Read and check the robot folder at ``path``; raises RobotFolderError (a ValueError)."""
    folder = Path(path).expanduser()
    check = _Checker(folder)
    name = folder.resolve().name
    if not ROBOT_NAME.fullmatch(name) or len(name) > 40:
        raise check.fail(
            "name", f"the folder's name {name!r} must be a robot name: lowercase letters, digits, _"
        )
    data = read_robot_file(folder)
    spec = _spec(check, name, data["spec"])
    camera, boxes = _scene(check, data.get("scene"))
    tasks = check.tables(data.get("tasks") or {}, "tasks")
    bus = check_bus(check, data.get("bus"), spec.n_joints)
    envs = _envs(check, data.get("envs"))
    return RobotFolder(name, folder.resolve(), spec, camera, boxes, tasks, envs, bus)
