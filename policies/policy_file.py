"""Policy files: one ``.safetensors`` file = actor weights + a JSON spec in the metadata.

The spec (``metadata["robokit_spec"]``) says everything a deploy needs to feed the network and to
interpret its output: robot, env id, control mode and rate, observation keys/shapes/layout,
observation normalisation stats, action space, network shape, safety settings, and how it was trained.
Loading parses JSON and reads raw tensors: nothing is ever unpickled, and SB3 is never imported. A policy
file is untrusted input: the whole spec is validated (``policy_spec.validate_spec``), then the tensors'
names, dtypes and shapes against it, then their values and the sha256, and only then is anything built.

Network (``spec["network"]``): an MLP over the concatenation of ``obs_keys`` (each normalised as
``clip((x - mean) / sqrt(var + eps), -clip, clip)`` when ``obs_norm`` is set), hidden layers with
``activation``, a linear output, then ``output`` = ``tanh`` (SAC/TD3) or ``clip`` (PPO, scripted) to
[-1, 1], then an affine map onto ``action_space`` [low, high].
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from robokit.policies.compat import PolicyMismatchError, check_compatible, spec_summary
from robokit.policies.numpy_actor import NumpyActor
from robokit.policies.policy_spec import (
    FORMAT_VERSION,
    PolicyFileError,
    PolicySpec,
    check_tensor_header,
    check_weights,
    robokit_version,
    validate_spec,
)
from robokit.policies.spec_fields import jsonable

__all__ = [
    "FORMAT_VERSION",
    "METADATA_KEY",
    "Policy",
    "PolicyFileError",
    "PolicyMismatchError",
    "PolicySpec",
    "check_compatible",
    "content_digest",
    "load_policy",
    "read_policy_spec",
    "read_spec",
    "robokit_version",
    "save_policy",
    "spec_from_env",
    "spec_summary",
    "validate_spec",
    "write_atomic",
]

METADATA_KEY = "robokit_spec"
ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}


def content_digest(spec: dict[str, Any], tensors: Mapping[str, torch.Tensor]) -> str:
    """sha256 over the spec (canonical JSON, without its ``sha256`` field) and every tensor's (name, dtype,
    shape, bytes) in name order: any corrupted byte of spec or weights changes it. The exact recipe, for
    other programs writing policy files, is in docs/training.md ("The sha256"); a test follows it
    without this function."""
    h = hashlib.sha256()
    h.update(json.dumps({k: v for k, v in spec.items() if k != "sha256"}, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes())
    return h.hexdigest()


class Policy(nn.Module):
    """A deterministic policy from a spec: ``act(obs dict) -> action (action_dim,) in [low, high]``.

    A plain torch module (runs with torch + numpy alone). ``forward`` maps already flattened and
    normalised observations (B, obs_dim) to actions (B, action_dim). ``spec`` is the spec as a dict (the
    file's JSON), ``typed_spec`` the validated ``PolicySpec`` (pass one instead of the dict to skip
    validating it again). Raises PolicyFileError on an invalid spec or weights that do not fit it: nothing
    is built before the whole spec is validated.
    """

    def __init__(
        self, spec: dict[str, Any] | PolicySpec, state_dict: Mapping[str, torch.Tensor] | None = None
    ) -> None:
        super().__init__()
        typed = spec if isinstance(spec, PolicySpec) else validate_spec(spec, require_digest=False)
        self.spec = typed.raw
        self.typed_spec: PolicySpec = typed
        self.obs_keys: list[str] = list(typed.obs_keys)
        self._obs_sizes = typed.obs_sizes
        sizes = typed.layer_sizes
        act_cls = ACTIVATIONS[typed.network.activation]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(act_cls())
        self.net = nn.Sequential(*layers)
        self.output = typed.network.output
        self.register_buffer("action_low", torch.tensor(typed.action_low, dtype=torch.float32))
        self.register_buffer("action_high", torch.tensor(typed.action_high, dtype=torch.float32))
        mean, scale, clip = self._norm_arrays(typed)
        self.register_buffer("obs_mean", torch.as_tensor(mean))
        self.register_buffer("obs_scale", torch.as_tensor(scale))
        self.obs_clip = clip
        # the deadband acts on the arm's motion elements only (a gripper command is a position, not a move)
        self._deadband = typed.action_deadband
        self._n_motion = typed.action_dim - (1 if typed.gripper_actuated else 0)
        if state_dict is not None:
            self.load_weights(state_dict)
        self.eval()

    @staticmethod
    def _norm_arrays(typed: PolicySpec) -> tuple[np.ndarray, np.ndarray, float]:
        """Per-element (mean, 1/std) over the flat observation (obs_dim,) and the clip bound."""
        dim = sum(typed.obs_sizes)
        norm = typed.obs_norm
        if norm is None:
            return np.zeros(dim, np.float32), np.ones(dim, np.float32), float("inf")
        mean = np.concatenate([np.asarray(norm.mean[k], np.float64) for k in typed.obs_keys])
        var = np.concatenate([np.asarray(norm.var[k], np.float64) for k in typed.obs_keys])
        return mean.astype(np.float32), (1.0 / np.sqrt(var + norm.epsilon)).astype(np.float32), norm.clip

    def weight_tensors(self) -> dict[str, torch.Tensor]:
        """The trainable tensors as saved in the file: ``net.<i>.weight`` / ``net.<i>.bias``."""
        return {f"net.{k}": v.detach().clone().contiguous() for k, v in self.net.state_dict().items()}

    def load_weights(self, tensors: Mapping[str, torch.Tensor]) -> None:
        """Copy ``tensors`` (names/shapes of ``weight_tensors()``) in. Raises PolicyFileError if they do
        not fit the spec, are not finite, or are large enough to overflow float32."""
        check_weights(self.typed_spec, tensors)
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
        """Deterministic action float32 (action_dim,) for one observation dict; (B, action_dim) if batched.
        With the spec's ``action_deadband`` d > 0, motion elements with |a| < d are 0: a cloned policy's
        small leftover outputs at the goal would otherwise keep the arm creeping (servos buzzing)."""
        batched = np.ndim(obs[self.obs_keys[-1]]) > len(self.typed_spec.obs_shapes[self.obs_keys[-1]])
        a = self.forward(self.flatten_obs(obs)).numpy()
        if self._deadband:
            motion = a[..., : self._n_motion]
            motion[np.abs(motion) < self._deadband] = 0.0
        return a if batched else a[0]

    def numpy_actor(self) -> NumpyActor:
        """A numpy snapshot of this actor for one observation at a time (the deploy loop's tick): the
        same actions as ``act`` to float32 rounding, ~20x cheaper per call. Later weight changes are not
        seen: take a new one."""
        layers = [(m.weight.detach().numpy().copy(), m.bias.detach().numpy().copy()) for m in self.net
                  if isinstance(m, nn.Linear)]  # fmt: skip
        norm = (self.obs_mean.numpy().copy(), self.obs_scale.numpy().copy(), self.obs_clip)
        box = (self.action_low.numpy().copy(), self.action_high.numpy().copy())
        net = self.typed_spec.network
        return NumpyActor(
            self.spec, self.obs_keys, self._obs_sizes, norm, layers, net.activation, self.output, box,
            self._deadband, self._n_motion,
        )  # fmt: skip

    def save(self, path: str | os.PathLike) -> Path:
        return save_policy(self, path)


def write_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a uniquely named temp file in the same folder, then rename: a
    reader sees the old file or the new one, never a part. The file gets the mode a plain ``open`` gives
    (0666 minus the umask), so it can be shared. Raises OSError; the temp file is removed on failure."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def save_policy(policy: Policy, path: str | os.PathLike) -> Path:
    """Write ``policy`` to ``path`` atomically (see ``write_atomic``), its spec validated first and its
    sha256 recomputed. Returns the path. Raises PolicyFileError (invalid spec) or OSError."""
    from safetensors.torch import save

    path = Path(path)
    tensors = policy.weight_tensors()
    spec = jsonable({k: v for k, v in policy.spec.items() if k != "sha256"})
    spec = validate_spec(spec, tensors, require_digest=False).to_json()  # a version-1 spec is upgraded
    spec["sha256"] = content_digest(spec, tensors)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, save(tensors, metadata={METADATA_KEY: json.dumps(spec, sort_keys=True)}))
    policy.spec = spec
    policy.typed_spec = validate_spec(spec, require_digest=False)
    return path


def read_spec(path: str | os.PathLike, *, require_digest: bool = True) -> dict[str, Any]:
    """The validated spec of a policy file as a dict, without reading weights (the tensors' names, dtypes
    and shapes are still checked against it). Raises PolicyFileError if the file is unusable."""
    return _read(path, weights=False, require_digest=require_digest)[0].raw


def read_policy_spec(path: str | os.PathLike, *, require_digest: bool = True) -> PolicySpec:
    """``read_spec``, typed."""
    return _read(path, weights=False, require_digest=require_digest)[0]


def load_policy(path: str | os.PathLike) -> Policy:
    """Load a policy file into a ``Policy``. Never unpickles; validates the whole spec, then the tensors'
    names/dtypes/shapes (before reading them), then their values and the sha256, then builds the network.
    Raises PolicyFileError (one line) on a missing, unreadable, truncated, corrupted or invalid file, a
    missing digest, or a format version this robokit does not read."""
    typed, tensors = _read(path, weights=True, require_digest=True)
    try:
        return Policy(typed, tensors)  # validated above: not again
    except PolicyFileError as exc:
        raise PolicyFileError(f"{path}: {exc}") from None


def _check_readable(path: Path) -> None:
    """Raise PolicyFileError unless ``path`` is a regular file this process may read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise PolicyFileError(f"{path}: no such policy file") from None
    except OSError as exc:
        raise PolicyFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise PolicyFileError(f"{path}: is a directory, not a policy file")
    if not stat.S_ISREG(st.st_mode):
        raise PolicyFileError(f"{path}: not a regular file")
    try:
        with open(path, "rb"):
            pass
    except PermissionError:
        raise PolicyFileError(
            f"{path}: permission denied (mode {stat.filemode(st.st_mode)}, owner uid {st.st_uid}); "
            "make it readable, e.g. chmod a+r"
        ) from None
    except OSError as exc:
        raise PolicyFileError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def _safetensors_error(path: Path, exc: Exception) -> PolicyFileError:
    text = " ".join(str(exc).split())[:200]
    return PolicyFileError(
        f"{path}: not a readable safetensors policy file (truncated or corrupted?): {text}"
    )


def _parse_metadata(path: Path, meta: dict[str, str]) -> Any:
    if METADATA_KEY not in meta:
        raise PolicyFileError(
            f"{path}: safetensors file without a robokit spec (metadata key {METADATA_KEY!r})"
        )
    try:
        return json.loads(meta[METADATA_KEY])
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        text = " ".join(str(exc).split())[:120]
        raise PolicyFileError(f"{path}: the robokit spec is not valid JSON: {text}") from None


def _read(path: str | os.PathLike, weights: bool, require_digest: bool) -> tuple[PolicySpec, dict]:
    """Validated (spec, tensors) of a policy file; tensors only if ``weights`` ({} otherwise)."""
    from safetensors import safe_open

    path = Path(path)
    _check_readable(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            header = {k: (f.get_slice(k).get_dtype(), f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error types for bad headers/lengths
        raise _safetensors_error(path, exc) from None
    spec = _parse_metadata(path, meta)
    try:
        typed = validate_spec(spec, require_digest=require_digest)
        check_tensor_header(typed, header)
    except PolicyFileError as exc:
        raise PolicyFileError(f"{path}: {exc}") from None
    if not weights:
        return typed, {}
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except Exception as exc:
        raise _safetensors_error(path, exc) from None
    if content_digest(typed.raw, tensors) != typed.sha256:
        raise PolicyFileError(
            f"{path}: spec and weights do not match their recorded sha256: the file is corrupted"
        )
    try:
        check_weights(typed, tensors)
    except PolicyFileError as exc:
        raise PolicyFileError(f"{path}: {exc}") from None
    return typed, tensors


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
        "obs_layout": jsonable(u.observer.layout()),
        "safety": jsonable(u.safety_settings.to_dict()),
        "distance_threshold_m": float(u.task.distance_threshold_m),
        "gripper_actuated": bool(u.controller.gripper_actuated),
        "obs_norm": None,
    }
