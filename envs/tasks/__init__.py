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


def task_key(task: Task) -> str:
    """``task``'s name in ``TASKS`` (registered with ``register_task`` included); its class name in
    lower case for a class registered nowhere."""
    for name, cls in TASKS.items():
        if type(task) is cls:
            return name
    return type(task).__name__.lower()


__all__ = ["TASKS", "task_key", "PickAndPlace", "Push", "Reach", "Slide", "Stack", "Task"]
