"""The registered environments as data: one row per env id, and the check of an env id a command is
given (``robokit envs`` prints the rows; train, eval and rollout check their env id with it)."""

from __future__ import annotations


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
