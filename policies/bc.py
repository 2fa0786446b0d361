"""Behaviour cloning: a policy file from a dataset (``robokit train ENV --algo bc --dataset DIR``) or,
without one, from ``demo_episodes`` episodes of the task's scripted expert made in memory
(``robokit.policies.demos``).

The network is the policy file's own MLP (``Policy``: normalised observation -> tanh -> action bounds),
fitted by mean squared error to the dataset's actions; the normalisation is the dataset's mean and
variance per observation key. The dataset is any LeRobotDataset v3.0 folder (robokit-recorded or not)
whose features fit the env: ``observation.state`` (the env's ``observation``), ``observation.desired_goal``
and ``action``, with the env's shapes; a robokit recording of another env id is refused. A ``robokit
teleop`` recording (joint angles and targets) trains a Reach env with joint_absolute control of its robot,
rebuilt frame by frame in that env's terms (``robokit.policies.datasets.joint_terms``). Everything is
checked before the run folder is touched.

RUN/config.yaml, RUN/evals.jsonl (``steps`` counts gradient steps) and RUN/policy.safetensors, as RL
runs write them. Ctrl-C saves the policy so far, then re-raises KeyboardInterrupt.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robokit.console import progress_bar
from robokit.core.run_files import CONFIG_FILE, EVALS_FILE, POLICY_FILE
from robokit.policies.checkpoints import ResumeError, RunExistsError, latest_checkpoint
from robokit.policies.config import TrainConfig, TrainConfigError
from robokit.policies.datasets.format import DatasetError
from robokit.policies.datasets.joint_terms import is_teleop_recording, teleop_arrays
from robokit.policies.datasets.reader import read_dataset
from robokit.policies.datasets.record import OBS_FEATURES
from robokit.policies.demos import expert_arrays
from robokit.policies.periodic_eval import evaluation_row
from robokit.policies.policy_file import Policy, PolicyFileError, spec_from_env
from robokit.policies.stopping import stop_on_first_sigint

BC_OBS_KEYS = ("observation", "desired_goal")  # what the policy reads (achieved_goal is in observation)
NORM_EPSILON = 1e-8


def dataset_arrays(
    root: str | Path, env: Any, env_id: str, notes: list[str] | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(observations {key: (N, dim)} for BC_OBS_KEYS, actions (N, action_dim)) of every episode of the
    dataset at ``root``, float32; ``notes`` gets warnings about what the clone will not learn. DatasetError
    (one line) for a dataset that is not one, has no episodes, lacks a feature, has one of another shape,
    non-finite values, or was recorded on another env id (a teleoperation recording: ``teleop_arrays``)."""
    dataset = read_dataset(root)
    if is_teleop_recording(dataset.info):  # joint angles and targets: rebuilt in the env's terms
        return teleop_arrays(dataset, env, env_id, notes)
    want = _wanted_features(dataset, env, env_id)
    if not dataset.episodes:
        raise DatasetError(f"{dataset.root}: no episodes")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in want}
    cut_at_success = 0
    for k in range(len(dataset.episodes)):
        frames = dataset.episode(k)
        for name in want:
            parts[name].append(np.asarray(frames[name], dtype=np.float32).reshape(-1, *want[name]))
        cut_at_success += _ends_at_first_success(frames, env)
    if cut_at_success == len(dataset.episodes) and notes is not None:
        notes.append(
            f"every episode of {dataset.root} ends at its first success (as `robokit record` writes them, "
            "like panda-gym): the clone sees nothing after success, so it will not learn to hold still there; "
            "`robokit train ENV` without --dataset demonstrates whole episodes"
        )
    arrays = {name: np.concatenate(chunks) for name, chunks in parts.items()}
    for name, values in arrays.items():
        if not np.all(np.isfinite(values)):
            raise DatasetError(f"{dataset.root}: feature {name!r} has values that are not finite")
    low, high = env.action_space.low, env.action_space.high
    if np.any(arrays["action"] < low - 1e-6) or np.any(arrays["action"] > high + 1e-6):
        raise DatasetError(
            f"{dataset.root}: actions outside {env_id}'s action space [{low.min():g}, {high.max():g}]"
        )
    obs = {k: arrays[OBS_FEATURES[k]] for k in BC_OBS_KEYS}
    return obs, arrays["action"]


