"""Closed-loop deploy rate and lateness against the emulated firmware, at 25, 50, 100 and 200 Hz.

Each tick does what `robokit deploy` does: PING -> STATE, observation, policy inference, controller,
safety, TARGETS. Reported next to the wire-time limit (the bytes of PING, STATE, TARGETS and its STATE
reply at the baud rate) and the policy's inference time alone.

    python benchmarks/deploy_loop.py [--seconds 4] [--policy FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from robokit.core.run_files import TICKS_FILE
from robokit.firmware_bridge import protocol as pr
from robokit.firmware_bridge.emulator import Emulator
from robokit.firmware_bridge.hardware_arm import HardwareArm
from robokit.firmware_bridge.link import BAUD
from robokit.runtime.bringup import bring_up
from robokit.runtime.loop import DeployLoop

RESULTS = Path(__file__).parent / "results" / "deploy_loop.json"
RATES_HZ = (25, 50, 100, 200)


def wire_limit_hz(n_joints: int = 6, baud: int = BAUD) -> dict[str, float]:
    """Bytes per tick on the wire (both directions share no line, but a tick waits for both) -> Hz."""
    state = pr.State(setpoints_100urad=(0,) * n_joints, targets_100urad=(0,) * n_joints)
    ping = len(pr.encode_frame(pr.Ping()))
    targets = len(pr.encode_frame(pr.Targets(targets_100urad=(0,) * n_joints)))
    st = len(pr.encode_frame(state))
    # a tick waits for PING out + STATE back; TARGETS out overlaps its STATE reply with the next tick
    seq_bytes = ping + st + targets
    byte_s = 10 / baud
    return {
        "ping_bytes": ping,
        "state_bytes": st,
        "targets_bytes": targets,
        "tick_wire_ms": seq_bytes * byte_s * 1e3,
        "limit_hz": 1 / (seq_bytes * byte_s),
    }


def load(policy_path: str | None):
    """The policy file given, else an untrained MLP of the training default's shape (64, 64), saved
    and loaded as a real policy file: a trained policy's inference cost."""
    from robokit.policies import load_policy

    if policy_path:
        return load_policy(policy_path)
    import torch

    from robokit.policies import scripted_policy
    from robokit.policies.config import default_config
    from robokit.policies.policy_file import Policy

    spec = dict(scripted_policy().spec)
    hidden = list(default_config("robokit/ServoArmReach-v0").net_arch)
    spec.update(algo="untrained", network={"hidden": hidden, "activation": "relu", "output": "tanh"})
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        return load_policy(Policy(spec).save(Path(tmp) / "untrained.safetensors"))


def inference_us(policy, n: int = 2000) -> dict[str, float]:
    obs = {
        "observation": np.zeros(12, np.float32),
        "achieved_goal": np.zeros(3, np.float32),
        "desired_goal": np.full(3, 0.1, np.float32),
    }
    for _ in range(50):
        policy.act(obs)
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        policy.act(obs)
        ts.append(time.perf_counter() - t0)
    return {"p50_us": float(np.percentile(ts, 50) * 1e6), "p99_us": float(np.percentile(ts, 99) * 1e6)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds per rate")
    parser.add_argument(
        "--policy", help="policy file (default: an untrained MLP of the training default shape)"
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="results JSON (default: benchmarks/results/)"
    )
    args = parser.parse_args()
    policy = load(args.policy)
    results = {"wire": wire_limit_hz(), "inference": inference_us(policy), "rates": {}}
    goal = np.array([0.2, 0.05, 0.15])
    with Emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        for hz in RATES_HZ:
            log = Path(tmp) / f"{hz}hz"
            loop = DeployLoop(policy, None, hz=hz, log_dir=log)  # every check before the arm is touched
            with HardwareArm(emu.port, "servo_arm", control_period_s=1 / hz) as arm:
                bring_up(arm, min_frame=10)
                loop.arm = arm
                s = loop.run([goal], seconds_per_goal=args.seconds)
                loop.close()
                ticks = [json.loads(line) for line in (log / TICKS_FILE).read_text().splitlines()]
                busy = [t["read_ms"] + t["compute_ms"] + t["send_ms"] for t in ticks if "read_ms" in t]
                read = [t["read_ms"] for t in ticks if "read_ms" in t]
                results["rates"][str(hz)] = {
                    "achieved_hz": s.achieved_hz,
                    "lateness_p50_ms": s.lateness_p50_ms,
                    "lateness_p99_ms": s.lateness_p99_ms,
                    "lateness_max_ms": s.lateness_max_ms,
                    "missed_deadlines": s.missed_deadlines,
                    "ticks": s.ticks,
                    "ping_timeouts": arm.stats["ping_timeouts"],
                    "busy_p50_ms": float(np.percentile(busy, 50)),
                    "busy_p99_ms": float(np.percentile(busy, 99)),
                    "read_p50_ms": float(np.percentile(read, 50)),
                }
                arm.release()
            r = results["rates"][str(hz)]
            print(
                f"{hz:4d} Hz target: {r['achieved_hz']:7.1f} Hz achieved, lateness p50 {r['lateness_p50_ms']:.3f} ms "
                f"p99 {r['lateness_p99_ms']:.3f} ms max {r['lateness_max_ms']:.2f} ms, missed {r['missed_deadlines']}; "
                f"tick busy p50 {r['busy_p50_ms']:.2f} ms p99 {r['busy_p99_ms']:.2f} ms "
                f"(PING->STATE p50 {r['read_p50_ms']:.2f} ms)"
            )
    w, inf = results["wire"], results["inference"]
    print(f"wire-time limit at {BAUD} baud: {w['tick_wire_ms']:.3f} ms per tick -> {w['limit_hz']:.0f} Hz")
    print(f"policy inference alone: p50 {inf['p50_us']:.1f} us, p99 {inf['p99_us']:.1f} us")
    results["machine"] = {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
