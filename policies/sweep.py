"""Hyperparameter sweeps: an Optuna study (TPE sampler, median pruning on the success rate that training
measures every ``eval_every`` steps) over a ``robokit train`` run per trial, locally or on Ray.

The driver (this module, in the ``robokit sweep`` process) owns the study, asks it for each trial's
settings and tells it the outcome; a backend runs the trials (``LocalBackend``: a process each;
``RayBackend``: a Ray task each). The study lives in ``OUT/study.journal`` (Optuna's JournalStorage on a
file, made for several processes on one machine: each append takes a file lock), so several
``robokit sweep`` commands on one machine can share a sweep, and a rerun resumes it: ``trials`` is the
study's total. ``OUT/trial-NNNN/`` are the trials' run folders; ``OUT/best.yaml`` the best settings, a file
``robokit train --config`` takes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robokit.core.run_files import BEST_FILE, STUDY_FILE  # noqa: F401  (also the sweep API)
from robokit.policies.search_space import SWEEP_ALGOS, settings_from_params, suggest
from robokit.policies.sweep_trial import LocalBackend, TrialFailed, TrialSpec, one_line

STUDY_NAME = "robokit-sweep"
# the base settings a rerun must share with the study it resumes
FIXED = ("env_id", "algo", "steps", "seed", "eval_every", "eval_episodes", "stop_success_rate")


class SweepError(ValueError):
    """Settings a sweep cannot run with, or a study file that is not this sweep's (one line)."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C: the running trials were ended and recorded as failed (``interrupted``); rerun to resume."""


@dataclass
class SweepResult:
    best_value: float | None
    best_config: Any  # TrainConfig or None
    best_file: Path | None
    trials: dict[str, int]  # state name -> count


def base_settings(env_id: str, algo: str | None, **overrides: Any) -> dict[str, Any]:
    """The env's training defaults for ``algo`` with ``overrides`` (None ignored) and no progress bar:
    what every trial shares. Raises SweepError for an algo without a search space."""
    from robokit.policies.config import default_config

    config = default_config(env_id, algo, **overrides)
    if config.algo not in SWEEP_ALGOS:
        raise SweepError(f"{config.algo} has no search space; sweep one of {', '.join(SWEEP_ALGOS)} (--algo)")
    if config.eval_every > config.steps:
        raise SweepError(
            f"eval_every ({config.eval_every}) is more than a trial's steps ({config.steps}): no evaluation "
            "to score or prune a trial by; lower --eval-every or raise --steps"
        )
    return {**config.to_dict(), "progress": False}


