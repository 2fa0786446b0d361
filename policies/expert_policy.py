"""Scripted experts where a policy file goes: ``expert:<env id>`` names the expert of that env's task.

``robokit eval expert:robokit/PandaPush-v0 --video`` evaluates the scripted expert exactly as it evaluates
a trained policy (same seeded episodes, videos, holding measures), so the expert's success and behaviour
are measured, not assumed. The expert has no weights: its spec is the env's, with ``algo`` "expert".
"""

from __future__ import annotations

import os
from typing import Any

from robokit.policies.policy_spec import PolicySpec, validate_spec

EXPERT_PREFIX = "expert:"


def is_expert_ref(ref: str | os.PathLike) -> bool:
    """Whether ``ref`` names an expert (``expert:<env id>``) rather than a policy file."""
    return str(ref).startswith(EXPERT_PREFIX)


def expert_env_id(ref: str | os.PathLike) -> str:
    """The env id of ``expert:<env id>``; ValueError (PolicyMismatchError) for an id robokit does not
    register or whose task has no expert."""
    import gymnasium as gym

    import robokit.envs  # noqa: F401
    from robokit.policies.compat import PolicyMismatchError

    env_id = str(ref)[len(EXPERT_PREFIX) :]
    if env_id not in gym.registry:
        raise PolicyMismatchError(f"{ref}: {env_id!r} is not a registered env id (see `robokit envs`)")
    return env_id


def expert_spec(env_id: str) -> PolicySpec:
    """A validated spec for the expert of ``env_id`` (the env's spaces, rate and safety; no network).
    Raises NoExpertError (a ValueError) when the env's task has no expert or its control mode none."""
    import gymnasium as gym

    from robokit.policies.experts import expert_for
    from robokit.policies.policy_file import spec_from_env

    env = gym.make(env_id)
    try:
        expert = expert_for(env)
        spec = spec_from_env(env, env_id)
    finally:
        env.close()
    spec.update(
        algo="expert",
        network={"hidden": [], "activation": "relu", "output": "clip"},
        training_steps=0,
        seed=None,
        hyperparameters={"expert": type(expert).__name__},
    )
    return validate_spec(spec, require_digest=False)


def load_ref(ref: str | os.PathLike, env: Any) -> Any:
    """What acts in ``env``: the expert for ``expert:<env id>``, else the policy file ``ref``
    (``load_policy``). Both have ``act(obs) -> action``."""
    if is_expert_ref(ref):
        from robokit.policies.experts import expert_for

        return expert_for(env)
    from robokit.policies.policy_file import load_policy

    return load_policy(ref)
