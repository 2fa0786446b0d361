"""A policy's actor as numpy arrays: the same numbers as ``Policy.act`` for one observation, without
torch's per-call overhead (~0.5 ms per call for a small MLP on this machine's CPU, most of a 200 Hz
tick's compute; numpy takes ~0.03 ms). The deploy loop runs this; training and batched evaluation keep
the torch module.

    actor = policy.numpy_actor()          # a snapshot: later changes to the module's weights are not seen
    action = actor.act(obs)               # float32 (action_dim,)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["NumpyActor"]


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.float32(0.0))


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.0, x, np.expm1(np.minimum(x, 0.0))).astype(np.float32, copy=False)


# module-level functions: an actor pickles (it is sent to the background evaluation process)
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"relu": _relu, "tanh": np.tanh, "elu": _elu}


class NumpyActor:
    """``act(obs dict) -> action`` float32 (action_dim,) of one (unbatched) observation, as ``Policy.act``
    computes it (float32 throughout: normalise, clip, Linear layers with ``activation`` between them,
    ``output`` tanh or clip, the affine map onto [low, high], the deadband on the motion elements).

    layers: [(weight (out, in), bias (out,))] float32 copies; the rest as named in the spec. Raises
    KeyError for an observation without one of ``obs_keys``, ValueError for an entry of the wrong size.
    """

    def __init__(
        self,
        spec: dict[str, Any],
        obs_keys: Sequence[str],
        obs_sizes: Sequence[int],
        norm: tuple[np.ndarray, np.ndarray, float],
        layers: Sequence[tuple[np.ndarray, np.ndarray]],
        activation: str,
        output: str,
        action_box: tuple[np.ndarray, np.ndarray],
        deadband: float,
        n_motion: int,
    ) -> None:
        self.spec = spec
        self.obs_keys, self.obs_sizes = list(obs_keys), [int(s) for s in obs_sizes]
        self.mean, self.scale = (np.asarray(a, np.float32) for a in norm[:2])
        self.clip = float(norm[2])
        self.layers = [(np.ascontiguousarray(w.T, np.float32), np.asarray(b, np.float32)) for w, b in layers]
        self.activation = ACTIVATIONS[activation]
        self.output = output
        self.low, self.high = (np.asarray(a, np.float32) for a in action_box)
        self.deadband, self.n_motion = float(deadband), int(n_motion)

    def flatten_obs(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The normalised network input (obs_dim,) float32."""
        parts = []
        for key, size in zip(self.obs_keys, self.obs_sizes):
            if key not in obs:
                raise KeyError(f"observation has no {key!r} (keys: {sorted(obs)})")
            x = np.asarray(obs[key], dtype=np.float32).reshape(-1)
            if x.size != size:
                raise ValueError(f"observation {key!r} has {x.size} numbers, the policy reads {size}")
            parts.append(x)
        x = (np.concatenate(parts) - self.mean) * self.scale
        return np.clip(x, -self.clip, self.clip) if np.isfinite(self.clip) else x

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Deterministic action float32 (action_dim,) in [low, high] for one observation dict."""
        y = self.flatten_obs(obs)
        last = len(self.layers) - 1
        for i, (w_t, b) in enumerate(self.layers):
            y = y @ w_t + b
            if i < last:
                y = self.activation(y)
        y = np.tanh(y) if self.output == "tanh" else np.clip(y, np.float32(-1.0), np.float32(1.0))
        a = self.low + (y + np.float32(1.0)) * np.float32(0.5) * (self.high - self.low)
        if self.deadband:
            motion = a[: self.n_motion]
            motion[np.abs(motion) < self.deadband] = 0.0
        return a
