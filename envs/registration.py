"""Gymnasium ids, generated from one table and registered on ``import robokit.envs``.

Each robot folder lists its envs (``robot.yaml`` ``envs``: task, control mode, reward type, and their
training defaults); an id is the robot's name in CamelCase, then one part per dimension of
``ID_PARTS``: ``robokit/ServoArmReachJointsDense-v0``. A new dimension (say randomisation) is one more
entry of ``ID_PARTS`` whose first value is the default (an empty id part, so existing ids stay).
Robots registered later (``robokit.robots.register_robot``) get their ids as they arrive.
"""

from __future__ import annotations

import copy
from typing import Any

import gymnasium as gym

EPISODE_STEPS = 50  # 2 s at 25 Hz, as panda-gym (Reach's); a task's ``max_episode_steps`` sets its ids
MAX_RENDER_SIDE = 4096  # pixels: the largest render_width / render_height (TinyRenderer's buffers)
ENTRY_POINT = "robokit.envs.robot_env:RobotTaskEnv"

# dimension -> {value: id part}, in id order; a dimension's first value is its default
ID_PARTS: dict[str, dict[str, str]] = {
    "task": {
        "reach": "Reach",
        "push": "Push",
        "slide": "Slide",
        "pick_and_place": "PickAndPlace",
        "stack": "Stack",
    },
    "control_mode": {"ee_delta": "", "joint_delta": "Joints", "joint_absolute": "JointsAbsolute"},
    "reward_type": {"sparse": "", "dense": "Dense"},
}
VERSION = "v0"

ENV_SPECS: dict[str, dict[str, Any]] = {}  # env id -> RobotTaskEnv keyword arguments
TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {}  # env id -> algo -> TrainConfig fields (+ "default": algo)


def robot_id_part(robot: str) -> str:
    """``servo_arm`` -> ``ServoArm``."""
    return "".join(word.capitalize() for word in robot.split("_"))


def env_row(robot: str, entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(env id, RobotTaskEnv kwargs) for one ``envs`` entry of a robot; ValueError for a value or a
    dimension the table does not know."""
    unknown = sorted(set(entry) - set(ID_PARTS) - {"train", "sim"})
    if unknown:
        raise ValueError(f"envs entry {entry!r}: unknown dimension(s) {unknown}; known: {list(ID_PARTS)}")
    kwargs: dict[str, Any] = {"robot": robot, **_sim_settings(entry.get("sim"))}
    parts = [robot_id_part(robot)]
    for dim, values in ID_PARTS.items():
        value = entry.get(dim, next(iter(values)))
        if value not in values:
            raise ValueError(f"envs entry {entry!r}: unknown {dim} {value!r}; known: {list(values)}")
        kwargs[dim] = value
        parts.append(values[value])
    return f"robokit/{''.join(parts)}-{VERSION}", kwargs


SIM_KEYS = {"sim_timestep_s": (1e-4, 0.1), "sim_substeps": (1, 10_000), "solver_iterations": (1, 10_000)}


def _sim_settings(sim: Any) -> dict[str, Any]:
    """An envs entry's ``sim`` (physics settings this id's env uses instead of the robot's, e.g. a finer
    step for held objects) as RobotTaskEnv keyword arguments; ValueError for an unknown key or a value
    out of its range."""
    if sim is None:
        return {}
    if not isinstance(sim, dict) or set(sim) - set(SIM_KEYS):
        raise ValueError(f"envs entry sim: {sim!r} must be a mapping with keys among {sorted(SIM_KEYS)}")
    for key, value in sim.items():
        lo, hi = SIM_KEYS[key]
        integral = key != "sim_timestep_s"
        ok = isinstance(value, int if integral else (int, float)) and not isinstance(value, bool)
        if not ok or not lo <= value <= hi:
            raise ValueError(f"envs entry sim.{key}: {value!r} must be a number in [{lo:g}, {hi:g}]")
    return dict(sim)


def register_robot_envs(robot: Any) -> None:
    """Register the env ids of a robot folder (a ``robokit.robots.RobotFolder``); ValueError, before any
    is registered, for an unknown task or a bad task setting (``tasks``), an unknown dimension value or
    an id another robot has."""
    from robokit.envs.tasks import TASKS

    for task, settings in robot.tasks.items():
        if task not in TASKS:
            raise ValueError(f"tasks: unknown task {task!r}; known: {sorted(TASKS)}")
        TASKS[task].robot_settings(settings)  # ValueError naming a bad setting
    rows = [(*env_row(robot.name, entry), entry["train"]) for entry in robot.envs]
    ids = [env_id for env_id, _, _ in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"two envs entries give the same env id: {ids}")
    for env_id, _, _ in rows:
        owner = ENV_SPECS.get(env_id, {}).get("robot", robot.name)
        if owner != robot.name:
            raise ValueError(f"env id {env_id} belongs to robot {owner!r}")
    for env_id, kwargs, train in rows:
        ENV_SPECS[env_id] = kwargs
        TRAIN_DEFAULTS[env_id] = train
        if env_id not in gym.registry:
            steps = TASKS[kwargs["task"]].max_episode_steps
            gym.register(env_id, entry_point=ENTRY_POINT, kwargs=dict(kwargs), max_episode_steps=steps)


def train_defaults(env_id: str) -> dict[str, Any]:
    """The training defaults of ``env_id`` per algorithm, a copy (empty for an id robokit did not generate);
    ``default`` names the env's own algorithm, if it has one."""
    return copy.deepcopy(TRAIN_DEFAULTS.get(env_id, {}))


