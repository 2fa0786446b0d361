"""Policy files: one ``.safetensors`` file = actor weights + a JSON spec in the metadata.

The spec (``metadata["robokit_spec"]``) says everything a deploy needs to feed the network and to
interpret its output: robot, env id, control mode and rate, observation keys/shapes/layout,
observation normalisation stats, action space, network shape, safety settings, and how it was trained.
Loading parses JSON and reads raw tensors: nothing is ever unpickled, and SB3 is never imported.

Network (``spec["network"]``): an MLP over the concatenation of ``obs_keys`` (each normalised as
``clip((x - mean) / sqrt(var + eps), -clip, clip)`` when ``obs_norm`` is set), hidden layers with
``activation``, a linear output, then ``output`` = ``tanh`` (SAC/TD3) or ``clip`` (PPO, scripted) to
[-1, 1], then an affine map onto ``action_space`` [low, high].
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

FORMAT_VERSION = 1
METADATA_KEY = "robokit_spec"
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}


class PolicyFileError(ValueError):
    """A policy file that cannot be used: missing, truncated, corrupted, or a wrong format version."""


class PolicyMismatchError(PolicyFileError):
    """A valid policy file whose spec does not match the env/robot it is asked to drive."""


def robokit_version() -> str:
    try:
        from importlib.metadata import version

        return version("robokit")
    except Exception:  # not installed (running from a source tree)
        return "unknown"


def content_digest(spec: dict[str, Any], tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over the spec (canonical JSON, without its ``sha256`` field) and every tensor's (name, dtype,
    shape, bytes) in name order: any corrupted byte of spec or weights changes it."""
    h = hashlib.sha256()
    h.update(json.dumps({k: v for k, v in spec.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


class Policy(nn.Module):
    """A deterministic policy from a spec: ``act(obs dict) -> action (action_dim,) in [-1, 1]``.

    A plain torch module (runs with torch + numpy alone). ``forward`` maps already flattened and
    normalised observations (B, obs_dim) to actions (B, action_dim).
    """

    def __init__(self, spec: dict[str, Any], state_dict: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.spec = spec
        net = spec["network"]
        self.obs_keys: list[str] = list(spec["obs_keys"])
        self._obs_sizes = [int(np.prod(spec["obs_spaces"][k]["shape"])) for k in self.obs_keys]
        sizes = [sum(self._obs_sizes), *net["hidden"], int(spec["action_dim"])]
        act_cls = ACTIVATIONS[net.get("activation", "relu")]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(act_cls())
        self.net = nn.Sequential(*layers)
        self.output = net.get("output", "tanh")
        if self.output not in ("tanh", "clip"):
            raise PolicyFileError(f"unknown network output {self.output!r} (want 'tanh' or 'clip')")
        low = np.asarray(spec["action_space"]["low"], dtype=np.float32)
        high = np.asarray(spec["action_space"]["high"], dtype=np.float32)
        self.register_buffer("action_low", torch.as_tensor(low))
        self.register_buffer("action_high", torch.as_tensor(high))
        mean, scale, clip = self._norm_arrays(spec.get("obs_norm"))
        self.register_buffer("obs_mean", torch.as_tensor(mean))
        self.register_buffer("obs_scale", torch.as_tensor(scale))
        self.obs_clip = clip
        if state_dict is not None:
            self.load_weights(state_dict)
        self.eval()

    def _norm_arrays(self, norm: dict | None) -> tuple[np.ndarray, np.ndarray, float]:
        """Per-element (mean, 1/std) over the flat observation (obs_dim,) and the clip bound."""
        dim = sum(self._obs_sizes)
        if not norm:
            return np.zeros(dim, np.float32), np.ones(dim, np.float32), float("inf")
        eps = float(norm.get("epsilon", 1e-8))
        mean = np.concatenate([np.asarray(norm["mean"][k], np.float64).ravel() for k in self.obs_keys])
        var = np.concatenate([np.asarray(norm["var"][k], np.float64).ravel() for k in self.obs_keys])
        if mean.shape != (dim,) or var.shape != (dim,):
            raise PolicyFileError(f"obs_norm stats have {mean.size} values, the observation has {dim}")
        return mean.astype(np.float32), (1.0 / np.sqrt(var + eps)).astype(np.float32), float(norm["clip"])

    def weight_tensors(self) -> dict[str, torch.Tensor]:
        """The trainable tensors as saved in the file: ``net.<i>.weight`` / ``net.<i>.bias``."""
        return {f"net.{k}": v.detach().clone().contiguous() for k, v in self.net.state_dict().items()}

    def load_weights(self, tensors: dict[str, torch.Tensor]) -> None:
        expected = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        if set(tensors) != set(expected):
            raise PolicyFileError(
                f"weights do not match the spec's network: file has {sorted(tensors)}, "
                f"spec {spec_summary(self.spec)} needs {sorted(expected)}"
            )
        for k, v in tensors.items():
            if tuple(v.shape) != tuple(expected[k].shape):
                raise PolicyFileError(
                    f"tensor {k} has shape {tuple(v.shape)}, expected {tuple(expected[k].shape)}"
                )
        self.net.load_state_dict({k.removeprefix("net."): v.float() for k, v in tensors.items()})

    def flatten_obs(self, obs: dict[str, np.ndarray]) -> torch.Tensor:
        """Concatenate ``obs_keys`` and normalise: (B, obs_dim) float32 (B = 1 for unbatched input)."""
        parts = []
        for key, size in zip(self.obs_keys, self._obs_sizes):
            if key not in obs:
                raise KeyError(f"observation has no {key!r} (keys: {sorted(obs)})")
            x = np.asarray(obs[key], dtype=np.float32)
            parts.append(x.reshape(-1, size))
        x = torch.as_tensor(np.concatenate(parts, axis=1))
        x = (x - self.obs_mean) * self.obs_scale
        return x.clamp(-self.obs_clip, self.obs_clip) if np.isfinite(self.obs_clip) else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        y = torch.tanh(y) if self.output == "tanh" else y.clamp(-1.0, 1.0)
        return self.action_low + (y + 1.0) * 0.5 * (self.action_high - self.action_low)

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Deterministic action float32 (action_dim,) for one observation dict; (B, action_dim) if batched."""
        batched = np.ndim(obs[self.obs_keys[-1]]) > 1
        a = self.forward(self.flatten_obs(obs)).numpy()
        return a if batched else a[0]

    def save(self, path: str | os.PathLike) -> Path:
        return save_policy(self, path)


def spec_summary(spec: dict) -> str:
    return (
        f"{spec.get('env_id')} robot={spec.get('robot')} mode={spec.get('control_mode')} "
        f"algo={spec.get('algo')} hidden={spec.get('network', {}).get('hidden')}"
    )


def save_policy(policy: Policy, path: str | os.PathLike) -> Path:
    """Write ``policy`` to ``path`` atomically (temp file, then rename). Returns the path."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = policy.weight_tensors()
    spec = _jsonable({k: v for k, v in policy.spec.items() if k != "sha256"})
    spec["format_version"] = FORMAT_VERSION
    spec["sha256"] = content_digest(spec, tensors)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(spec, sort_keys=True)})
    os.replace(tmp, path)
    policy.spec = spec
    return path


def read_spec(path: str | os.PathLike) -> dict[str, Any]:
    """The spec of a policy file, without loading weights. Raises PolicyFileError if unreadable."""
    return _read(path, weights=False)[0]


def load_policy(path: str | os.PathLike) -> Policy:
    """Load a policy file into a ``Policy``. Never unpickles. Raises PolicyFileError on a missing,
    truncated or corrupted file or a format version this robokit does not read."""
    spec, tensors = _read(path, weights=True)
    try:
        return Policy(spec, tensors)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, PolicyFileError):
            raise
        raise PolicyFileError(f"{path}: inconsistent spec ({type(exc).__name__}: {exc})") from exc


def _read(path: str | os.PathLike, weights: bool) -> tuple[dict, dict[str, torch.Tensor]]:
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise PolicyFileError(f"{path}: no such policy file")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()} if weights else {}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error types for bad headers/lengths
        raise PolicyFileError(
            f"{path}: not a readable safetensors policy file (truncated or corrupted?): {exc}"
        ) from exc
    if METADATA_KEY not in meta:
        raise PolicyFileError(
            f"{path}: safetensors file without a robokit spec (metadata key {METADATA_KEY!r})"
        )
    try:
        spec = json.loads(meta[METADATA_KEY])
    except json.JSONDecodeError as exc:
        raise PolicyFileError(f"{path}: the robokit spec is not valid JSON: {exc}") from exc
    version = spec.get("format_version")
    if version != FORMAT_VERSION:
        raise PolicyFileError(
            f"{path}: policy format version {version!r}; this robokit ({robokit_version()}) reads "
            f"version {FORMAT_VERSION}. Re-export the policy or use a matching robokit."
        )
    missing = [
        k
        for k in ("robot", "control_mode", "action_dim", "obs_keys", "obs_spaces", "network")
        if k not in spec
    ]
    if missing:
        raise PolicyFileError(f"{path}: spec lacks {missing}")
    if weights and spec.get("sha256") and content_digest(spec, tensors) != spec["sha256"]:
        raise PolicyFileError(
            f"{path}: spec and weights do not match their recorded sha256: the file is corrupted"
        )
    return spec, tensors


