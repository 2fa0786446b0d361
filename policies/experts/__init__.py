"""Scripted experts, one per object task: usable as policies and as demonstrators.

``EXPERTS`` maps a task name to its expert class; ``expert_for(env)`` builds the one for an env. Each acts
from the observation dict alone (see ``base.py``)."""

from __future__ import annotations

from typing import Any

from robokit.policies.experts.base import Expert
from robokit.policies.experts.pick_and_place import PickAndPlaceExpert
from robokit.policies.experts.push import PushExpert
from robokit.policies.experts.slide import SlideExpert
from robokit.policies.experts.stack import StackExpert

EXPERTS: dict[str, type[Expert]] = {
    "push": PushExpert,
    "pick_and_place": PickAndPlaceExpert,
    "slide": SlideExpert,
    "stack": StackExpert,
}


def expert_for(env: Any) -> Expert:
    """The expert for a RobotTaskEnv (or a wrapper of one); ValueError if its task has none."""
    task = next((name for name, cls in _tasks().items() if type(env.unwrapped.task) is cls), None)
    if task not in EXPERTS:
        raise ValueError(f"no scripted expert for task {task!r}; experts: {sorted(EXPERTS)}")
    return EXPERTS[task](env)


def _tasks() -> dict[str, type]:
    from robokit.envs.tasks import TASKS

    return TASKS


__all__ = ["EXPERTS", "Expert", "expert_for"]