def default_algo(env_id: str) -> str:
    """The algorithm ``robokit train ENV`` uses when none is named: the env's own (robot.yaml
    ``envs[].train.default``), else td3."""
    return TRAIN_DEFAULTS.get(env_id, {}).get("default", "td3")


_listening = False


def register_envs() -> None:
    """Register every known robot's env ids, now and as robots are registered later (idempotent)."""
    global _listening
    if not _listening:
        from robokit.robots import on_register

        on_register(register_robot_envs)
        _listening = True


def register_task(name: str, task_cls: type, id_part: str | None = None) -> None:
    """Make ``task_cls`` (a ``robokit.envs.tasks.Task`` subclass) known as ``name`` (snake_case), with
    ``id_part`` (default: ``name`` in CamelCase) in its env ids: a robot folder registered afterwards
    (``robokit.robots.register_robot``) can list it in ``envs`` and give it ``tasks`` settings, without
    editing any robokit file. Registering the same class under the same name again does nothing.
    Raises ValueError for a bad name or id part, a class that is not a Task, or a name or id part
    another task has."""
    from robokit.envs.tasks import TASKS, Task

    if not (isinstance(name, str) and name.isidentifier() and name == name.lower()):
        raise ValueError(f"task name must be a snake_case identifier, not {name!r}")
    if not (isinstance(task_cls, type) and issubclass(task_cls, Task)):
        raise ValueError(f"task {name!r}: {task_cls!r} is not a robokit.envs.tasks.Task subclass")
    part = robot_id_part(name) if id_part is None else id_part
    if not (isinstance(part, str) and part.isalnum() and part[:1].isupper()):
        raise ValueError(f"task {name!r}: id part must be CamelCase letters and digits, not {part!r}")
    parts = ID_PARTS["task"]
    if TASKS.get(name) is task_cls and parts.get(name) == part:
        return
    if name in TASKS or name in parts:
        raise ValueError(f"a task named {name!r} exists ({TASKS.get(name)})")
    if part in parts.values():
        raise ValueError(
            f"id part {part!r} belongs to task {next(k for k, v in parts.items() if v == part)!r}"
        )
    TASKS[name] = task_cls
    parts[name] = part