def env_description(env: Any) -> dict[str, Any]:
    """What a policy must agree with, read from a robokit env (wrapped or not)."""
    u = env.unwrapped
    return {
        "robot": u.robot.name,
        "control_mode": u.controller.mode,
        "control_hz": float(u.robot.control_hz),
        "action_dim": int(u.controller.action_dim),
        "obs_shapes": {k: list(s.shape) for k, s in u.observation_space.spaces.items()},
        "safety": _jsonable(u.safety_settings.to_dict()),
    }


def check_compatible(spec: dict, env: Any = None, *, check_safety: bool = True, **expected: Any) -> None:
    """Raise PolicyMismatchError unless ``spec`` fits ``env`` (or the ``expected`` fields: robot,
    control_mode, control_hz, action_dim, obs_shapes {key: shape}, safety)."""
    want = {**(env_description(env) if env is not None else {}), **expected}
    problems = []
    for key in ("robot", "control_mode", "action_dim"):
        if key in want and spec.get(key) != want[key]:
            problems.append(f"{key}: policy has {spec.get(key)!r}, target has {want[key]!r}")
    if "control_hz" in want and abs(float(spec.get("control_hz", 0)) - float(want["control_hz"])) > 1e-9:
        problems.append(f"control_hz: policy has {spec.get('control_hz')}, target has {want['control_hz']}")
    for key, shape in want.get("obs_shapes", {}).items():
        have = (spec.get("obs_spaces") or {}).get(key, {}).get("shape")
        if key in spec.get("obs_keys", []) and (have is None or list(have) != list(shape)):
            problems.append(f"observation {key!r}: policy expects shape {have}, target gives {list(shape)}")
    for key in spec.get("obs_keys", []):
        if "obs_shapes" in want and key not in want["obs_shapes"]:
            problems.append(f"observation {key!r}: the policy needs it, the target does not provide it")
    if check_safety and "safety" in want and spec.get("safety") and spec["safety"] != want["safety"]:
        problems.append(f"safety settings differ: policy {spec['safety']}, target {want['safety']}")
    if problems:
        raise PolicyMismatchError(
            f"policy ({spec_summary(spec)}) does not fit this target:\n  - " + "\n  - ".join(problems)
        )


