"""The demo (``robokit demo``): the whole product in a few minutes, as ``run_demo`` and its stages.

1. train a ServoArmReach policy (``task="push"``: ServoArmPush, cloned from the scripted expert), or
   reuse the one an earlier demo left in the output folder;
2. evaluate it on 100 episodes, with the evaluation video grid and plots;
3. Reach: start the emulated arm (the real firmware in simavr) and deploy the same policy file over the
   pseudo-terminal to reach a few goals, measuring the reach error from the servo pulse widths. Push: the
   emulated arm has no cube to push, so the same policy file runs through the same deploy loop on a
   simulated arm in real time with the cube simulated beside it (``robokit deploy --dry-run``); on a
   real arm a task-state source (a camera) gives the cube's position instead;
4. write one report to ``OUT/summary.json`` (``robokit demo`` prints it).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from robokit.core.run_files import POLICY_FILE, SUMMARY_FILE

ENV_ID = "robokit/ServoArmReach-v0"
DEMO_ENVS = {"reach": ENV_ID, "push": "robokit/ServoArmPush-v0"}  # --task: the env it trains
BUS_DEMO_TASK = "reach"  # a servo-bus arm's demo (--robot so101): Reach, deployed on its virtual bus
FAST_TRAIN_STEPS = 3_000
FAST_BC = {"demo_episodes": 20, "steps": 300, "eval_every": 300}  # --task push --fast: a CI-sized clone
# the demo trains what `robokit train` trains: TD3+HER with the training env that teaches holding
# still (docs/training.md, "Holding still": it holds as still as SAC and its update costs half)
DEMO_ALGO = "td3"


class StageFailed(RuntimeError):
    """A demo stage failed: the message names the stage, the error and what to do."""

    def __init__(self, stage: str, error: BaseException, hint: str) -> None:
        super().__init__(f"stage '{stage}' failed: {error}\n  what to do: {hint}")


def _banner(n: int, total: int, text: str) -> None:
    print(f"\n[{n}/{total}] {text}", flush=True)


TARGET_SUCCESS = 0.95
DONE_MARKER = "demo-train.json"  # written once a demo's training stage has finished


def demo_env(task: str, robot: str | None = None) -> str:
    """The env the demo trains: the servo arm's for ``task`` (DEMO_ENVS), or a servo-bus robot's Reach
    (ee_delta, sparse). Raises KeyError (an unknown task, a robot without a bus section or Reach)."""
    if robot is None:
        return DEMO_ENVS[task]
    from robokit.envs.registration import env_row
    from robokit.robots import robot_folder

    folder = robot_folder(robot)
    if folder.bus is None or task != BUS_DEMO_TASK:
        raise KeyError(f"the demo runs --robot on a servo-bus arm's Reach; {robot} with {task} is not one")
    for entry in folder.envs:
        if (entry["task"], entry.get("control_mode"), entry.get("reward_type")) == (
            "reach",
            "ee_delta",
            "sparse",
        ):
            return env_row(robot, entry)[0]
    raise KeyError(f"robot {robot} has no ee_delta sparse Reach env")


def train_folder(out: Path, fast: bool, task: str = "reach", robot: str | None = None) -> Path:
    """OUT/train (Reach), OUT/train-push, OUT/train-so101 (--robot so101), with ``-fast`` for a --fast run."""
    part = f"-{robot}" if robot else ("" if task == "reach" else f"-{task}")
    return out / ("train" + part + ("-fast" if fast else ""))


def stage_train(
    out: Path, fast: bool, seed: int, task: str = "reach", robot: str | None = None
) -> tuple[Path, dict[str, Any]]:
    """Train (or reuse) the policy; returns its path and a small report.

    A full run trains in OUT/train, a --fast run in OUT/train-fast (push: OUT/train-push[-fast]), so a
    quick CI policy is never mistaken for a trained one. A finished run is reused; an interrupted RL run
    resumes from its last checkpoint, an interrupted clone (minutes) starts again."""
    from robokit.policies import default_config, read_spec, train
    from robokit.policies.plots import read_evals
    from robokit.policies.training import latest_checkpoint

    env_id = demo_env(task, robot)
    run = train_folder(out, fast, task, robot)
    policy = run / POLICY_FILE
    if policy.is_file() and (run / DONE_MARKER).is_file():
        spec = read_spec(policy)
        print(
            f"reusing {policy} ({spec.get('training_steps', '?')} training steps); "
            f"delete {run} to train again"
        )
        return policy, {"reused": True, "policy": str(policy), **json.loads((run / DONE_MARKER).read_text())}
    overrides: dict[str, Any] = {"out": str(run), "seed": seed}
    if fast:
        fast_steps = {"steps": FAST_TRAIN_STEPS} if task == "reach" else FAST_BC
        overrides.update(eval_episodes=20, stop_success_rate=None, **fast_steps)
    config = default_config(env_id, DEMO_ALGO if task == "reach" else None, **overrides)
    resume = config.algo != "bc" and latest_checkpoint(run) is not None
    if resume:
        print(f"resuming the interrupted training in {run} from its last checkpoint")
    elif run.exists():  # an interrupted run with no checkpoint yet: nothing worth keeping
        shutil.rmtree(run)
    t0 = time.perf_counter()
    path = train(config, resume=resume)
    evals = read_evals(run)
    done = {
        "fast": fast,
        "steps": int(read_spec(path).get("training_steps", 0)),
        "eval_success_rate": evals[-1]["success_rate"] if evals else None,
    }
    (run / DONE_MARKER).write_text(json.dumps(done))
    if not fast and (done["eval_success_rate"] or 0.0) < TARGET_SUCCESS:
        what = (
            f"train longer with `robokit train {env_id} --out {run} --resume --steps N`"
            if config.algo != "bc"
            else f"delete {run} and run the demo again to clone anew"
        )
        print(
            f"warning: training stopped at {done['eval_success_rate'] or 0.0:.0%} success "
            f"(< {TARGET_SUCCESS:.0%}); {what}"
        )
    return path, {"reused": False, "policy": str(path), "wall_s": time.perf_counter() - t0, **done}


def stage_eval(policy: Path, out: Path, fast: bool) -> dict[str, Any]:
    """Evaluate ``policy`` on 100 (``fast``: 20) episodes into ``OUT/eval``, with videos; the eval report."""
    from robokit.policies import evaluate

    episodes = 20 if fast else 100
    return evaluate(policy, episodes=episodes, out_dir=out / "eval", video=True, video_episodes=4, workers=2)


def demo_goals(env_id: str, seed: int, n: int) -> list:
    """The desired goals (3,) m of ``n`` episodes of ``env_id`` seeded ``seed + 1000 + i``: goals the
    evaluation did not use."""
    import gymnasium as gym

    import robokit.envs  # noqa: F401

    env = gym.make(env_id)
    goals = [env.reset(seed=seed + 1000 + i)[0]["desired_goal"].astype(float) for i in range(n)]
    env.close()
    return goals


def stage_deploy(policy_path: Path, out: Path, fast: bool, seed: int) -> dict[str, Any]:
    """Deploy on the emulated arm; per-goal reach error from the measured pulse widths."""

    import robokit.envs  # noqa: F401
    from robokit.console import StatusLine
    from robokit.firmware_bridge.emulator import Emulator
    from robokit.firmware_bridge.hardware_arm import HardwareArm
    from robokit.policies import load_policy
    from robokit.runtime.bringup import bring_up
    from robokit.runtime.loop import DeployLoop
    from robokit.runtime.summary import plot_joints

    policy = load_policy(policy_path)
    goals = demo_goals(ENV_ID, seed, 2 if fast else 3)
    log_dir = _fresh_deploy_dir(out)
    status = StatusLine()
    loop = DeployLoop(policy, log_dir=log_dir, status=status)  # every check before the arm is touched
    try:
        with Emulator() as emu:
            print(f"emulated arm on {emu.port}; enabling the servos (the firmware boots at home)")
            with HardwareArm(emu.port, loop.robot, control_period_s=1 / loop.hz) as arm:
                bring_up(arm, min_frame=10)
                loop.arm = arm
                summary = loop.run(goals, seconds_per_goal=2.0 if fast else 3.0)
                status.end()
                link = _pulse_reach_errors(emu, arm, summary)
    finally:
        loop.close()
        status.end()
    png = plot_joints(log_dir, loop.robot)
    return {"summary": summary.to_dict(), "joints_png": str(png), "log_dir": str(log_dir), "link": link}


def stage_deploy_simulated(
    policy_path: Path, out: Path, fast: bool, seed: int, env_id: str
) -> dict[str, Any]:
    """An object task: the deploy loop on a real-time simulated arm with the task's objects simulated
    beside it (``robokit deploy --dry-run``), for a few goals of seeded episodes."""

    import robokit.envs  # noqa: F401
    from robokit.console import StatusLine
    from robokit.runtime.session import DeployRequest, run_deploy
    from robokit.runtime.summary import plot_joints

    goals = demo_goals(env_id, seed, 2)
    seconds = 3.0 if fast else 6.0  # per goal: the cube has to be reached first, then pushed
    request = DeployRequest(
        policy=policy_path,
        goals=[",".join(f"{v:.4f}" for v in g) for g in goals],
        duration_s=seconds * len(goals),
        dry_run=True,
        log_dir=_fresh_deploy_dir(out),
    )
    status = StatusLine()
    try:
        outcome = run_deploy(request, status=status)
    finally:
        status.end()
    if outcome.summary is None or outcome.aborted:
        raise RuntimeError(f"the deploy stopped: {outcome.aborted or 'no summary'}")
    png = plot_joints(outcome.log_dir, outcome.robot)
    return {
        "summary": outcome.summary.to_dict(),
        "joints_png": str(png),
        "log_dir": str(outcome.log_dir),
        "link": "simulated arm in real time (no serial link)",
    }


def stage_deploy_bus(
    policy_path: Path, out: Path, fast: bool, seed: int, env_id: str, robot: str
) -> dict[str, Any]:
    """Deploy on the robot's virtual servo bus (a real pty, a PyBullet arm behind it); each goal's reach
    error from the servos' reported positions and from the plant's tip."""
    from robokit.console import StatusLine
    from robokit.runtime.summary import plot_joints
    from robokit.runtime.virtual_deploy import deploy_on_virtual_bus

    goals = demo_goals(env_id, seed, 2 if fast else 3)
    status = StatusLine()
    try:
        outcome = deploy_on_virtual_bus(
            policy_path, robot, goals, 2.0 if fast else 3.0, _fresh_deploy_dir(out), status=status
        )
    finally:
        status.end()
    png = plot_joints(outcome.log_dir, outcome.robot)
    link = f"virtual {robot} servo bus on a real pty (PyBullet plant)"
    return {
        "summary": outcome.summary.to_dict(),
        "joints_png": str(png),
        "log_dir": str(outcome.log_dir),
        "link": link,
    }


def _fresh_deploy_dir(out: Path) -> Path:
    """``OUT/deploy``, free for this run: an earlier demo's deploy log there is kept, renamed to
    ``OUT/deploy-<its start time>`` (a deploy never writes into an earlier run's log)."""
    log_dir = out / "deploy"
    if log_dir.exists() and any(log_dir.iterdir()):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(log_dir.stat().st_mtime))
        keep = out / f"deploy-{stamp}"
        n = 1
        while keep.exists():
            n += 1
            keep = out / f"deploy-{stamp}-{n}"
        log_dir.rename(keep)
        print(f"the earlier demo's deploy log is kept in {keep}")
    return log_dir