def open_study(out: Path, base: dict[str, Any]) -> Any:
    """The study in ``out/study.journal`` (created, or loaded to resume). Raises SweepError for a file
    that is not an Optuna journal, or a study begun with other base settings (FIXED)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = out / STUDY_FILE
    check_journal(path)  # before Optuna appends to it
    try:
        storage = JournalStorage(JournalFileBackend(str(path)))
        study = optuna.create_study(
            study_name=STUDY_NAME,
            storage=storage,
            direction="maximize",
            sampler=optuna.samplers.TPESampler(n_startup_trials=4),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2),
            load_if_exists=True,
        )
        saved = study.user_attrs.get("base")
    except Exception as exc:  # noqa: BLE001  (a damaged file fails in many ways inside Optuna)
        raise SweepError(f"{path} is not a readable Optuna study: {one_line(exc)}") from None
    if saved is None:
        study.set_user_attr("base", base)
    elif not isinstance(saved, dict) or any(saved.get(k) != base[k] for k in FIXED):
        was = ", ".join(f"{k}={saved.get(k)!r}" for k in FIXED if isinstance(saved, dict))
        raise SweepError(f"{path} holds another sweep ({was}); give the same settings, or another --out")
    return study


def check_journal(path: Path) -> None:
    """SweepError (the file untouched) unless every line of an existing ``path`` is a whole JSON record,
    as Optuna's journal writes them: a line cut short by a crash or a full disk would have records
    appended after it, on the same line."""
    if not path.exists():
        return
    number = 0
    try:
        with path.open("rb") as f:
            for line in f:
                number += 1
                if line.strip() and not isinstance(json.loads(line), dict):
                    raise ValueError("not a record")
    except (OSError, ValueError, RecursionError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else f"line {number} is not a whole journal record"
        raise SweepError(
            f"{path} is damaged ({why}; cut short by a crash or a full disk?): move it aside to start anew"
        ) from None


def counted(study: Any) -> int:
    """Trials that count toward ``trials``: complete, pruned, and failed other than by an interruption."""
    from optuna.trial import TrialState

    done = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
    return sum(not t.user_attrs.get("interrupted") for t in study.get_trials(deepcopy=False, states=done))


def best_config(study: Any, base: dict[str, Any]) -> tuple[float, Any] | None:
    """(value, TrainConfig) of the study's best complete trial, or None before one completes."""
    from robokit.policies.config import TrainConfig

    try:
        best = study.best_trial
    except ValueError:
        return None
    try:
        settings = checked_settings(best.params)
    except ValueError as exc:
        raise SweepError(f"the study's best trial {best.number} holds {exc}") from None
    return best.value, TrainConfig.from_dict({**base, **settings, "out": "runs/train"})


def checked_settings(params: dict[str, Any]) -> dict[str, Any]:
    """A trial's params as TrainConfig settings, each checked as a config file's would be (a study file
    is outside input: an enqueued or edited trial may hold anything). Raises ConfigFileError."""
    from robokit.policies.config_file import check_value

    settings = settings_from_params(params)
    return {name: check_value(name, value) for name, value in settings.items()}


def write_best(study: Any, base: dict[str, Any], out: Path) -> tuple[float, Any, Path] | None:
    """``out/best.yaml`` from the best complete trial (for ``robokit train --config``); None if none."""
    from robokit.policies.config_file import write_config_file

    found = best_config(study, base)
    if found is None:
        return None
    write_config_file(out / BEST_FILE, found[1])
    return found[0], found[1], out / BEST_FILE


