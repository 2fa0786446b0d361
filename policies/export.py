"""SB3 model (+ VecNormalize) -> ``Policy``: the deterministic actor, copied into a plain MLP.

Supports SAC (latent_pi + mu, tanh), TD3 (mu ending in Tanh) and PPO (policy_net + action_net, clipped),
all with SB3's default ``CombinedExtractor`` (flatten each key, concatenate in observation-space order).
SB3 itself is not imported here: the model is inspected duck-typed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from robokit.policies.policy_file import Policy, PolicyFileError, spec_from_env


def _linears_and_activation(modules: list[nn.Module]) -> tuple[list[nn.Linear], str, bool]:
    """Linear layers in order, the hidden activation name, and whether a final Tanh was found."""
    linears, act, final_tanh = [], "relu", False
    flat: list[nn.Module] = []
    for m in modules:
        flat.extend(m if isinstance(m, nn.Sequential) else [m])
    for i, m in enumerate(flat):
        if isinstance(m, nn.Linear):
            linears.append(m)
        elif isinstance(m, nn.Tanh) and i == len(flat) - 1:
            final_tanh = True
        elif isinstance(m, (nn.ReLU, nn.Tanh, nn.ELU)):
            act = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.ELU: "elu"}[type(m)]
        else:
            raise PolicyFileError(f"cannot export layer {m!r}: only Linear and ReLU/Tanh/ELU MLPs")
    return linears, act, final_tanh


def actor_layers(model: Any) -> tuple[list[nn.Linear], str, str]:
    """(linear layers, hidden activation, output) of an SB3 SAC/TQC/TD3/PPO model's deterministic actor."""
    name = type(model).__name__
    policy = model.policy
    if name in ("SAC", "TQC"):  # TQC (sb3-contrib): SAC's actor, distributional critics
        actor = policy.actor
        if getattr(actor, "use_sde", False):
            raise PolicyFileError("SAC with gSDE cannot be exported")
        linears, act, _ = _linears_and_activation([actor.latent_pi, actor.mu])
        return linears, act, "tanh"
    if name in ("TD3", "DDPG"):
        linears, act, final_tanh = _linears_and_activation([policy.actor.mu])
        if not final_tanh:
            raise PolicyFileError("TD3 actor without a final Tanh")
        return linears, act, "tanh"
    if name == "PPO":
        linears, act, _ = _linears_and_activation([policy.mlp_extractor.policy_net, policy.action_net])
        return linears, act, "clip"
    raise PolicyFileError(f"cannot export {name}: supported are SAC, TQC, TD3 and PPO")


def norm_stats(vec_normalize: Any | None) -> dict[str, Any] | None:
    """VecNormalize observation stats as JSON data (per key mean/var), or None."""
    if vec_normalize is None or not vec_normalize.norm_obs:
        return None
    rms = vec_normalize.obs_rms
    keys = list(vec_normalize.norm_obs_keys or rms.keys())
    return {
        "mean": {k: np.asarray(rms[k].mean, dtype=np.float64).ravel().tolist() for k in keys},
        "var": {k: np.asarray(rms[k].var, dtype=np.float64).ravel().tolist() for k in keys},
        "clip": float(vec_normalize.clip_obs),
        "epsilon": float(vec_normalize.epsilon),
    }


def policy_from_sb3(
    model: Any, env: Any, env_id: str, vec_normalize: Any | None = None, **spec_extra: Any
) -> Policy:
    """A ``Policy`` acting exactly like ``model.predict(normalised obs, deterministic=True)``.

    ``env`` is a (single, unwrapped-able) robokit env for the spec; ``spec_extra`` adds fields
    (algo, training_steps, seed, hyperparameters, ...).
    """
    spec = spec_from_env(env, env_id)
    model_keys = list(model.observation_space.spaces.keys())
    spec["obs_keys"] = model_keys
    stats = norm_stats(vec_normalize)
    if stats is not None and set(stats["mean"]) != set(model_keys):
        raise PolicyFileError(
            f"VecNormalize normalises {sorted(stats['mean'])}, the policy reads {model_keys}"
        )
    spec["obs_norm"] = stats
    linears, act, output = actor_layers(model)
    spec["network"] = {
        "hidden": [lin.out_features for lin in linears[:-1]],
        "activation": act,
        "output": output,
    }
    spec["algo"] = type(model).__name__.lower()
    spec.update(spec_extra)
    tensors = {}
    for i, lin in enumerate(linears):
        tensors[f"net.{2 * i}.weight"] = lin.weight.detach().cpu().clone()
        tensors[f"net.{2 * i}.bias"] = lin.bias.detach().cpu().clone()
    return Policy(spec, tensors)