def _deploy_hint(exc: BaseException) -> str:
    """What to do when the deploy stage fails: the toolchain only when the emulator could not start."""
    from robokit.firmware_bridge.emulator import EmulatorError, missing_tools

    if isinstance(exc, EmulatorError) and missing_tools():
        return "install gcc-avr avr-libc simavr libsimavr-dev libelf-dev (bash .ci/install), or pass --no-hardware"
    return (
        "check the message above (the deploy log is in the output folder's deploy/); run the demo again, "
        "or pass --no-hardware to skip the emulated arm"
    )


def _pulse_reach_errors(emu, arm, summary) -> dict[str, Any]:
    """Per goal, the reach error (m) from the pulse widths the servos were sent at its last frame
    (``pulse_reach_error_m``); returns the link counters."""
    import numpy as np

    from robokit.core.kinematics import Kinematics
    from robokit.firmware_bridge.fixedpoint import pulse_to_rad

    kin = Kinematics(arm.spec)
    for g in summary.goals:
        pf = emu.pulses.wait_for(g["frame"], timeout_s=3.0)
        q = [pulse_to_rad(w_us, j) for w_us, j in zip(pf.widths_us, arm.info.joints)]
        ee = kin.fk(np.asarray(q))
        g["pulse_reach_error_m"] = float(np.linalg.norm(ee - np.asarray(g["goal_m"])))
    kin.close()
    return arm.link_stats()


