"""Training settings: one dataclass, plus per-algorithm defaults kept as data (``ALGO_DEFAULTS``).

Resolution order: ``TrainConfig`` field defaults < ``ALGO_DEFAULTS[algo]`` < the env id's own defaults
(its robot folder's ``robot.yaml``, ``envs[].train.<algo>``; ``robokit.envs.registration.train_defaults``)
< explicit overrides (CLI flags). The resolved config is written to ``RUN/config.yaml``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_ENVS = 64  # n_envs: each env is a process of its own (~250 MB with torch)
ALGOS = ("sac", "td3", "tqc", "ppo", "bc")  # bc: behaviour cloning from a dataset (robokit.policies.bc)
SEED_MAX = 2**32 - 1 - 256  # numpy seeds are < 2**32; training env i uses seed + i


class TrainConfigError(ValueError):
    """A setting training cannot run with (a count below 1, a device this torch does not have, ...)."""


@dataclass
class TrainConfig:
    """Everything a training run depends on. Steps count env steps summed over all envs."""

    env_id: str = "robokit/ServoArmReach-v0"
    out: str = "runs/train"
    algo: str = "td3"  # td3 | sac | ppo; TD3's SB3 update costs half of SAC's (see docs/training.md)
    steps: int = 20_000  # total env steps (all envs); training may stop earlier, see stop_success_rate
    seed: int = 0
    n_envs: int = 1  # >1: one process per env (SubprocVecEnv), each with its own BulletClient
    device: str = "cpu"
    torch_threads: int = 1  # small MLPs: more threads only add overhead
    # network and optimiser
    net_arch: list[int] = field(default_factory=lambda: [64, 64])
    learning_rate: float = 1e-3
    gamma: float = 0.95
    batch_size: int = 256
    # off-policy (SAC/TD3)
    buffer_size: int = 50_000
    learning_starts: int = 200
    tau: float = 0.05
    train_freq: int = 1  # env steps (per env) between updates
    gradient_steps: int = 1  # gradient steps per update
    action_noise_std: float = 0.2  # TD3: Gaussian exploration noise (action units)
    fused_adam: bool = True  # torch's fused Adam: cheaper SB3 updates on CPU
    her: bool = True  # HerReplayBuffer (goal envs)
    her_n_sampled_goal: int = 4
    # the training env (robokit.policies.shaping): without these, policies dither at the goal
    terminate_on_success: bool = False  # training episodes go on after the first success: holding is trained
    action_change_penalty: float = 1.0  # reward -= this * |a_t - a_(t-1)|^2 (0: off); training only
    # on-policy (PPO)
    n_steps: int = 512  # rollout length per env
    n_epochs: int = 10
    ent_coef: float = 0.0
    # observation normalisation (VecNormalize, obs only); stats go into the policy file
    norm_obs: bool = True
    clip_obs: float = 10.0
    # evaluation, early stop, checkpoints
    eval_every: int = 500  # env steps between evaluations
    eval_episodes: int = 50
    eval_seed: int = 1_000_000  # evaluation episode i uses seed eval_seed + i
    stop_success_rate: float | None = 0.96  # stop once evaluations reach this (None: run all steps) ...
    stop_patience: int = 2  # ... this many times in a row (one lucky evaluation is not a solved task)
    checkpoint_every: int = 2_000  # env steps; a SIGKILL loses at most this much
    keep_checkpoints: int = 2
    progress: bool = True
    dataset: str | None = None  # bc: the LeRobotDataset v3.0 folder it learns from (None: the expert)
    demo_episodes: int = 1000  # bc without a dataset: the scripted expert's episodes it learns from
    demo_noise: float = 0.0  # bc without a dataset: std of the noise on the expert's executed moves (DART)
    action_deadband: float = 0.0  # bc: the policy file's deadband (action units; smaller moves are 0)

    def __post_init__(self) -> None:
        if not isinstance(self.terminate_on_success, bool):
            raise ValueError(f"terminate_on_success must be true or false, not {self.terminate_on_success!r}")
        p = self.action_change_penalty
        if (
            isinstance(p, bool)
            or not isinstance(p, (int, float))
            or not math.isfinite(p)
            or not 0 <= p <= 100
        ):
            raise ValueError(f"action_change_penalty must be a number in [0, 100], not {p!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        return cls(**d)

    def save_yaml(self, path: str | Path) -> None:
        import yaml

        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def load_yaml(cls, path: str | Path) -> TrainConfig:
        import yaml

        return cls.from_dict(yaml.safe_load(Path(path).read_text()))


# Per algorithm (any env). SAC/TD3 settings follow rl-baselines3-zoo's tuned *Reach settings.
ALGO_DEFAULTS: dict[str, dict[str, Any]] = {
    "sac": {},
    "td3": {},
    "tqc": {},  # sb3-contrib's TQC (truncated quantile critics), SAC's settings otherwise
    "bc": {  # steps are gradient steps of batch_size samples; evaluation as for RL (every eval_every steps)
        "her": False,
        "norm_obs": True,
        "net_arch": [512, 512, 512],
        "learning_rate": 1e-3,
        "batch_size": 256,
        "steps": 12_000,
        "eval_every": 4_000,
        "action_deadband": 0.05,
        "demo_noise": 0.1,
    },
    "ppo": {
        "her": False,
        "learning_rate": 3e-4,
        "batch_size": 64,
        "gamma": 0.95,
        "n_envs": 2,
        "net_arch": [64, 64],
        "steps": 100_000,
        "eval_every": 5_000,
        "terminate_on_success": True,  # as measured (docs/training.md); the penalty is tuned for off-policy
        "action_change_penalty": 0.0,
    },
}


def default_config(env_id: str, algo: str | None = None, **overrides: Any) -> TrainConfig:
    """The resolved defaults for ``env_id`` and ``algo`` (None: the env's own, else td3), with
    ``overrides`` (None values ignored)."""
    from robokit.envs.registration import default_algo, train_defaults  # the env's robot folder

    algo = algo or default_algo(env_id)
    if algo not in ALGOS:
        raise ValueError(f"unknown algo {algo!r}; choose one of {ALGOS}")
    d: dict[str, Any] = {"env_id": env_id, "algo": algo}
    d.update(ALGO_DEFAULTS[algo])
    if _control_mode(env_id) == "joint_absolute":
        d.pop("action_deadband", None)  # an action is a position there: no small move to drop
    d.update(train_defaults(env_id).get(algo, {}))
    d.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(d)


def check_bc_settings(config: TrainConfig) -> None:
    """TrainConfigError unless ``action_deadband`` (0..MAX_DEADBAND) and ``demo_noise`` (0..1) are
    numbers, and zero for every algo but bc (RL would drop them silently)."""
    from robokit.policies.policy_spec import MAX_DEADBAND

    for name, top in (("action_deadband", MAX_DEADBAND), ("demo_noise", 1.0)):
        value = getattr(config, name)
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not 0.0 <= value <= top:
            raise TrainConfigError(f"{name} must be a number in [0, {top:g}], not {value!r}")
        if value and config.algo != "bc":
            raise TrainConfigError(f"{name} is a behaviour-cloning setting; {config.algo} would ignore it")
    if config.action_deadband and _control_mode(config.env_id) == "joint_absolute":
        raise TrainConfigError(
            f"action_deadband has no meaning for {config.env_id}'s joint_absolute control (an action is a position)"
        )


def _control_mode(env_id: str) -> str | None:
    """The control mode of a registered env id (None for one robokit does not know)."""
    from robokit.envs.registration import ENV_SPECS

    return ENV_SPECS.get(env_id, {}).get("control_mode")
