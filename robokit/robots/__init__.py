"""Robots: one folder per robot (``<name>/robot.yaml``: spec, scene, task settings, env ids and their
training defaults; plus the model file). :func:`register_robot` adds a folder from anywhere."""

from robokit.core.robot_spec import GoalOutsideWorkspace, GripperSpec, RobotSpec, Workspace
from robokit.robots.folder import RobotFolder, RobotFolderError, SceneBox
from robokit.robots.registry import (
    default_robot,
    get_robot,
    list_robots,
    on_register,
    register_robot,
    robot_folder,
)

__all__ = [
    "GoalOutsideWorkspace",
    "GripperSpec",
    "RobotFolder",
    "RobotFolderError",
    "RobotSpec",
    "SceneBox",
    "Workspace",
    "default_robot",
    "get_robot",
    "list_robots",
    "on_register",
    "register_robot",
    "robot_folder",
]