def _wanted_features(dataset: Any, env: Any, env_id: str) -> dict[str, tuple[int, ...]]:
    """{feature name: shape} bc reads for ``env``; DatasetError for a robokit recording of another env id,
    a missing feature or one of another shape."""
    extra = dataset.info.get("robokit")
    if isinstance(extra, dict) and extra.get("env_id") not in (None, env_id):
        raise DatasetError(f"{dataset.root}: recorded on {extra.get('env_id')!r:.80}, not {env_id}")
    spaces = env.observation_space.spaces
    want = {OBS_FEATURES[k]: tuple(spaces[k].shape) for k in BC_OBS_KEYS}
    want["action"] = tuple(env.action_space.shape)
    features = dataset.info["features"]
    for name, shape in want.items():
        if name not in features:
            raise DatasetError(f"{dataset.root}: no feature {name!r}; {env_id} needs {sorted(want)}")
        got = tuple(features[name].get("shape", ()))
        if got != shape:
            raise DatasetError(f"{dataset.root}: feature {name!r} has shape {got}, {env_id} needs {shape}")
    return want


def new_policy(env: Any, env_id: str, obs: dict[str, np.ndarray], config: TrainConfig) -> Policy:
    """An untrained policy for ``env`` (torch's default initialisation, seeded by the caller) whose input
    normalisation is the mean and variance of ``obs`` per key."""
    spec = spec_from_env(env, env_id)
    spec["obs_keys"] = list(BC_OBS_KEYS)
    spec["obs_norm"] = {
        "mean": {k: obs[k].astype(np.float64).mean(0).tolist() for k in BC_OBS_KEYS},
        "var": {k: obs[k].astype(np.float64).var(0).tolist() for k in BC_OBS_KEYS},
        "clip": float(config.clip_obs),
        "epsilon": NORM_EPSILON,
    }
    spec["network"] = {"hidden": list(config.net_arch), "activation": "relu", "output": "tanh"}
    spec.update(algo="bc", training_steps=0, seed=config.seed, train_time_s=0.0)
    if config.action_deadband:
        spec["action_deadband"] = float(config.action_deadband)
    spec["hyperparameters"] = config.to_dict()
    return Policy(spec)


def start_bc_run(config: TrainConfig, resume: bool) -> Path:
    """``train`` for ``config.algo == "bc"`` (config already checked): a dataset is needed, the run folder
    must be new (bc runs take minutes and are not resumed). TrainConfigError, ResumeError, RunExistsError
    or DatasetError before anything is written."""
    run = Path(config.out)
    if not config.dataset:
        from robokit.envs.registration import ENV_SPECS
        from robokit.policies.experts import EXPERTS

        name = ENV_SPECS.get(config.env_id, {}).get("task")  # ids robokit generated; others: build one
        if name is None:
            from robokit.envs.tasks import task_key

            env = gym.make(config.env_id)
            name = task_key(env.unwrapped.task)
            env.close()
        if name not in EXPERTS:
            raise TrainConfigError(
                f"--algo bc without --dataset learns from the task's scripted expert, and {name!r} has none;"
                " pass --dataset DIR"
            )
    if resume:
        raise ResumeError(f"{run}: bc runs are not resumed (they take minutes); start a new --out")
    if latest_checkpoint(run) or (run / POLICY_FILE).exists():
        raise RunExistsError(f"{run} already holds a run; choose another --out")
    return train_bc(config, config.dataset)


def _ends_at_first_success(frames: Any, env: Any) -> bool:
    """Whether an episode's frames stop at a success before the env's time limit (False when the dataset
    does not record success)."""
    if "next.success" not in frames:
        return False
    success = np.asarray(frames["next.success"], dtype=bool).reshape(-1)
    limit = env.spec.max_episode_steps if env.spec is not None else None
    return bool(success.size and success[-1] and (limit is None or success.size < limit))