def run_sweep(
    env_id: str,
    out: str | Path,
    trials: int,
    algo: str | None = None,
    overrides: dict[str, Any] | None = None,
    backend: Any = None,
    echo: Callable[[str], None] = print,
    progress: Callable[[str], None] | None = None,
) -> SweepResult:
    """Run the sweep in ``out`` until its study holds ``trials`` finished trials (complete, pruned or
    failed), ``backend.capacity`` at a time (default: one local process). Crashed trials are recorded as
    failed with their error and the sweep goes on. ``overrides``: TrainConfig settings every trial
    shares (steps, seed, eval_every, ...). ``echo`` gets one line per trial, ``progress`` (if given) one per
    evaluation a trial reports (``trial 3: 1500/10000 steps, success 0.42``). Raises SweepError (before anything runs) and, on Ctrl-C,
    SweepInterrupted after ending the running trials (a rerun resumes, retrying them first)."""
    out = Path(out)
    base = base_settings(env_id, algo, **(overrides or {}))
    if not (out / STUDY_FILE).exists() and any(out.glob("trial-*")):
        raise SweepError(f"{out} holds trial folders but no {STUDY_FILE}; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    study = open_study(out, base)
    backend = backend or LocalBackend()
    echo(
        f"sweep {env_id} ({base['algo']}): {counted(study)}/{trials} trials done, study {out / STUDY_FILE}, "
        f"{backend.name}, {backend.capacity} at a time"
    )
    driver = _Driver(study, base, out, backend, echo, progress or (lambda text: None))
    try:
        driver.loop(trials)
    except KeyboardInterrupt:
        driver.interrupt()
        raise SweepInterrupted from None
    finally:
        backend.close()
    return driver.result()


class _Driver:
    """The ask/tell loop: keeps ``backend.capacity`` trials running until the study has enough."""

    def __init__(
        self, study: Any, base: dict[str, Any], out: Path, backend: Any, echo: Callable, progress: Callable
    ) -> None:
        self.study, self.base, self.out, self.backend, self.echo = study, base, out, backend, echo
        self.progress = progress
        self.trials: dict[int, Any] = {}  # number -> optuna Trial, running

    def loop(self, total: int) -> None:
        while True:
            while len(self.trials) < self.backend.capacity and counted(self.study) + len(self.trials) < total:
                self._start()
            if not self.trials:
                return
            for number, outcome in self.backend.wait(self._decide):
                self._finish(number, outcome)

    def _start(self) -> None:
        trial = self.study.ask()
        run = self.out.resolve() / f"trial-{trial.number:04d}"  # absolute: Ray workers may start elsewhere
        trial.set_user_attr("run", str(run))
        self.trials[trial.number] = trial
        try:  # a queued trial's params come from the study file: outside input
            settings = {**self.base, **checked_settings(suggest(trial, self.base["algo"])), "out": str(run)}
        except (ValueError, TypeError) as exc:  # recorded like a crash: the sweep goes on
            self._finish(trial.number, TrialFailed(f"settings refused: {one_line(exc)}"))
            return
        self.backend.start(TrialSpec(trial.number, settings))

    def _decide(self, number: int, step: int, value: float) -> bool:
        """Report a trial's evaluation to the study; True if the pruner stops the trial."""
        trial = self.trials.get(number)
        if trial is None:
            return True
        self.progress(f"trial {number}: {step}/{self.base['steps']} steps, success {value:.2f}")
        trial.report(value, step)
        return trial.should_prune()

    def _finish(self, number: int, outcome: dict | TrialFailed) -> None:
        from optuna.trial import TrialState

        trial = self.trials.pop(number)
        shown = " ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items()
        )
        if isinstance(outcome, TrialFailed):
            trial.set_user_attr("error", str(outcome))
            self.study.tell(trial, state=TrialState.FAIL)
            self.echo(f"trial {trial.number} failed: {outcome} ({shown})")
            return
        trial.set_user_attr("wall_s", outcome["wall_s"])
        trial.set_user_attr("rows", outcome["rows"])
        last = outcome["rows"][-1] if outcome["rows"] else {"success_rate": 0.0, "steps": 0}
        where = f"success {last['success_rate']:.2f} at {last['steps']} steps, {outcome['wall_s']:.1f} s"
        if outcome["pruned_at"] is not None:
            self.study.tell(trial, state=TrialState.PRUNED)
            self.echo(f"trial {trial.number} pruned at {outcome['pruned_at']} steps ({where}; {shown})")
            return
        self.study.tell(trial, outcome["value"])
        self.echo(f"trial {trial.number}: {outcome['value']:.3f} ({where}; {shown})")
        write_best(self.study, self.base, self.out)

    def interrupt(self) -> None:
        """Ctrl-C: end the running trials, record them failed (``interrupted``) and queue their settings
        again so that a rerun tries them first."""
        from optuna.trial import TrialState

        self.backend.cancel_all()
        for number, trial in list(self.trials.items()):
            self.study.enqueue_trial(trial.params)
            trial.set_user_attr("interrupted", True)
            trial.set_user_attr("error", "interrupted (Ctrl-C)")
            self.study.tell(trial, state=TrialState.FAIL)
            del self.trials[number]

    def result(self) -> SweepResult:
        from collections import Counter

        states = Counter(t.state.name.lower() for t in self.study.get_trials(deepcopy=False))
        best = write_best(self.study, self.base, self.out)
        if best is None:
            return SweepResult(None, None, None, dict(states))
        return SweepResult(best[0], best[1], best[2], dict(states))
