"""Robot specifications: one :class:`RobotSpec` per arm, with its URDF shipped as package data."""

from robokit.robots.spec import GripperSpec, RobotSpec, get_robot, list_robots

__all__ = ["GripperSpec", "RobotSpec", "get_robot", "list_robots"]