def _deploy_stage(
    policy: Path, out: Path, fast: bool, seed: int, env_id: str, task: str, robot: str | None, total: int
) -> dict[str, Any]:
    """Stage 3: the virtual servo bus (``robot``), the emulated firmware (Reach) or the real-time
    simulated arm with the task's objects (push). Raises StageFailed."""
    if robot is not None:
        _banner(3, total, f"deploy on the virtual {robot} servo bus (a real pty, a PyBullet arm behind it)")
        try:
            return stage_deploy_bus(policy, out, fast, seed, env_id, robot)
        except Exception as exc:
            raise StageFailed("deploy", exc, "check the message above; the deploy log is in deploy/") from exc
    if task == "reach":
        _banner(3, total, "deploy on the emulated arm (real firmware in simavr, real pty)")
        try:
            return stage_deploy(policy, out, fast, seed)
        except Exception as exc:
            raise StageFailed("deploy", exc, _deploy_hint(exc)) from exc
    _banner(3, total, "deploy on a simulated arm in real time, the cube simulated beside it (--dry-run)")
    try:
        return stage_deploy_simulated(policy, out, fast, seed, env_id)
    except Exception as exc:
        raise StageFailed("deploy", exc, "check the message above; the deploy log is in deploy/") from exc


def run_demo(
    out: Path,
    fast: bool = False,
    hardware: bool = True,
    seed: int = 0,
    task: str = "reach",
    robot: str | None = None,
) -> dict[str, Any]:
    """Train, evaluate and (with ``hardware``) deploy, into the folder ``out`` (checked and created by the
    caller); ``task``: "reach" (deploy on the emulated arm) or "push" (deploy on a simulated arm in real
    time, see the module docstring). Returns the report, also written to ``OUT/summary.json``. Raises
    StageFailed (the report, with its "error", is written first); KeyError for an unknown task. ``robot``:
    a servo-bus arm (so101) whose Reach is trained and deployed on its virtual bus."""
    env_id = demo_env(task, robot)
    total = 3 if hardware else 2
    report: dict[str, Any] = {"env_id": env_id, "task": task, "fast": fast}
    t0 = time.perf_counter()
    how = "TD3+HER" if task == "reach" else "behaviour cloning of the scripted expert"
    try:
        _banner(1, total, f"train {env_id} with {how} (the `robokit train` defaults)")
        try:
            policy, report["train"] = stage_train(out, fast, seed, task, robot)
        except Exception as exc:
            folder = train_folder(out, fast, task, robot)
            hint = (
                f"check the message above; run the demo again to resume from the last checkpoint, "
                f"or delete {folder} to start over"
                if task == "reach"
                else f"check the message above; delete {folder} and run the demo again (a finished "
                "clone there is reused as it is)"
            )
            raise StageFailed("train", exc, hint) from exc
        _banner(2, total, "evaluate on seeded episodes, write videos and plots")
        try:
            report["eval"] = stage_eval(policy, out, fast)
        except Exception as exc:
            raise StageFailed("evaluate", exc, f"run `robokit eval {policy}` to see the error alone") from exc
        if hardware:
            report["deploy"] = _deploy_stage(policy, out, fast, seed, env_id, task, robot, total)
        if not hardware and (out / "deploy").exists():  # not this run's: keep it under its own name
            _fresh_deploy_dir(out)
    except StageFailed as exc:
        (out / SUMMARY_FILE).write_text(json.dumps({**report, "error": str(exc)}, indent=2, default=str))
        raise
    report["wall_s"] = time.perf_counter() - t0
    (out / SUMMARY_FILE).write_text(json.dumps(report, indent=2, default=str))
    return report
