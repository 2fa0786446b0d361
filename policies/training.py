"""Training with Stable-Baselines3 into a run folder; read top to bottom.

RUN/config.yaml        the resolved TrainConfig
RUN/tb/                TensorBoard logs (SB3's + eval/success_rate, eval/mean_return)
RUN/evals.jsonl        one row per periodic evaluation (steps, train_time_s, success_rate, ...)
RUN/checkpoints/       step-<N>/ {model.zip, replay_buffer.pkl, vecnormalize.pkl, state.json}, written to a
                       temp folder then renamed; ``latest`` names the newest complete one
RUN/policy.safetensors the exported policy (robokit.policies.load_policy)

Evaluation runs the *exported* policy (as the deploy loop does, its numpy snapshot) on seeded episodes
in a background process while training goes on (``BackgroundEval``); waiting for it is excluded from
``train_time_s``. An early-stopped run exports the snapshot whose evaluation completed the streak. SB3 is imported here, lazily by the CLI; deploying never imports this module.
"""

from __future__ import annotations

import signal
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from sb3_contrib import TQC
from stable_baselines3 import PPO, SAC, TD3, HerReplayBuffer
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor, VecNormalize

import robokit.envs  # noqa: F401  (registers the ids)
from robokit.core.run_files import (
    CHECKPOINT_MODEL_FILE,
    CHECKPOINT_REPLAY_FILE,
    CHECKPOINT_VECNORMALIZE_FILE,
    CONFIG_FILE,
    EVALS_FILE,
    POLICY_FILE,
    TENSORBOARD_DIR,
)
from robokit.policies.checkpoints import (  # noqa: F401  (the run-folder API, used by `robokit train`)
    ResumeError,
    RunExistsError,
    checkpoint_state,
    latest_checkpoint,
    nothing_to_do,
    save_checkpoint,
    saved_config,
    truncate_evals,
)
from robokit.policies.config import MAX_ENVS, SEED_MAX, TrainConfig, TrainConfigError, check_bc_settings
from robokit.policies.device import resolve_device
from robokit.policies.policy_spec import MAX_HIDDEN_LAYERS, MAX_HIDDEN_SIZE  # policy files must load
from robokit.policies.run_callback import RunCallback
from robokit.policies.shaping import make_train_env
from robokit.policies.stopping import StopTraining, stop_on_first_sigint

ALGO_CLASSES = {"sac": SAC, "td3": TD3, "tqc": TQC, "ppo": PPO}


def check_config(config: TrainConfig) -> TrainConfig:
    """Raise TrainConfigError unless training can run with ``config``; returns it with the device resolved
    (``auto`` -> cuda or cpu). Nothing is written."""
    positive = ("steps", "n_envs", "eval_every", "eval_episodes", "checkpoint_every", "keep_checkpoints")
    positive += ("demo_episodes",)
    for name in positive:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TrainConfigError(f"{name} must be a whole number of at least 1, not {value!r}")
    if config.n_envs > MAX_ENVS:  # a config file or the API; the command line has its own bound
        raise TrainConfigError(f"n_envs must be at most {MAX_ENVS} (one process each), not {config.n_envs}")
    check_bc_settings(config)
    rate = config.stop_success_rate
    if rate is not None and not (isinstance(rate, (int, float)) and 0.0 < rate <= 1.0):
        raise TrainConfigError(f"stop_success_rate must be in (0, 1] or None, not {rate!r}")
    if not isinstance(config.seed, int) or not 0 <= config.seed <= SEED_MAX:
        raise TrainConfigError(f"seed must be a whole number in [0, {SEED_MAX}], not {config.seed!r}")
    arch = config.net_arch
    if not isinstance(arch, (list, tuple)) or len(arch) > MAX_HIDDEN_LAYERS:
        raise TrainConfigError(f"net_arch must list at most {MAX_HIDDEN_LAYERS} layer sizes, not {arch!r}")
    if not all(isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_HIDDEN_SIZE for h in arch):
        raise TrainConfigError(
            f"net_arch sizes must be whole numbers in [1, {MAX_HIDDEN_SIZE}], not {arch!r}"
        )
    run = Path(config.out)
    if run.exists() and not run.is_dir():
        raise TrainConfigError(f"{run} is a file; the run folder (--out) must be a folder")
    try:
        device = resolve_device(config.device)
    except ValueError as exc:
        raise TrainConfigError(str(exc)) from None
    return TrainConfig.from_dict({**config.to_dict(), "device": device})


