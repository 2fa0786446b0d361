"""The robots robokit knows: the folders shipped under ``robokit/robots/`` plus any registered with
:func:`register_robot`. A robot folder's own ``robot.yaml`` is read once, on first use.

Layers above listen for new robots (``robokit.envs`` registers each robot's env ids), so a robot
registered from anywhere gets its env ids whether ``robokit.envs`` is imported before or after.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from robokit.core.robot_spec import RobotSpec
from robokit.robots.folder import ROBOT_FILE, RobotFolder, RobotFolderError, load_robot_folder

ROBOTS_ENV = "ROBOKIT_ROBOTS"  # robot folders to register at start, separated by os.pathsep
DEFAULT_ROBOT = "servo_arm"  # the robot CLIs and RobotTaskEnv use when none is named
_BUILTIN_DIR = Path(__file__).resolve().parent

_FOLDERS: dict[str, RobotFolder] = {}
_BROKEN: dict[str, str] = {}  # a shipped robot that failed to load -> why (one line)
_LISTENERS: list[Callable[[RobotFolder], None]] = []
_loaded_builtins = False


def _builtins() -> None:
    """Load the shipped robot folders once: the default robot first, then by name. One that fails to
    load is reported in one line on stderr and left out (the others still load)."""
    global _loaded_builtins
    if _loaded_builtins:
        return
    _loaded_builtins = True
    found = sorted(d for d in _BUILTIN_DIR.iterdir() if (d / ROBOT_FILE).is_file())
    found.sort(key=lambda d: d.name != DEFAULT_ROBOT)
    for folder in found:
        try:
            _add(load_robot_folder(folder))
        except RobotFolderError as exc:
            _BROKEN[folder.name] = str(exc)
            print(f"robokit: built-in robot {folder.name!r} skipped: {exc}", file=sys.stderr)
    _from_environment()


def _from_environment() -> None:
    """Register the robot folders listed in ``ROBOKIT_ROBOTS`` (paths separated by ``os.pathsep``): the
    shell's way to use a robot folder outside the repository (``register_robot`` is Python's). One that
    fails to load is reported in one line on stderr and left out."""
    for entry in os.environ.get(ROBOTS_ENV, "").split(os.pathsep):
        if not entry.strip():
            continue
        try:
            robot = load_robot_folder(Path(entry).expanduser())
            known = _FOLDERS.get(robot.name)
            if known is not None and known.path != robot.path:
                raise RobotFolderError(
                    f"robot folder {robot.path}: a robot named {robot.name!r} exists ({known.path})"
                )
            if known is None:
                _add(robot)
        except RobotFolderError as exc:
            print(f"robokit: {ROBOTS_ENV}: robot folder {entry!r} skipped: {exc}", file=sys.stderr)


def _add(robot: RobotFolder) -> None:
    """Record ``robot`` and tell the listeners; a listener's refusal (e.g. an env id another robot
    owns) undoes the registration and raises RobotFolderError."""
    _FOLDERS[robot.name] = robot
    try:
        for listener in _LISTENERS:
            listener(robot)
    except ValueError as exc:
        del _FOLDERS[robot.name]
        raise RobotFolderError(f"robot folder {robot.path}: {exc}") from None


def register_robot(path: str | Path) -> RobotSpec:
    """Register the robot folder at ``path`` (``<name>/robot.yaml`` and its model file) under the
    folder's name, with its env ids when ``robokit.envs`` is in use. Registering the same folder again
    does nothing. Returns its RobotSpec.

    Raises RobotFolderError (a ValueError) for a missing or garbled folder, or a name another folder
    already has."""
    _builtins()
    robot = load_robot_folder(path)
    known = _FOLDERS.get(robot.name)
    if known is not None:
        if known.path == robot.path:
            return known.spec
        raise RobotFolderError(
            f"robot folder {robot.path}: a robot named {robot.name!r} exists ({known.path})"
        )
    _add(robot)
    return robot.spec


def on_register(listener: Callable[[RobotFolder], None]) -> None:
    """Call ``listener(folder)`` for every robot known now and every one registered later. It may raise
    ValueError to refuse a robot: one registered later is then not registered (register_robot raises);
    one known already is dropped with a RuntimeWarning naming the folder and the reason (an import of
    ``robokit.envs`` does not fail over a robot registered before it)."""
    _builtins()
    _LISTENERS.append(listener)
    for robot in list(_FOLDERS.values()):
        try:
            listener(robot)
        except ValueError as exc:
            del _FOLDERS[robot.name]
            warnings.warn(f"robot folder {robot.path} dropped: {exc}", RuntimeWarning, stacklevel=2)


def list_robots() -> list[str]:
    """Names of the known robots, sorted."""
    _builtins()
    return sorted(_FOLDERS)


def default_robot() -> str:
    """The robot to use when none is named."""
    return DEFAULT_ROBOT


def robot_folder(name: str) -> RobotFolder:
    """Everything about robot ``name``; KeyError (naming the known robots) if there is none."""
    _builtins()
    if name in _BROKEN:
        raise KeyError(f"robot {name!r} could not be loaded: {_BROKEN[name]}")
    if name not in _FOLDERS:
        raise KeyError(f"unknown robot {name!r}; known robots: {', '.join(list_robots())}")
    return _FOLDERS[name]


def get_robot(name: str) -> RobotSpec:
    """The RobotSpec of robot ``name``; KeyError (naming the known robots) if there is none."""
    return robot_folder(name).spec
