"""Env steps/s of robokit's Reach envs against raw PyBullet (the physics limit) and panda-gym.

All in one process pinned to one core, interleaved rounds, median reported. The raw baseline runs the
same scene (floor, table, Panda), motors, timestep and substeps as the env and drives random joint
targets: a loop of nothing but the physics the env must run.

    python benchmarks/env_throughput.py [--steps 2000] [--rounds 3]
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
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is reported")
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
    ratios = {
        "PandaReach_vs_raw": med["robokit_PandaReach"] / med["raw_pybullet_panda"],
        "PandaReach_fast_vs_raw_fast": med["robokit_PandaReach_fast"] / med["raw_pybullet_panda_fast"],
        "ServoArmReach_vs_raw": med["robokit_ServoArmReach"] / med["raw_pybullet_servo_arm"],
        "ServoArmReach_vs_PandaReach": med["robokit_ServoArmReach"] / med["robokit_PandaReach"],
    }
    if have_panda_gym:
        pg = med["panda_gym_PandaReach_v3"]
        ratios["PandaReach_vs_panda_gym"] = med["robokit_PandaReach"] / pg
        ratios["PandaReach_fast_vs_panda_gym"] = med["robokit_PandaReach_fast"] / pg
        ratios["panda_gym_vs_raw"] = pg / med["raw_pybullet_panda"]
    print("\nmedian env steps/s (one core):")
    for k, v in med.items():
        print(f"  {k:28s} {v:8.0f}")
    print("ratios:")
    for k, v in ratios.items():
        print(f"  {k:28s} {v:8.3f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "steps_per_s": med,
                "samples": samples,
                "ratios": ratios,
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
