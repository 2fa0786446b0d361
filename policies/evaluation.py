"""Evaluate a policy file: N seeded episodes (in worker processes), eval.json, videos and plots.

Episode i uses seed ``seed + i`` and runs to the env's time limit (``terminate_on_success=False``):
success counts from the first success, and from then on how still the arm holds is measured
(``robokit.policies.holding``). The first ``video_episodes`` are rendered in the workers, written as
``videos/episode-<i>.mp4`` there (filmed on for at least ``FILM_AFTER_SUCCESS_S`` after the first
success), and sent back downscaled for ``videos/grid.mp4``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from robokit.core import run_files as rf
from robokit.policies.compat import PolicyMismatchError, check_compatible
from robokit.policies.eval_checks import EvalArgumentError, check_eval_args, prepare_out_dir
from robokit.policies.eval_outputs import write_grid, write_json, write_plots
from robokit.policies.eval_stats import aggregate
from robokit.policies.expert_policy import EXPERT_PREFIX, expert_env_id, expert_spec, is_expert_ref, load_ref
from robokit.policies.holding import HOLD_SETTLE_S, holding_after_success, holding_metrics
from robokit.policies.policy_file import Policy, load_policy, read_policy_spec
from robokit.policies.policy_spec import PolicySpec
from robokit.policies.report.build import write_eval_report

__all__ = ["EvalArgumentError", "EpisodeResult", "evaluate", "run_episode"]

FILM_AFTER_SUCCESS_S = 1.0  # a filmed episode goes on at least this long after its first success


@dataclass
class EpisodeResult:
    """One episode. ``success``: the goal was reached at some step (counted from the first success);
    ``final_success``: it is still reached at the last step. ``holding``: ``holding_metrics`` from
    ``HOLD_SETTLE_S`` after the first success to the end of the episode; ``holding_from_first_success``:
    from the first success itself (the final approach inside the success radius included). Both None
    without a success."""

    episode: int
    seed: int
    return_: float
    length: int
    success: bool
    final_success: bool
    final_distance_m: float
    steps_to_success: int | None
    time_to_success_s: float | None
    holding: dict[str, Any] | None = None
    holding_from_first_success: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["return"] = d.pop("return_")
        return d


def overlay_lines(
    episode: int,
    step: int,
    hz: float,
    first_success: int | None,
    distance_m: float,
    gripper_open: float | None = None,
    task: str = "reach",
    success_now: bool | None = None,
) -> list[str]:
    """The text filmed on a frame: episode and time, before or since the first success (Reach: reaching,
    holding for how long; an object task: not yet at the goal, at the goal for how long), distance, and
    how far the gripper is open (0..1) where the task actuates it. ``success_now`` False after a first
    success: the frame says the goal was left (how long since the first success) instead."""
    since = None if first_success is None else f"{(step - first_success) / hz:.2f} s"
    if since is not None and success_now is False:
        state = f"left the goal ({since} after the first success)"
    elif task == "reach":
        state = "reaching" if since is None else f"holding {since}"
    else:
        state = "not at the goal yet" if since is None else f"at the goal for {since}"
    lines = [f"episode {episode}  {step / hz:.2f} s", state, f"{100 * distance_m:.1f} cm to goal"]
    if gripper_open is not None:
        lines.append(f"gripper {100 * gripper_open:.0f}% open")
    return lines


def gripper_opening(env: Any, q: np.ndarray) -> float | None:
    """How far the gripper is open, 0 (closed_q) .. 1 (open_q), the mean over its joints, from the joint
    vector ``q`` (n_joints,); None unless the env's task actuates a gripper."""
    u = env.unwrapped
    grip = u.robot.gripper
    if grip is None or not u.task.gripper_actuated:
        return None
    idx = list(u.robot.gripper_indices)
    closed, opened = np.asarray(grip.closed_q, np.float64), np.asarray(grip.open_q, np.float64)
    frac = (np.asarray(q, np.float64)[idx] - closed) / (opened - closed)
    return float(np.clip(frac.mean(), 0.0, 1.0))


