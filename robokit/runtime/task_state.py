"""Task-state sources: where a task's observation entries come from when the arm is real.

In simulation a task reads its objects from PyBullet; on hardware the same entries come from a
``TaskStateSource`` (a camera tracking an object, a motion-capture stream, or the simulator itself in a
dry run). A task declares what it needs on its class, and the runtime asks nothing more of the Task API:

- ``task_state_entries: tuple[str, ...] = ()``: named entries, in observation order (Reach: none);
- ``achieved_goal_entry: str | None = None``: the entry that is the achieved goal (None: the end effector);
- ``obs_dim``: how many numbers the entries add to the observation.

A deploy whose task needs entries no source gives is refused (``MissingTaskState``) before the arm is
touched, with a message naming what is missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from robokit.policies.policy_file import PolicyMismatchError


class MissingTaskState(PolicyMismatchError):
    """The task needs task-state entries that no source given to the deploy provides."""


@runtime_checkable
class TaskStateSource(Protocol):
    """Gives named task-state entries each tick: ``read() -> {name: array}`` for every name in
    ``entries`` (positions in the robot base frame, m). May raise to end the run (the loop stops)."""

    entries: tuple[str, ...]

    def read(self) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class TaskNeeds:
    """What a deploy of this task needs: the entries (in observation order), how many numbers they
    make (obs_dim), and which entry is the achieved goal (None: the end effector)."""

    task: str
    state_entries: tuple[str, ...] = ()
    obs_dim: int = 0
    achieved_goal_entry: str | None = None

    @classmethod
    def of(cls, task_cls: Any, name: str | None = None) -> TaskNeeds:
        """Read the declaration off a Task class (attributes only; see the module docstring)."""
        return cls(
            task=name or getattr(task_cls, "__name__", str(task_cls)),
            state_entries=tuple(getattr(task_cls, "task_state_entries", ())),
            obs_dim=int(getattr(task_cls, "obs_dim", 0)),
            achieved_goal_entry=getattr(task_cls, "achieved_goal_entry", None),
        )


def needs_for_spec(spec: dict[str, Any]) -> TaskNeeds:
    """The task a policy was trained on, from its ``env_id`` through the Gymnasium registry (the id's
    ``task`` keyword) and robokit's task table. A policy for an id this robokit does not register gets
    the plain declaration (no entries: its observation size must then fit, or it is refused)."""
    env_id = spec.get("env_id")
    if not isinstance(env_id, str):
        return TaskNeeds("unknown")
    try:
        import gymnasium as gym

        import robokit.envs  # noqa: F401 - registers the ids
        from robokit.envs.tasks import TASKS

        name = gym.spec(env_id).kwargs.get("task")
        return TaskNeeds.of(TASKS[name], name)
    except Exception:  # noqa: BLE001 - an id from another robokit version: judged by its sizes alone
        return TaskNeeds("unknown")


class TaskState:
    """The sources of one run, checked against the task's needs; ``read()`` gives the observation
    entries (obs_dim,) float64 and the achieved goal (or None: the end effector) each tick."""

    def __init__(self, needs: TaskNeeds, sources: Sequence[TaskStateSource] = ()) -> None:
        """Raises MissingTaskState (naming the missing entries) unless ``sources`` cover every entry."""
        self.needs = needs
        self._by_entry: dict[str, TaskStateSource] = {}
        for source in sources:
            for entry in source.entries:
                self._by_entry.setdefault(entry, source)
        missing = [e for e in needs.state_entries if e not in self._by_entry]
        if missing or (needs.obs_dim and not needs.state_entries):
            what = ", ".join(missing) if missing else f"{needs.obs_dim} undeclared observation entries"
            raise MissingTaskState(
                f"task {needs.task!r} needs task state ({what}) and no task-state source gives it; "
                "pass a source (e.g. a camera tracking the object) to run it on an arm; refusing to deploy"
            )
        self._sources = list(dict.fromkeys(self._by_entry[e] for e in needs.state_entries))

    def read(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(observation entries (obs_dim,) or None when the task has none, achieved goal or None).
        Raises ValueError if a source gives entries of the wrong total size or not finite."""
        if not self.needs.state_entries:
            return None, None
        values: dict[str, np.ndarray] = {}
        for source in self._sources:
            values.update(source.read())
        parts = [np.asarray(values[e], dtype=np.float64).ravel() for e in self.needs.state_entries]
        flat = np.concatenate(parts)
        if flat.shape != (self.needs.obs_dim,) or not np.all(np.isfinite(flat)):
            raise ValueError(
                f"task-state sources gave {flat.size} numbers for {', '.join(self.needs.state_entries)}; "
                f"task {self.needs.task!r} needs {self.needs.obs_dim} finite ones"
            )
        entry = self.needs.achieved_goal_entry
        return flat, None if entry is None else np.asarray(values[entry], dtype=np.float64).ravel()
