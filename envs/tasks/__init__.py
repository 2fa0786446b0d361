"""Tasks composed with a robot into one env. Add one by writing a Task subclass and naming it here."""

from robokit.envs.tasks.base import Task
from robokit.envs.tasks.pick_and_place import PickAndPlace
from robokit.envs.tasks.push import Push
from robokit.envs.tasks.reach import Reach
from robokit.envs.tasks.slide import Slide
from robokit.envs.tasks.stack import Stack

TASKS: dict[str, type[Task]] = {
    "reach": Reach,
    "push": Push,
    "slide": Slide,
    "pick_and_place": PickAndPlace,
    "stack": Stack,
}

__all__ = ["TASKS", "PickAndPlace", "Push", "Reach", "Slide", "Stack", "Task"]