def run_episode(
    env: Any,
    policy: Policy,
    seed: int,
    episode: int = 0,
    render: bool = False,
    record_q: bool = False,
    film_after_success_s: float = FILM_AFTER_SUCCESS_S,
) -> tuple[EpisodeResult, list[tuple[np.ndarray, list[str]]], list[list[float]]]:
    """Run one episode with ``policy`` (deterministic) until the env ends it.

    Returns (result, frames, q per step). ``frames`` (with ``render``): (rgb (H, W, 3) uint8, overlay
    lines) after reset and after every step, continued past the episode's end until
    ``film_after_success_s`` after the first success (those steps count in no metric). ``q``: joint
    positions after reset and after every step of the episode (with ``record_q``).
    """
    u = env.unwrapped
    from robokit.envs.tasks import task_key

    hz = float(u.robot.control_hz)
    task = task_key(u.task)
    layout = u.observer.layout()
    ee_sl, q_sl = slice(*layout["ee_pos_m"]), slice(*layout["q"])
    obs, info = env.reset(seed=seed)
    ee, qs = [obs["observation"][ee_sl]], [obs["observation"][q_sl]]
    squeeze = None if (squeeze0 := u.grip_squeeze()) is None else [squeeze0]
    frames: list[tuple[np.ndarray, list[str]]] = []
    total, steps, first = 0.0, 0, None

    def film() -> None:
        if render:
            grip = gripper_opening(env, obs["observation"][q_sl])
            lines = overlay_lines(
                episode, steps, hz, first, info["distance_m"], grip, task, info["is_success"]
            )
            frames.append((env.render(), lines))

    film()
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs))
        total += float(reward)
        steps += 1
        ee.append(obs["observation"][ee_sl])
        qs.append(obs["observation"][q_sl])
        if squeeze is not None:
            squeeze.append(u.grip_squeeze())
        if first is None and info["is_success"]:
            first = steps
        film()
        done = terminated or truncated
    result = _episode_result(episode, seed, total, steps, first, info, hz, (ee, qs, squeeze))
    n_episode_steps = steps
    if render and first is not None:  # film the holding for a while even past the time limit
        while steps - first < math.ceil(film_after_success_s * hz - 1e-9):
            obs, _, _, _, info = env.step(policy.act(obs))
            steps += 1
            film()
    q_out = [q.astype(float).tolist() for q in qs[: n_episode_steps + 1]] if record_q else []
    return result, frames, q_out


def _episode_result(
    episode: int, seed: int, total: float, steps: int, first: int | None, info: dict, hz: float, trace: tuple
) -> EpisodeResult:
    """The episode's metrics; ``trace``: the tip positions, joints and (for a gripper that acts, else None)
    its squeeze (``RobotTaskEnv.grip_squeeze``), one per step + 1, for the holding."""
    ee, qs, squeeze = trace
    result = EpisodeResult(
        episode=episode,
        seed=seed,
        return_=total,
        length=steps,
        success=first is not None,
        final_success=bool(info["is_success"]),
        final_distance_m=float(info["distance_m"]),
        steps_to_success=first,
        time_to_success_s=None if first is None else first / hz,
    )
    if first is not None:
        ee_a, q_a = np.array(ee), np.array(qs)
        result.holding = holding_after_success(ee_a, q_a, first, hz, HOLD_SETTLE_S, squeeze)
        result.holding_from_first_success = holding_metrics(ee_a[first:], q_a[first:], hz)
    return result


# ---- worker processes: each holds one env and the policy -------------------------------------------

_W: dict[str, Any] = {}


def _init_worker(
    policy_path: str, env_id: str, width: int, height: int, video_dir: str | None, fps: float
) -> None:
    import gymnasium as gym
    import torch

    import robokit.envs  # noqa: F401

    torch.set_num_threads(1)
    render = {"render_mode": "rgb_array", "render_width": width, "render_height": height} if video_dir else {}
    env = gym.make(env_id, terminate_on_success=False, **render)
    _W.update(env=env, policy=load_ref(policy_path, env), video_dir=video_dir, fps=fps)