def make_vec_env(config: TrainConfig) -> VecMonitor:
    """n_envs copies of the training env (``shaping.make_train_env``: episodes past the first success, the
    action-change penalty): in this process for 1, one process each (own BulletClient) for more."""

    def factory(rank: int):
        def make() -> gym.Env:
            if config.n_envs > 1:  # a worker process: Ctrl-C on the terminal is the parent's to handle
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            env = make_train_env(config)
            env.reset(seed=config.seed + rank)
            return env

        return make

    fns = [factory(i) for i in range(config.n_envs)]
    venv = DummyVecEnv(fns) if config.n_envs == 1 else SubprocVecEnv(fns, start_method="fork")
    return VecMonitor(venv, info_keywords=("is_success",))


def build_model(config: TrainConfig, venv: Any, tb_dir: Path) -> Any:
    """A fresh SB3 model from the config."""
    common = dict(
        policy="MultiInputPolicy",
        env=venv,
        learning_rate=config.learning_rate,
        gamma=config.gamma,
        batch_size=config.batch_size,
        policy_kwargs={
            "net_arch": list(config.net_arch),
            "optimizer_kwargs": {"fused": True} if config.fused_adam else {},
        },
        tensorboard_log=str(tb_dir),
        seed=config.seed,
        device=config.device,
        verbose=0,
    )
    if config.algo == "ppo":
        return PPO(**common, n_steps=config.n_steps, n_epochs=config.n_epochs, ent_coef=config.ent_coef)
    off = dict(
        buffer_size=config.buffer_size,
        learning_starts=config.learning_starts,
        tau=config.tau,
        train_freq=config.train_freq,
        gradient_steps=config.gradient_steps,
    )
    if config.her:
        off["replay_buffer_class"] = HerReplayBuffer
        off["replay_buffer_kwargs"] = {
            "n_sampled_goal": config.her_n_sampled_goal,
            "goal_selection_strategy": "future",
        }
    if config.algo == "td3":
        from stable_baselines3.common.noise import NormalActionNoise

        dim = venv.action_space.shape[0]
        off["action_noise"] = NormalActionNoise(np.zeros(dim), config.action_noise_std * np.ones(dim))
    return ALGO_CLASSES[config.algo](**common, **off)


def train(
    config: TrainConfig, resume: bool = False, on_eval: Callable[[dict[str, Any]], bool] | None = None
) -> Path:
    """Train (or resume) the run in ``config.out``; returns the path of the exported policy file.

    Ctrl-C writes a checkpoint (and the policy so far) before re-raising KeyboardInterrupt. Refused before
    anything is written: an unknown env id, settings training cannot run with (TrainConfigError), a run
    that exists without ``resume`` (RunExistsError), and with ``resume`` a run without a checkpoint or
    saved with another env id (ResumeError). With ``resume``, ``config`` gives only ``steps``, ``progress``
    and ``device``: the rest comes from the run's config.yaml. A resume with nothing to do (see
    ``nothing_to_do``) returns the run's policy file untouched. ``on_eval(row)`` (RL only) sees each
    evals.jsonl row as it is written; True stops the run there, exported as a finished one (a sweep
    prunes a trial that way).
    """
    run = Path(config.out)
    gym.spec(config.env_id)  # an unknown id raises here, before the run folder is touched
    config = check_config(config)
    if config.algo == "bc" and not (resume and _saved_algo(run) not in (None, "bc")):
        from robokit.policies.bc import start_bc_run

        return start_bc_run(config, resume)  # (an RL run resumed without --algo goes on below, as itself)
    ckpt = latest_checkpoint(run) if resume else None
    if resume:
        config = _resume_config(run, config, ckpt)
        if nothing_to_do(run, config.steps) and (run / POLICY_FILE).is_file():
            return run / POLICY_FILE
    elif latest_checkpoint(run) or (run / POLICY_FILE).exists():
        raise RunExistsError(
            f"{run} already holds a run; pass --resume to continue it, or choose another --out"
        )
    run.mkdir(parents=True, exist_ok=True)
    config.save_yaml(run / CONFIG_FILE)
    torch.set_num_threads(config.torch_threads)
    set_random_seed(config.seed)
    venv, venv_norm = _make_envs(config, ckpt)
    model, state = _make_model(config, run, venv, ckpt)
    return _learn(config, run, model, venv, venv_norm, state, fresh=ckpt is None, on_eval=on_eval)


