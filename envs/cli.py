"""``robokit envs``: a table of the registered environments; helpers the env commands share."""

from __future__ import annotations

import contextlib
import os
import sys

from robokit.cli_parser import OneLineParser


def print_out(text: str) -> None:
    """Write ``text`` to stdout; a reader that went away (``| head``) ends the output quietly."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError, ValueError):  # no second error when Python flushes at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def unknown_env_message(env_id: str) -> str | None:
    """None if ``env_id`` is a registered robokit env, else a one-line message naming the known ids."""
    from robokit.envs import ENV_SPECS

    if env_id in ENV_SPECS:
        return None
    return f"unknown env {env_id!r}; known: {', '.join(ENV_SPECS)} (see `robokit envs`)"


def env_rows() -> list[dict]:
    """One dict per registered env: id, robot, task, control mode, reward, shapes, control Hz."""
    import gymnasium as gym

    from robokit.envs import ENV_SPECS

    rows = []
    for env_id in ENV_SPECS:
        env = gym.make(env_id)
        u = env.unwrapped
        rows.append(
            {
                "id": env_id,
                "robot": u.robot.name,
                "task": type(u.task).__name__.lower(),
                "control": u.controller.mode,
                "reward": u.task.reward_type,
                "obs": str(u.observation_space["observation"].shape),
                "goal": str(u.observation_space["desired_goal"].shape),
                "action": str(u.action_space.shape),
                "hz": f"{u.robot.control_hz:g}",
                "steps": str(env.spec.max_episode_steps),
            }
        )
        env.close()
    return rows


def table(rows: list[dict]) -> str:
    """Rows of equal keys as aligned text columns, a header first; one line per row."""
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in cols).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = OneLineParser(prog="robokit envs", description="List the registered robokit environments.")
    parser.parse_args(argv)
    print_out(table(env_rows()))
    return 0