def _run_task(task: tuple[int, int, bool, bool, int]) -> tuple[dict, list[np.ndarray], list[list[float]]]:
    """One episode in a worker; video episodes are written there and returned downscaled (with the
    overlay drawn at the tile's size, so it stays readable) for the grid."""
    episode, seed, video, record_q, grid_factor = task
    result, frames, qs = run_episode(_W["env"], _W["policy"], seed, episode, render=video, record_q=record_q)
    small = []
    if video and frames:
        from robokit.policies.video import downscale, overlay, write_mp4

        write_mp4(
            Path(_W["video_dir"]) / f"episode-{episode:03d}.mp4",
            (overlay(f, lines) for f, lines in frames),
            _W["fps"],
        )
        small = [overlay(downscale(f, grid_factor), lines) for f, lines in frames]
    return result.to_dict(), small, qs


def _describe_task(task: tuple) -> str:
    return f"episode {task[0]} (seed {task[1]})"


def evaluate(
    policy_path: str | os.PathLike,
    episodes: int = 100,
    out_dir: str | os.PathLike | None = None,
    video: bool = True,
    video_episodes: int = 4,
    workers: int = 2,
    seed: int = 0,
    width: int = 640,
    height: int = 480,
    fps: float | None = None,
    env_id: str | None = None,
    plot: bool = True,
    progress: bool = True,
    ray: str | None = None,
) -> dict[str, Any]:
    """Evaluate a policy file; write ``out_dir``/eval.json (+ videos/, *.png, report.html). Returns its dict.

    ``out_dir`` defaults to ``eval-<timestamp>/`` beside the policy; ``fps`` to the control rate; the env
    to the one recorded in the policy (``env_id`` overrides it, after a compatibility check).
    Checked before any episode runs and before anything is written: the arguments (EvalArgumentError),
    the policy file and its fit to the env (PolicyFileError, PolicyMismatchError). A worker process that
    dies or fails raises ``EvalWorkerError`` naming the episode; eval.json is then not written.
    ``ray``: a Ray address (``ray_backend.connect``): ``workers`` Ray actors run the episodes, with the
    same seeds and results; not with ``video``. RayUnavailable, before anything is written.
    """
    check_eval_args(episodes, workers, seed, video, video_episodes, width, height, fps, plot, progress)
    ref, policy_path, spec, env_id = _target(policy_path, env_id)
    out = Path(out_dir) if out_dir else policy_path.parent / f"eval-{datetime.now():%Y%m%d-%H%M%S}"
    ray_mod = _connect_ray(ray, workers, video)
    prepare_out_dir(out)
    fps = fps or spec.control_hz
    n_video = min(video_episodes, episodes) if video else 0
    tasks = [(i, seed + i, i < n_video, i == 0, 2 if n_video > 1 else 1) for i in range(episodes)]
    init = (ref, env_id, width, height, str(out / rf.VIDEOS_DIR) if n_video else None, fps)
    t0 = time.perf_counter()
    results, small, q_first = _run_all(tasks, init, workers, progress, ray_mod)
    wall_s = time.perf_counter() - t0
    results.sort(key=lambda e: e["episode"])

    videos = write_grid(out, small, n_video, fps)
    report = {
        "policy": ref if is_expert_ref(ref) else str(policy_path.resolve()),
        "env_id": env_id,
        "spec": {k: getattr(spec, k) for k in ("robot", "control_mode", "algo", "training_steps", "seed")},
        "seed": seed,
        "workers": workers,
        "terminate_on_success": False,
        "wall_time_s": wall_s,
        "aggregate": aggregate(results),
        "episodes": results,
        "videos": videos,
        "plots": [],
    }
    report["success_rate"] = report["aggregate"]["success_rate"]
    if plot:
        report["plots"] = write_plots(out, policy_path, spec, results, q_first)
    write_json(out / rf.EVAL_FILE, report)
    report["out_dir"], report["report_html"] = str(out), write_eval_report(out)  # a failure: a warning
    return report


