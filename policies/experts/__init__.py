"""Scripted experts: one per task, usable as a policy and as a demonstrator (``robokit record``).

``EXPERTS`` maps a task name (the ``task`` of ``robokit.envs.registration.ENV_SPECS[env_id]``) to an expert
class; ``expert_for(env)`` builds the one for an env. An expert has ``act(obs: dict) -> np.ndarray``: the
env's observation dict in, an action in the env's action space out, from the observation alone (see
``base.py``), so it runs wherever a policy runs.
"""

from __future__ import annotations

from typing import Any

from robokit.policies.experts.base import Expert
from robokit.policies.experts.pick_and_place import PickAndPlaceExpert
from robokit.policies.experts.push import PushExpert
from robokit.policies.experts.reach import ReachExpert
from robokit.policies.experts.slide import SlideExpert
from robokit.policies.experts.stack import StackExpert

EXPERTS: dict[str, type] = {
    "reach": ReachExpert,
    "push": PushExpert,
    "pick_and_place": PickAndPlaceExpert,
    "slide": SlideExpert,
    "stack": StackExpert,
}


class NoExpertError(ValueError):
    """The env's task has no expert, or the expert cannot drive the env's control mode."""


def task_name(env: Any) -> str:
    """The task name (a key of ``robokit.envs.tasks.TASKS``) of a RobotTaskEnv, wrapped or not."""
    from robokit.envs.tasks import TASKS, task_key

    name = task_key(env.unwrapped.task)
    if name not in TASKS:
        raise NoExpertError(f"unknown task {type(env.unwrapped.task).__name__}")
    return name


def expert_for(env: Any) -> Any:
    """The expert for ``env``'s task; NoExpertError when there is none (the message lists the tasks that
    have one)."""
    name = task_name(env)
    if name not in EXPERTS:
        raise NoExpertError(
            f"no scripted expert for task {name!r}; experts exist for: {', '.join(sorted(EXPERTS))}"
        )
    return EXPERTS[name](env)


__all__ = ["EXPERTS", "Expert", "NoExpertError", "expert_for", "task_name"]
