"""The training run's SB3 callback: progress bar, periodic evaluation (in a background process),
checkpoints, early stop; and the export of the model's actor as a Policy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize

from robokit.console import progress_bar
from robokit.core.run_files import EVALS_FILE
from robokit.policies.background_eval import BackgroundEval, EvalWorkerError
from robokit.policies.checkpoints import save_checkpoint
from robokit.policies.config import TrainConfig
from robokit.policies.export import policy_from_sb3
from robokit.policies.policy_file import Policy
from robokit.policies.stopping import StopTraining

REPLAY_ALGOS = frozenset({"sac", "td3", "tqc"})  # off-policy: a replay buffer goes into every checkpoint


class RunCallback(BaseCallback):
    """Evaluates every ``eval_every`` steps (in a background process: ``BackgroundEval``), checkpoints every
    ``checkpoint_every`` steps, shows progress, and stops when ``stop_patience`` evaluations in a row reach
    ``stop_success_rate``. Keeps ``train_time_s`` (waits for an evaluation excluded, checkpoints
    included) across resumes."""

    def __init__(
        self,
        config: TrainConfig,
        run: Path,
        venv_norm: VecNormalize | None,
        state: dict,
        on_eval: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        super().__init__()
        self.on_eval = on_eval  # called with each evals.jsonl row; True stops the run (a sweep's pruning)
        self.pruned = False
        self.config, self.run, self.venv_norm, self.state = config, run, venv_norm, state
        self.eval_env = gym.make(config.env_id)
        self.next_eval = (state["steps"] // config.eval_every + 1) * config.eval_every
        self.next_ckpt = (state["steps"] // config.checkpoint_every + 1) * config.checkpoint_every
        self.solved = False
        self.solved_policy: Policy | None = None  # the snapshot whose evaluation ended the streak
        self.interrupted = False  # set by the first Ctrl-C; training stops at the next step, cleanly
        self._replay = config.algo in REPLAY_ALGOS
        self._evaluating: Policy | None = None  # the snapshot the background process is evaluating
        self.background: BackgroundEval | None = None
        self.failure: EvalWorkerError | None = None  # the evaluation process died: stop, checkpoint, raise

    @property
    def stopping(self) -> bool:
        """Solved, interrupted (Ctrl-C, an evaluation process that died) or pruned: stop at the next step."""
        return self.solved or self.interrupted or self.pruned

    def interrupt(self) -> None:
        """Stop at the end of the step under way (the first Ctrl-C)."""
        self.interrupted = True

    def _on_training_start(self) -> None:
        # a tqdm bar on a terminal; plain lines (no \r) every 10 s into a pipe or a log file
        self.bar = progress_bar(
            self.config.steps,
            self.config.env_id.split("/")[-1],
            unit="step",
            enabled=self.config.progress,
            initial=self.num_timesteps,
        )
        self.background = BackgroundEval(self.config.env_id)
        self.t_mark = time.perf_counter()

    def _pause(self) -> None:
        self.state["train_time_s"] += time.perf_counter() - self.t_mark

    def _resume(self) -> None:
        self.t_mark = time.perf_counter()

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self.bar.n)
        try:
            self._evaluate_if_due()
        except EvalWorkerError as exc:  # stop like a Ctrl-C (a whole step, then a checkpoint), then raise
            self.failure, self.interrupted = exc, True
        if self._replay:  # checkpoints and stops wait for the step's transition (``_on_rollout_end``)
            return True
        self._checkpoint_if_due()
        return not self.stopping

    def _evaluate_if_due(self) -> None:
        """Take a finished evaluation's row; hand the next one over when due. Raises EvalWorkerError."""
        assert self.background is not None
        self._take_row(self.background.poll())
        if self.num_timesteps >= self.next_eval and not self.stopping:
            self.next_eval += self.config.eval_every
            self._pause()
            self._take_row(self.background.wait())  # the previous evaluation has not answered yet
            if not self.solved:
                self._evaluating = self.current_policy()
                c = self.config
                self.background.submit(
                    self._evaluating.numpy_actor(), c.eval_seed, c.eval_episodes, self.num_timesteps,
                    self.state["train_time_s"],
                )  # fmt: skip
            self._resume()

    def _take_row(self, row: dict[str, Any] | None) -> None:
        """An evaluation's row: to evals.jsonl, TensorBoard, the bar, and the early-stop streak."""
        if row is None:
            return
        with open(self.run / EVALS_FILE, "a") as f:
            f.write(json.dumps(row) + "\n")
        self.logger.record("eval/success_rate", row["success_rate"])
        self.logger.record("eval/mean_return", row["mean_return"])
        self.logger.record("eval/train_time_s", row["train_time_s"])
        self.logger.dump(self.num_timesteps)
        self.bar.set_postfix(success=f"{row['success_rate']:.2f}", train_s=f"{row['train_time_s']:.1f}")
        stop = self.config.stop_success_rate
        hit = stop is not None and row["success_rate"] >= stop
        self.state["streak"] = self.state.get("streak", 0) + 1 if hit else 0
        if hit and self.state["streak"] >= self.config.stop_patience:
            self.solved, self.solved_policy = True, self._evaluating
        if self.on_eval is not None and self.on_eval(row):
            self.pruned = True

    def _on_rollout_end(self) -> None:
        """Off-policy: SB3 has stored the rollout's transitions, so the replay buffer holds exactly
        ``num_timesteps`` of them; checkpoint here, and stop here (raising ``StopTraining``)."""
        if not self._replay:
            return
        self.num_timesteps = self.model.num_timesteps
        if self.stopping:
            raise StopTraining
        self._checkpoint_if_due()

    def _checkpoint_if_due(self) -> None:
        if self.num_timesteps >= self.next_ckpt:  # part of training time: a run pays for it
            self.next_ckpt += self.config.checkpoint_every
            self.checkpoint()

    def _on_training_end(self) -> None:
        self._pause()
        if self.background is not None:
            if not self.interrupted:  # the last evaluation's row is part of the run
                try:
                    self._take_row(self.background.wait())
                except EvalWorkerError as exc:
                    self.failure = exc
            self.background.close()
        self._resume()
        self.bar.close()

    def current_policy(self) -> Policy:
        return export_policy(
            self.model, self.venv_norm, self.eval_env, self.config, self.state["train_time_s"]
        )

    def final_policy(self) -> Policy:
        """What the run exports: the snapshot whose evaluation completed the early-stop streak (training
        went on while it was evaluated), else the model as it is now."""
        return self.solved_policy if self.solved_policy is not None else self.current_policy()

    def checkpoint(self) -> None:
        self.state["steps"] = int(self.num_timesteps)
        save_checkpoint(self.run, self.model, self.venv_norm, self.state, self.config.keep_checkpoints)


def export_policy(model: Any, venv_norm: Any, env: Any, config: TrainConfig, train_time_s: float) -> Policy:
    """The model's deterministic actor as a Policy with the training provenance in its spec."""
    return policy_from_sb3(
        model,
        env,
        config.env_id,
        venv_norm,
        training_steps=int(model.num_timesteps),
        train_time_s=round(train_time_s, 3),
        seed=config.seed,
        hyperparameters=config.to_dict(),
    )
