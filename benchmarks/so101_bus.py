"""The SO-101 control loop against the virtual Feetech bus: rate, missed deadlines and tick busy time.

`robokit emulate --robot so101 --return-delay 0` runs in its own process (the virtual servos and the
PyBullet SO-101 behind them), and `robokit deploy --robot so101 --hz RATE` drives it for SECONDS: each
tick one SYNC_READ of position, velocity and load from the six servos, the policy, safety, one
SYNC_WRITE of the goals. Reported beside the bus-time budget of a tick: its bytes at the baud rate, the
servos' return delays, and a USB adapter's latency.

    python benchmarks/so101_bus.py [--hz 200] [--seconds 60] [--runs 3] [--policy FILE] [--return-delay 0]

Each run starts a fresh emulator and deploy; the table shows every run (the spread, not the best one).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from robokit.core.run_files import SUMMARY_FILE, TICKS_FILE
from robokit.firmware_bridge.feetech import protocol as fp
from robokit.firmware_bridge.feetech.bus import BAUD, BITS_PER_BYTE, STATUS_OVERHEAD

RESULTS = Path(__file__).parent / "results" / "so101_bus.json"
STATE_BYTES = 6  # Present_Position .. Present_Load
ADAPTER_LATENCY_MS = {"FTDI (latency timer 1 ms)": 1.0, "FTDI (factory 16 ms)": 16.0, "CH340/CP210x": 0.1}


def bus_budget(n_servos: int = 6, return_delay_us: float = 0.0, baud: int = BAUD) -> dict[str, float]:
    """A tick's bytes on the wire (sync read out, the replies back, sync write out) and their time (ms)."""
    ids = list(range(1, n_servos + 1))
    request = len(fp.sync_read(56, STATE_BYTES, ids))
    replies = n_servos * (STATUS_OVERHEAD + STATE_BYTES)
    write = len(fp.sync_write(42, 2, {i: b"\x00\x08" for i in ids}))
    wire_ms = (request + replies + write) * BITS_PER_BYTE / baud * 1e3
    delays_ms = n_servos * return_delay_us / 1e3
    return {
        "sync_read_bytes": request,
        "reply_bytes": replies,
        "sync_write_bytes": write,
        "wire_ms": round(wire_ms, 3),
        "return_delays_ms": delays_ms,
        "tick_bus_ms_without_adapter": round(wire_ms + delays_ms, 3),
    }


def start_emulator(return_delay: int) -> tuple[subprocess.Popen, str]:
    cmd = [
        sys.executable,
        "-m",
        "robokit",
        "emulate",
        "--robot",
        "so101",
        "--return-delay",
        str(return_delay),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"the emulator did not start: {line!r}")
    return proc, line.split()[1]


def mlp_policy_file(folder: Path) -> Path:
    """An untrained MLP of the training defaults' shape for So101Reach, as a real policy file: a trained
    policy's cost per tick (the loop's work does not depend on the weights)."""
    import torch

    from robokit.policies import default_config, scripted_policy
    from robokit.policies.policy_file import Policy

    spec = dict(scripted_policy("robokit/So101Reach-v0").spec)
    hidden = list(default_config("robokit/So101Reach-v0").net_arch)
    spec.update(algo="untrained", network={"hidden": hidden, "activation": "relu", "output": "tanh"})
    torch.manual_seed(0)
    return Policy(spec).save(folder / "mlp-so101.safetensors")


def run(hz: float, seconds: float, policy: Path | None, return_delay: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        policy = policy or mlp_policy_file(Path(tmp))
        proc, port = start_emulator(return_delay)
        log = Path(tmp) / "deploy"
        try:
            cmd = [
                sys.executable, "-m", "robokit", "deploy", str(policy), "--port", port, "--robot", "so101",
                "--hz", str(hz), "--duration", str(seconds), "--goal", "0.22,0.05,0.12", "--log", str(log),
                "--quiet",
            ]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        if done.returncode != 0:
            raise RuntimeError(f"deploy failed ({done.returncode}): {done.stderr.strip()[-400:]}")
        summary = json.loads((log / SUMMARY_FILE).read_text())
        ticks = [json.loads(line) for line in (log / TICKS_FILE).read_text().splitlines()]
    busy = np.array([sum(t.get(k, 0.0) for k in ("read_ms", "compute_ms", "send_ms")) for t in ticks[1:]])
    reads = np.array([t.get("read_ms", 0.0) for t in ticks[1:]])
    return {
        "hz": hz,
        "seconds": seconds,
        "return_delay_units": return_delay,
        "ticks": summary["ticks"],
        "achieved_hz": round(summary["achieved_hz"], 2),
        "missed_deadlines": summary["missed_deadlines"],
        "lateness_p99_ms": round(summary["lateness_p99_ms"], 3),
        "tick_busy_p50_ms": round(float(np.percentile(busy, 50)), 3),
        "tick_busy_p99_ms": round(float(np.percentile(busy, 99)), 3),
        "read_p99_ms": round(float(np.percentile(reads, 99)), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hz", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument(
        "--policy",
        type=Path,
        help="a So101Reach policy file (default: an untrained MLP of the defaults' shape)",
    )
    ap.add_argument("--return-delay", type=int, default=0, help="servos' Return_Delay_Time (2 us units)")
    ap.add_argument("--runs", type=int, default=3, help="runs, one after the other (default 3)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if not (1 <= args.hz <= 1000 and 1 <= args.seconds <= 3600 and 0 <= args.return_delay <= 254):
        ap.error("want --hz 1..1000, --seconds 1..3600, --return-delay 0..254")
    if args.policy is not None and not args.policy.is_file():
        ap.error(f"--policy {args.policy}: no such file")
    runs = []
    for k in range(args.runs):
        runs.append(run(args.hz, args.seconds, args.policy, args.return_delay))
        print(f"run {k + 1}/{args.runs}: {json.dumps(runs[-1])}", file=sys.stderr, flush=True)
    budget = bus_budget(return_delay_us=2.0 * args.return_delay)
    out = {
        "runs": runs,
        "bus_budget": budget,
        "adapter_latency_ms": ADAPTER_LATENCY_MS,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(json.dumps(out, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
