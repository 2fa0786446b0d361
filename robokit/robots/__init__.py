"""Robot specifications: one :class:`RobotSpec` per arm, with its URDF shipped as package data."""

from robokit.robots.spec import (
    GoalOutsideWorkspace,
    GripperSpec,
    RobotSpec,
    Workspace,
    get_robot,
    list_robots,
)

__all__ = ["GoalOutsideWorkspace", "GripperSpec", "RobotSpec", "Workspace", "get_robot", "list_robots"]
