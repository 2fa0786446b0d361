"""``robokit info POLICY``: a policy file's spec, human readable (or as JSON)
(``robokit.policies.policy_file.read_policy_spec``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from robokit.cli.parser import OneLineParser, stdout_closed
from robokit.policies.policy_spec import PolicySpec, escape_controls

PROG = "robokit info"


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog=PROG,
        description="Print the spec stored in a policy file (robot, env, control mode and rate, spaces, "
        "normalisation, safety, training). Reads only the header: no weights, nothing unpickled. "
        "The spec is validated as a whole; an invalid file is refused with exit code 2. A file without "
        "a sha256 is shown with a warning (loading, eval and deploy refuse it).",
    )
    p.add_argument("policy", help="a .safetensors policy file")
    p.add_argument("--json", action="store_true", help="print the raw spec as JSON")
    return p


def _fmt(values: list, n: int = 6) -> str:
    shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values[:n])
    return f"[{shown}{', ...' if len(values) > n else ''}]"


def _rows(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """(field, value) rows of a validated spec."""
    net = spec["network"]
    norm = spec.get("obs_norm")
    rows = [
        ("format version", spec["format_version"]),
        ("robokit version", spec.get("robokit_version")),
        ("env", spec.get("env_id")),
        ("robot", spec["robot"]),
        ("control", f"{spec['control_mode']} at {spec['control_hz']} Hz, action_dim {spec['action_dim']}"),
        ("gripper actuated", bool(spec.get("gripper_actuated", False))),
        ("observation", ", ".join(f"{k} {spec['obs_spaces'][k]['shape']}" for k in spec["obs_keys"])),
        ("obs layout", json.dumps(spec.get("obs_layout"))),
        ("normalisation", "none" if not norm else f"VecNormalize (clip {norm['clip']})"),
        (
            "network",
            f"MLP {net['hidden']} {net.get('activation', 'relu')}, output {net.get('output', 'tanh')}",
        ),
        ("action deadband", spec.get("action_deadband") or "none"),
        ("algo", spec.get("algo")),
        ("training steps", spec.get("training_steps")),
        ("training time (s)", spec.get("train_time_s")),
        ("seed", spec.get("seed")),
    ]
    safety = spec.get("safety")
    if safety:
        rows.append(("safety: lower", _fmt(safety["lower"])))
        rows.append(("safety: upper", _fmt(safety["upper"])))
        rows.append(("safety: max step/tick", safety["max_target_step"]))
        rows.append(("safety: floor z (m)", safety["floor_z_m"]))
    rows.append(("sha256", spec.get("sha256") or "MISSING: load, eval and deploy refuse this file"))
    return rows


def fits_robot(spec: PolicySpec) -> str:
    """Whether a deploy on the spec's robot would take this policy (``compat.check_fits_robot``, the
    check deploy runs), as one line: "yes", the mismatches, or that the robot is unknown here."""
    from robokit.policies.compat import PolicyMismatchError, check_fits_robot
    from robokit.robots import get_robot, list_robots

    if spec.robot not in list_robots():
        return f"unknown robot {spec.robot!r} (this robokit knows {', '.join(list_robots())})"
    robot = get_robot(spec.robot)
    try:
        bodies, obs_dim, goal_dim = _deploy_task(spec, robot)
        check_fits_robot(spec, robot, obs_dim, (goal_dim,))
    except PolicyMismatchError as exc:
        text = str(exc)
        return "no: " + (
            text.split("does not fit this target: ", 1)[1] if "does not fit this target: " in text else text
        )
    fits = f"{spec.control_mode} on {spec.robot}, {spec.action_dim} actions"
    if bodies:
        return f"dry run only: {fits}; on an arm its task needs state of {', '.join(bodies)} from a task-state source"
    return f"yes: {fits}"


def _deploy_task(spec: PolicySpec, robot) -> tuple[tuple[str, ...], int, int]:
    """The deploy's task for the policy (robokit.runtime.task_state.deploy_task): (the bodies it reads,
    its observation entries, its goal size); PolicyMismatchError for an env id robokit does not know."""
    from robokit.core.kinematics import Kinematics
    from robokit.runtime.task_state import deploy_task

    kin = Kinematics(robot)
    try:
        task, _ = deploy_task(spec.raw, robot, kin)
        return tuple(task.state_bodies), task.obs_dim, task.goal_dim
    finally:
        kin.close()


def _print_table(title: str, spec: PolicySpec) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    t = Table(title=escape(escape_controls(title)), show_header=False)
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")  # long values (sha256, layout) wrap instead of being cut
    for name, value in [*_rows(spec.raw), ("deployable", fits_robot(spec))]:
        # spec strings are untrusted: no rich markup and no control characters (ESC, CR, ...) from the file
        t.add_row(name, escape(escape_controls(str(value))))

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich would exit(1) itself; main() ends like --json does
            self.quiet = True
            raise BrokenPipeError

    _Console().print(t)


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from robokit.policies.policy_file import PolicyFileError, read_policy_spec

    try:
        spec = read_policy_spec(args.policy, require_digest=False)
    except PolicyFileError as exc:
        print(f"{PROG}: {escape_controls(str(exc))}", file=sys.stderr)
        return 2
    if not spec.sha256:
        print(
            f"{PROG}: warning: {escape_controls(args.policy)} has no sha256, so its integrity cannot be "
            "checked; load, eval and deploy refuse it",
            file=sys.stderr,
        )
    try:
        if args.json:
            print(json.dumps(spec.raw, indent=2, sort_keys=True))  # ensure_ascii: controls become \\u escapes
        else:
            _print_table(args.policy, spec)
        sys.stdout.flush()
    except BrokenPipeError:  # `robokit info --json | head`: the reader has all it wanted
        return stdout_closed()
    return 0