def _connect_ray(address: str | None, workers: int, video: bool) -> Any:
    """The connected ``ray`` module for ``address`` (None: no Ray); raises RayUnavailable, and
    EvalArgumentError with ``video`` (a remote worker could not write the videos here)."""
    if address is None:
        return None
    if video:
        raise EvalArgumentError("videos are written by local workers: drop --video or --ray")
    from robokit.policies.ray_backend import connect

    return connect(address, num_cpus=workers)


def _target(policy: str | os.PathLike, env_id: str | None) -> tuple[str, Path, PolicySpec, str]:
    """(what the workers load, the policy's path, its spec, the env id), all checked: a policy file
    (``check_policy_for_env``) or ``expert:<env id>`` (its expert; the path is runs/expert-<env>)."""
    if is_expert_ref(policy):
        env_id = expert_env_id(policy)
        return (
            f"{EXPERT_PREFIX}{env_id}",
            Path("runs") / f"expert-{env_id.split('/')[-1]}",
            expert_spec(env_id),
            env_id,
        )
    path = Path(policy)
    spec, env_id = check_policy_for_env(path, env_id)
    return str(path), path, spec, env_id


def check_policy_for_env(policy_path: Path, env_id: str | None) -> tuple[PolicySpec, str]:
    """The policy file's validated spec and the env id to evaluate on (``env_id``, else the one the file
    records), after the one compatibility check against that env; the weights are loaded once too.
    Raises PolicyFileError, or PolicyMismatchError for an unregistered env or one the policy does not fit."""
    import gymnasium as gym

    import robokit.envs  # noqa: F401

    spec = read_policy_spec(policy_path)
    env_id = env_id or spec.env_id
    if env_id not in gym.registry:
        raise PolicyMismatchError(
            f"the policy was trained on {env_id!r}, which this robokit does not register; "
            "pass --env with one of `robokit envs`"
        )
    probe = gym.make(env_id)
    try:
        check_compatible(spec, probe)
    finally:
        probe.close()
    load_policy(policy_path)  # the weights too, before a worker starts
    return spec, env_id


def _run_all(
    tasks: list[tuple], init: tuple, workers: int, progress: bool, ray: Any = None
) -> tuple[list[dict], dict[int, list], list]:
    """Every task, in ``workers`` processes (in this one for 1) or Ray actors, with a progress bar."""
    if ray is not None:
        from robokit.policies.ray_backend import run_on_ray

        data = None if is_expert_ref(init[0]) else Path(init[0]).read_bytes()  # checked by _target
        it = run_on_ray(ray, tasks, workers, _init_worker, init, _run_task, _describe_task, data)
        return _collect(it, len(tasks), progress)
    if workers > 1 and len(tasks) > 1:
        from robokit.policies.eval_pool import run_in_workers

        it = run_in_workers(tasks, workers, _init_worker, init, _run_task, describe=_describe_task)
        return _collect(it, len(tasks), progress)
    from robokit.policies.eval_pool import EvalWorkerError

    def run_here(task: tuple) -> tuple:
        try:
            return _run_task(task)
        except Exception as exc:  # noqa: BLE001  (named like a worker's failure)
            raise EvalWorkerError(f"{_describe_task(task)} failed: {type(exc).__name__}: {exc}") from exc

    _init_worker(*init)
    try:
        return _collect(map(run_here, tasks), len(tasks), progress)
    finally:
        _W["env"].close()
        _W.clear()


def _collect(it, episodes: int, progress: bool) -> tuple[list[dict], dict[int, list], list]:
    from robokit.console import progress_bar

    results, small, q_first = [], {}, []
    wins = 0
    with progress_bar(episodes, "eval", "ep", enabled=progress) as bar:
        for res, frames, qs in it:
            results.append(res)
            wins += res["success"]
            if frames:
                small[res["episode"]] = frames
            if qs:
                q_first = qs
            bar.set_postfix(success=f"{wins / len(results):.2f}")
            bar.update(1)
    return results, small, q_first