def _jsonable(x: Any) -> Any:
    """Tuples -> lists, numpy -> python, so specs compare equal after a JSON round trip."""
    return json.loads(json.dumps(x, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def spec_from_env(env: Any, env_id: str | None = None) -> dict[str, Any]:
    """The env-derived part of a spec (robot, mode, rate, spaces, layout, safety, versions)."""
    u = env.unwrapped
    obs_spaces = {
        k: {"shape": list(s.shape), "low": s.low.ravel().tolist(), "high": s.high.ravel().tolist()}
        for k, s in u.observation_space.spaces.items()
    }
    env_id = env_id or (env.spec.id if getattr(env, "spec", None) is not None else None)
    return {
        "format_version": FORMAT_VERSION,
        "robokit_version": robokit_version(),
        "robot": u.robot.name,
        "env_id": env_id,
        "control_mode": u.controller.mode,
        "control_hz": float(u.robot.control_hz),
        "action_dim": int(u.controller.action_dim),
        "action_space": {"low": u.action_space.low.tolist(), "high": u.action_space.high.tolist()},
        "obs_keys": list(u.observation_space.spaces.keys()),
        "obs_spaces": obs_spaces,
        "obs_layout": _jsonable(u.observer.layout()),
        "safety": _jsonable(u.safety_settings.to_dict()),
        "distance_threshold_m": float(u.task.distance_threshold_m),
        "obs_norm": None,
    }
