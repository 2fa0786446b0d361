"""Env steps/s of robokit's Reach envs against raw PyBullet (the physics limit) and panda-gym.

All in one process pinned to one core, interleaved rounds. The raw baseline runs the same scene (floor,
table, Panda), motors, timestep and substeps as the env and replays the env's own joint targets: a loop
of nothing but the physics the env must run. Each round measures every case back to back; a ratio is
the median over rounds of the ratio within a round (paired, so a slow spell of a shared machine hits
both sides of it), and the steps/s columns are medians over rounds.

    python benchmarks/env_throughput.py [--steps 2000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pybullet as p

import robokit.envs  # noqa: F401
from robokit.envs.bullet import Bullet
from robokit.kinematics import joint_index_map
from robokit.robots import get_robot

RESULTS = Path(__file__).parent / "results" / "env_throughput.json"


def record_targets(env_id: str, steps: int, **kwargs) -> tuple[list[list[float]], set[int]]:
    """The joint targets (steps, n_joints) the env commands under random actions, and the step indices
    after which it reset: what the raw loop replays."""
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(0)
    env.reset(seed=0)
    targets, resets = [], set()
    for k in range(steps):
        _, _, term, trunc, _ = env.step(env.action_space.sample())
        targets.append(env.unwrapped.arm._target.tolist())
        if term or trunc:
            env.reset()
            resets.add(k)
    env.close()
    return targets, resets


def raw_pybullet(
    robot: str,
    targets: list[list[float]],
    resets: set[int],
    timestep_s: float | None = None,
    substeps: int | None = None,
    solver_iterations: int | None = None,
) -> float:
    """Steps/s of the physics alone: same scene and motors, replaying the env's joint targets with
    position control and restoreState at the env's resets (the limit for the env's own motion)."""
    spec = get_robot(robot)
    dt, n = timestep_s or spec.sim_timestep_s, substeps or spec.sim_substeps
    b = Bullet(dt, solver_iterations=solver_iterations)
    if robot == "panda":
        b.add_box([1.5, 1.5, 0.01], [0.3, 0.0, -0.41])
        b.add_box([0.55, 0.35, 0.2], [0.3, 0.0, -0.2])
    else:
        b.add_box([0.5, 0.5, 0.01], [0.15, 0.0, -0.01])
    body = b.load_urdf(spec.urdf)
    joints, _ = joint_index_map(body, spec.joint_names, b.client)
    for j, q in zip(joints, spec.home_q):
        p.resetJointState(body, j, q, physicsClientId=b.client)
    saved = b.save_state()
    forces = list(spec.joint_force)
    t0 = time.perf_counter()
    for k, target in enumerate(targets):
        p.setJointMotorControlArray(
            body, joints, p.POSITION_CONTROL, targetPositions=target, forces=forces, physicsClientId=b.client
        )
        for _ in range(n):
            p.stepSimulation(physicsClientId=b.client)
        if k in resets:
            b.restore_state(saved)
    rate = len(targets) / (time.perf_counter() - t0)
    b.close()
    return rate


def env_rate(env_id: str, steps: int, **kwargs) -> float:
    """Env steps/s with random actions through gym.make (wrappers included), resets included."""
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(steps)]
    env.reset(seed=0)
    t0 = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    rate = steps / (time.perf_counter() - t0)
    env.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=2000, help="env steps per measurement")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; medians are reported")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    try:
        import panda_gym  # noqa: F401

        have_panda_gym = True
    except ImportError:
        have_panda_gym = False
        print("panda-gym not installed (pip install -e '.[bench]'): its column is skipped")

    fast = {"sim_timestep_s": 1 / 250, "sim_substeps": 10, "solver_iterations": 20}
    panda = record_targets("robokit/PandaReach-v0", args.steps)
    panda_fast = record_targets("robokit/PandaReach-v0", args.steps, **fast)
    servo = record_targets("robokit/ServoArmReach-v0", args.steps)
    cases = {
        "raw_pybullet_panda": lambda: raw_pybullet("panda", *panda),
        "robokit_PandaReach": lambda: env_rate("robokit/PandaReach-v0", args.steps),
        "raw_pybullet_panda_fast": lambda: raw_pybullet("panda", *panda_fast, 1 / 250, 10, 20),
        "robokit_PandaReach_fast": lambda: env_rate("robokit/PandaReach-v0", args.steps, **fast),
        "raw_pybullet_servo_arm": lambda: raw_pybullet("servo_arm", *servo),
        "robokit_ServoArmReach": lambda: env_rate("robokit/ServoArmReach-v0", args.steps),
    }
    if have_panda_gym:
        cases["panda_gym_PandaReach_v3"] = lambda: env_rate("PandaReach-v3", args.steps)
    samples: dict[str, list[float]] = {k: [] for k in cases}
    for r in range(args.rounds):
        for name, fn in cases.items():
            samples[name].append(fn())
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in samples.items()))
    med = {k: float(np.median(v)) for k, v in samples.items()}

    def paired(a: str, b: str) -> float:
        """Median over rounds of samples[a] / samples[b] within the same round."""
        return float(np.median(np.asarray(samples[a]) / np.asarray(samples[b])))

    pairs = {
        "PandaReach_vs_raw": ("robokit_PandaReach", "raw_pybullet_panda"),
        "PandaReach_fast_vs_raw_fast": ("robokit_PandaReach_fast", "raw_pybullet_panda_fast"),
        "ServoArmReach_vs_raw": ("robokit_ServoArmReach", "raw_pybullet_servo_arm"),
        "ServoArmReach_vs_PandaReach": ("robokit_ServoArmReach", "robokit_PandaReach"),
    }
    if have_panda_gym:
        pairs["PandaReach_vs_panda_gym"] = ("robokit_PandaReach", "panda_gym_PandaReach_v3")
        pairs["PandaReach_fast_vs_panda_gym"] = ("robokit_PandaReach_fast", "panda_gym_PandaReach_v3")
        pairs["panda_gym_vs_raw"] = ("panda_gym_PandaReach_v3", "raw_pybullet_panda")
    ratios = {name: paired(a, b) for name, (a, b) in pairs.items()}
    per_round = {
        name: (np.asarray(samples[a]) / np.asarray(samples[b])).round(3).tolist()
        for name, (a, b) in pairs.items()
    }
    print("\nmedian env steps/s (one core):")
    for k, v in med.items():
        print(f"  {k:28s} {v:8.0f}")
    print("ratios (median of per-round ratios; per round):")
    for k, v in ratios.items():
        print(f"  {k:28s} {v:8.3f}   {per_round[k]}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "steps_per_s": med,
                "samples": samples,
                "ratios": ratios,
                "ratios_per_round": per_round,
                "settings": {"steps": args.steps, "rounds": args.rounds, "fast_settings": fast},
                "machine": {
                    "python": platform.python_version(),
                    "cpu": platform.processor() or platform.machine(),
                },
            },
            indent=2,
        )
    )
    print(f"-> {RESULTS}")


if __name__ == "__main__":
    main()
