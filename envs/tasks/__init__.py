"""Tasks composed with a robot into one env. Add one by writing a Task subclass and naming it here."""

from robokit.envs.tasks.base import Task
from robokit.envs.tasks.reach import Reach

TASKS: dict[str, type[Task]] = {"reach": Reach}

__all__ = ["TASKS", "Reach", "Task"]
