"""A teleoperation recording in an env's terms, for behaviour cloning (``robokit train ENV --algo bc
--dataset DIR`` on a ``robokit teleop --record`` folder).

A teleoperation frame holds joint space only: ``observation.state`` the follower's measured angles (n,) and
``action`` the targets sent (n,), rad, one frame per tick at the dataset's fps. A Reach env with
``joint_absolute`` control of the same robot at the same rate sees the same things: this module rebuilds
each frame as that env would have observed it, with the shared Observer (tip position by forward
kinematics, q, the previous action), and maps each target onto the env's action (the arm joints' targets
onto [-1, 1] across their limits, the inverse of ``Controller``'s joint_absolute mapping). A person moving
the arm gives no goal: each frame's ``desired_goal`` is where the tip ended its episode (hindsight
relabelling with the final achieved goal, the "final" strategy of Andrychowicz et al. 2017, HER).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from robokit.core.arm import ArmState
from robokit.policies.datasets.format import ROBOKIT_KEY, DatasetError

TELEOP_SOURCE = "teleop"  # info.json robokit.source of a `robokit teleop` recording
JOINT_FEATURES = ("observation.state", "action")


def is_teleop_recording(info: dict[str, Any]) -> bool:
    """Whether a dataset's info.json says ``robokit teleop`` wrote it."""
    extra = info.get(ROBOKIT_KEY)
    return isinstance(extra, dict) and extra.get("source") == TELEOP_SOURCE


def teleop_arrays(
    dataset: Any, env: Any, env_id: str, notes: list[str] | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(observations {observation, desired_goal: (N, dim)}, actions (N, action_dim)) float32 of every
    episode of a teleoperation recording (a ``LeRobotDatasetReader``), in the terms of ``env``.
    DatasetError (one line) when the env cannot learn from it: another robot, not Reach, not joint_absolute
    control, another rate, other units or shapes, no episodes, or angles that are not finite."""
    base = env.unwrapped
    _check_fits(dataset, base, env_id)
    chunks: dict[str, list[np.ndarray]] = {"observation": [], "desired_goal": [], "action": []}
    for k in range(len(dataset.episodes)):
        frames = dataset.episode(k)
        q = np.asarray(frames["observation.state"], dtype=np.float64)
        targets = np.asarray(frames["action"], dtype=np.float64)
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(targets))):
            which = "observation.state" if not np.all(np.isfinite(q)) else "action"
            raise DatasetError(f"{dataset.root}: episode {k}'s {which} has values that are not finite")
        obs, goals, actions = _episode_in_env_terms(base, q.reshape(len(q), -1), targets.reshape(len(q), -1))
        chunks["observation"].append(obs)
        chunks["desired_goal"].append(goals)
        chunks["action"].append(actions)
    if notes is not None:
        notes.append(
            f"{dataset.root} is a teleoperation recording: each frame's goal is where the tip ended its "
            "episode, and the gripper's targets are not part of Reach's actions (Reach holds the gripper)"
        )
    arrays = {name: np.concatenate(parts).astype(np.float32) for name, parts in chunks.items()}
    return {"observation": arrays["observation"], "desired_goal": arrays["desired_goal"]}, arrays["action"]


def clone_env_ids(robot: str) -> list[str]:
    """The env ids a teleoperation recording of ``robot`` trains: Reach with joint_absolute control."""
    from robokit.envs.registration import ENV_SPECS

    return [
        env_id
        for env_id, s in ENV_SPECS.items()
        if s.get("robot") == robot and s.get("task") == "reach" and s.get("control_mode") == "joint_absolute"
    ]


def _check_fits(dataset: Any, base: Any, env_id: str) -> None:
    """DatasetError unless ``env_id`` (``base`` its unwrapped env) can learn from the recording."""
    from robokit.envs.registration import ENV_SPECS

    where, extra = dataset.root, dataset.info[ROBOKIT_KEY]
    robot, spec = base.robot, ENV_SPECS.get(env_id, {})
    fitting = clone_env_ids(str(extra.get("robot")))
    hint = f"; it trains {', '.join(fitting)}" if fitting else ""
    if extra.get("robot") != robot.name:
        raise DatasetError(
            f"{where}: a teleoperation recording of {extra.get('robot')!r:.40}, not {robot.name}{hint}"
        )
    if spec.get("task") != "reach" or base.controller.mode != "joint_absolute":
        raise DatasetError(
            f"{where}: a teleoperation recording holds joint angles and targets only: it trains a Reach env "
            f"with joint_absolute control, not {env_id}{hint}"
        )
    if extra.get("units") != "rad":
        raise DatasetError(f"{where}: angles in {extra.get('units')!r:.40}, not rad")
    if not math.isclose(dataset.fps, robot.control_hz, rel_tol=1e-9):
        raise DatasetError(
            f"{where}: recorded at {dataset.fps:g} fps; {env_id} steps at {robot.control_hz:g} Hz: record with "
            f"`robokit teleop --fps {robot.control_hz:g}`"
        )
    for name in JOINT_FEATURES:
        shape = tuple(dataset.features.get(name, {}).get("shape", ()))
        if shape != (robot.n_joints,):
            raise DatasetError(
                f"{where}: feature {name!r} has shape {shape}, {robot.name} has {robot.n_joints} joints"
            )
    if not dataset.episodes:
        raise DatasetError(f"{where}: no episodes")


def _episode_in_env_terms(base: Any, q: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, ...]:
    """(observations (L, obs_dim), goals (L, 3), actions (L, action_dim)) for one episode of measured
    angles ``q`` (L, n) and targets sent (L, n), rad."""
    arm = np.asarray(base.robot.arm_indices)
    lower, upper = (np.asarray(v, dtype=np.float64)[arm] for v in base.robot.arrays())
    actions = np.clip(2.0 * (targets[:, arm] - lower) / (upper - lower) - 1.0, -1.0, 1.0)
    goal = base.kin.fk(q[-1])  # hindsight: where the tip ended the episode (m, base frame)
    last = np.zeros(base.controller.action_dim)
    obs = []
    for qk, action in zip(q, actions):
        state = ArmState(q=qk, q_is_measured=True, t_s=0.0)
        obs.append(base.observer.observe(state, goal, last)["observation"])
        last = action
    goals = np.repeat(np.asarray(goal, dtype=np.float32)[None], len(q), axis=0)
    return np.array(obs), goals, actions