def train_bc(config: TrainConfig, dataset: str | Path | None) -> Path:
    """Fit a policy to the dataset's actions for ``config.steps`` gradient steps of ``config.batch_size``
    samples (Adam, ``config.learning_rate``), evaluating every ``config.eval_every`` steps and stopping
    early as RL runs do; returns the policy file's path. DatasetError before anything is written for a
    dataset that does not fit the env; the run folder must be new (the caller checks)."""
    env = gym.make(config.env_id)
    t0 = time.perf_counter()
    try:
        if dataset is None:  # the scripted expert's episodes, made here (their time counts in the run's)
            obs, actions = expert_arrays(
                config.env_id,
                config.demo_episodes,
                config.seed,
                BC_OBS_KEYS,
                config.progress,
                noise=config.demo_noise,
            )
        notes: list[str] = []
        if dataset is not None:
            obs, actions = dataset_arrays(dataset, env, config.env_id, notes)
        torch.set_num_threads(config.torch_threads)
        torch.manual_seed(config.seed)
        try:
            policy = new_policy(env, config.env_id, obs, config)
        except PolicyFileError as exc:  # e.g. a feature's variance beyond what a policy file may hold
            raise DatasetError(
                f"{dataset or 'the expert demonstrations'}: cannot be normalised ({exc})"
            ) from None
        for note in notes:  # the dataset is accepted: say what the clone will not learn from it
            print(f"warning: {note}", file=sys.stderr)
        run = Path(config.out)
        run.mkdir(parents=True, exist_ok=True)
        config.save_yaml(run / CONFIG_FILE)
        (run / EVALS_FILE).unlink(missing_ok=True)
        demo_s = time.perf_counter() - t0 if dataset is None else 0.0
        return _fit(config, run, env, policy, obs, actions, demo_s)
    finally:
        env.close()


def _fit(config, run: Path, env, policy: Policy, obs, actions, demo_s: float) -> Path:
    """The gradient steps, evaluations and the policy file; ``train_time_s`` counts ``demo_s`` (making the
    expert's demonstrations is part of training) and the steps, not the evaluations."""
    x = policy.flatten_obs(obs)  # normalised once: (N, obs_dim)
    y = torch.as_tensor(actions)
    gen = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.Adam(policy.net.parameters(), lr=config.learning_rate)
    stop = {"now": False}
    bar = progress_bar(config.steps, config.env_id.split("/")[-1], unit="step", enabled=config.progress)
    train_s, streak, step = demo_s, 0, 0
    try:
        with stop_on_first_sigint(lambda: stop.update(now=True)):
            while step < config.steps and not stop["now"]:
                t0 = time.perf_counter()
                policy.train()
                idx = torch.randint(len(x), (min(config.batch_size, len(x)),), generator=gen)
                loss = torch.mean((policy(x[idx]) - y[idx]) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
                step += 1
                train_s += time.perf_counter() - t0
                bar.update(1)
                if step % config.eval_every == 0 or step == config.steps:
                    policy.eval()
                    row = evaluation_row(
                        env,
                        policy,
                        config.eval_seed,
                        config.eval_episodes,
                        step,
                        train_s,
                        lambda: stop["now"],
                    )
                    if row is None:  # Ctrl-C during the evaluation: no row, stop
                        break
                    with open(run / EVALS_FILE, "a") as f:
                        f.write(json.dumps({**row, "loss": round(loss.item(), 6)}) + "\n")
                    bar.set_postfix(success=f"{row['success_rate']:.2f}", loss=f"{loss.item():.4f}")
                    hit = (
                        config.stop_success_rate is not None
                        and row["success_rate"] >= config.stop_success_rate
                    )
                    streak = streak + 1 if hit else 0
                    if hit and streak >= config.stop_patience:
                        break
    finally:
        bar.close()
        policy.eval()
        policy.spec.update(training_steps=step, train_time_s=round(train_s, 3))
        if step > 0:
            Policy(policy.spec, policy.weight_tensors()).save(run / POLICY_FILE)
    if stop["now"]:
        raise KeyboardInterrupt
    return run / POLICY_FILE