def _saved_algo(run: Path) -> str | None:
    """The algo in a run folder's config.yaml (None when it has none or it cannot be read)."""
    if not (run / CONFIG_FILE).is_file():
        return None
    try:
        return saved_config(run).algo
    except (ResumeError, TrainConfigError):
        return None


def _resume_config(run: Path, config: TrainConfig, ckpt: Path | None) -> TrainConfig:
    """The config of the run to resume: its config.yaml with ``config``'s steps, progress and device.
    Raises ResumeError without a checkpoint or for another env id."""
    if ckpt is None:
        what = "has no checkpoint" if run.is_dir() else "does not exist: no checkpoint"
        raise ResumeError(f"{run} {what} to resume from; drop --resume to start a new run")
    if not (run / CONFIG_FILE).is_file():
        return config
    saved = saved_config(run)
    if saved.env_id != config.env_id:
        raise ResumeError(
            f"{run} was trained on {saved.env_id}, not {config.env_id}; "
            f"resume with {saved.env_id}, or choose another --out for {config.env_id}"
        )
    keep = {"steps": config.steps, "progress": config.progress, "device": config.device}
    return check_config(TrainConfig.from_dict({**saved.to_dict(), **keep}))


def _make_envs(config: TrainConfig, ckpt: Path | None) -> tuple[Any, VecNormalize | None]:
    """(the vec env training steps, its VecNormalize or None); the stats come from ``ckpt`` if saved."""
    venv: Any = make_vec_env(config)
    if not config.norm_obs:
        return venv, None
    if ckpt is not None and (ckpt / CHECKPOINT_VECNORMALIZE_FILE).is_file():
        venv_norm = VecNormalize.load(str(ckpt / CHECKPOINT_VECNORMALIZE_FILE), venv)
    else:
        venv_norm = VecNormalize(venv, norm_obs=True, norm_reward=False, clip_obs=config.clip_obs)
    return venv_norm, venv_norm


def _make_model(config: TrainConfig, run: Path, venv: Any, ckpt: Path | None) -> tuple[Any, dict]:
    """(model, state): loaded from ``ckpt`` with its replay buffer and state.json, or fresh."""
    if ckpt is None:
        (run / EVALS_FILE).unlink(missing_ok=True)
        return build_model(config, venv, run / TENSORBOARD_DIR), {"steps": 0, "train_time_s": 0.0}
    state = checkpoint_state(ckpt)
    if state.pop("solved", False):  # asked for more steps: early stop needs fresh evaluations
        state["streak"] = 0
    model = ALGO_CLASSES[config.algo].load(ckpt / CHECKPOINT_MODEL_FILE, env=venv, device=config.device)
    if (ckpt / CHECKPOINT_REPLAY_FILE).is_file():
        with warnings.catch_warnings():
            # HER drops the episode that was running at the checkpoint: right, as the envs restart
            warnings.filterwarnings("ignore", message="The last trajectory in the replay buffer")
            model.load_replay_buffer(ckpt / CHECKPOINT_REPLAY_FILE)
    truncate_evals(run, state["steps"])
    return model, state


def _learn(
    config: TrainConfig,
    run: Path,
    model: Any,
    venv: Any,
    venv_norm: Any,
    state: dict,
    fresh: bool,
    on_eval: Callable[[dict[str, Any]], bool] | None = None,
) -> Path:
    """Train to ``config.steps``, checkpoint at the end (or on Ctrl-C), export the policy file."""
    callback = RunCallback(config, run, venv_norm, state, on_eval)
    try:
        if model.num_timesteps < config.steps:
            with stop_on_first_sigint(callback.interrupt):
                try:
                    model.learn(
                        config.steps - model.num_timesteps,
                        callback=callback,
                        reset_num_timesteps=fresh,
                        tb_log_name="run",
                    )
                except StopTraining:
                    callback.on_training_end()
        state["solved"] = callback.solved
        callback.checkpoint()  # so ``--resume --steps MORE`` continues from the end
        if callback.failure is not None:  # the evaluation process died: the checkpoint above is whole
            raise callback.failure
        if callback.interrupted:
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        callback.checkpoint()
        raise
    finally:
        path = run / POLICY_FILE
        if model.num_timesteps > 0:
            callback.final_policy().save(path)
        if callback.background is not None:
            callback.background.close()
        callback.eval_env.close()
        venv.close()
    return path
