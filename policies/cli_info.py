"""``robokit info POLICY``: a policy file's spec, human readable (or as JSON)."""

from __future__ import annotations

import argparse
import json
import sys


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="robokit info",
        description="Print the spec stored in a policy file (robot, env, control mode and rate, spaces, "
        "normalisation, safety, training). Reads only the header: no weights, nothing unpickled.",
    )
    p.add_argument("policy", help="a .safetensors policy file")
    p.add_argument("--json", action="store_true", help="print the raw spec as JSON")
    return p


def _fmt(values: list, n: int = 6) -> str:
    shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values[:n])
    return f"[{shown}{', ...' if len(values) > n else ''}]"


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from robokit.policies.policy_file import PolicyFileError, read_spec

    try:
        spec = read_spec(args.policy)
    except PolicyFileError as exc:
        print(f"robokit info: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(spec, indent=2, sort_keys=True))
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=args.policy, show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value")
    net = spec.get("network", {})
    rows = [
        ("format version", spec.get("format_version")),
        ("robokit version", spec.get("robokit_version")),
        ("env", spec.get("env_id")),
        ("robot", spec.get("robot")),
        (
            "control",
            f"{spec.get('control_mode')} at {spec.get('control_hz')} Hz, action_dim {spec.get('action_dim')}",
        ),
        ("observation", ", ".join(f"{k} {spec['obs_spaces'][k]['shape']}" for k in spec.get("obs_keys", []))),
        ("obs layout", json.dumps(spec.get("obs_layout"))),
        (
            "normalisation",
            "none" if not spec.get("obs_norm") else f"VecNormalize (clip {spec['obs_norm']['clip']})",
        ),
        ("network", f"MLP {net.get('hidden')} {net.get('activation')}, output {net.get('output')}"),
        ("algo", spec.get("algo")),
        ("training steps", spec.get("training_steps")),
        ("training time (s)", spec.get("train_time_s")),
        ("seed", spec.get("seed")),
    ]
    safety = spec.get("safety") or {}
    if safety:
        rows.append(("safety: lower", _fmt(safety.get("lower", []))))
        rows.append(("safety: upper", _fmt(safety.get("upper", []))))
        rows.append(("safety: max step/tick", safety.get("max_target_step")))
        rows.append(("safety: floor z (m)", safety.get("floor_z_m")))
    for name, value in rows:
        t.add_row(name, str(value))
    Console().print(t)
    return 0
