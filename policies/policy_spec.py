"""The policy spec: the JSON in a policy file's metadata, validated as a whole before anything is built.

A policy file is untrusted input. ``PolicySpec.from_json(text or dict)`` (``validate_spec``) checks
every field a loader, ``robokit info``, eval or deploy reads (types, ranges, finite numbers, known
names, sizes) and returns a typed, frozen ``PolicySpec``; ``spec.to_json()`` gives the JSON object back
in the current format. ``check_tensor_header`` / ``check_weights`` (``weights_check``) compare a file's
tensors with it. Every violation raises ``PolicyFileError`` with a one-line message naming the field.

Format versions: robokit writes version 2 and reads 1 and 2. Version 2 adds nothing new but makes
``gripper_actuated`` required (export writes the env's); a version-1 file without it reads as false.
Unknown top-level keys are kept (``PolicySpec.extra``); every number anywhere must be finite.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from robokit.policies import spec_fields as f
from robokit.policies.spec_fields import (  # noqa: F401  (the spec's public names, re-exported)
    ACTIVATIONS,
    CONTROL_HZ_RANGE,
    CONTROL_MODES,
    FLOAT32_SAFE,
    FLOAT_DTYPES,
    FORMAT_VERSION,
    MAX_ACTION_DIM,
    MAX_HIDDEN_LAYERS,
    MAX_HIDDEN_SIZE,
    MAX_OBS_DIM,
    MAX_OBS_RANK,
    MAX_PARAMETERS,
    OUTPUTS,
    READ_VERSIONS,
    ROBOT_NAME,
    UNBOUNDED_OBS,
    PolicyFileError,
    escape_controls,
    robokit_version,
)
from robokit.policies.spec_parts import (
    NetworkSpec,
    ObsNorm,
    ObsSpace,
    SafetyBlock,
    read_action_space,
    read_layout,
    read_network,
    read_obs,
    read_obs_norm,
    read_provenance,
    read_robot,
    read_safety,
)
from robokit.policies.weights_check import check_tensor_header, check_weights  # noqa: F401

__all__ = [
    "FORMAT_VERSION",
    "NetworkSpec",
    "ObsNorm",
    "ObsSpace",
    "PolicyFileError",
    "PolicySpec",
    "SafetyBlock",
    "check_tensor_header",
    "check_weights",
    "validate_spec",
]

KNOWN_KEYS = frozenset(
    [
        "format_version",
        "robokit_version",
        "robot",
        "env_id",
        "control_mode",
        "control_hz",
        "action_dim",
        "action_space",
        "obs_keys",
        "obs_spaces",
        "obs_layout",
        "obs_norm",
        "network",
        "safety",
        "distance_threshold_m",
        "gripper_actuated",
        "action_deadband",
        "algo",
        "training_steps",
        "seed",
        "train_time_s",
        "hyperparameters",
        "sha256",
    ]
)


# action units: a larger deadband would swallow real moves (a deadband only removes motion)
MAX_DEADBAND = 0.2


@dataclass(frozen=True)
class PolicySpec:
    """A validated spec (units: Hz, metres, joint units). ``raw`` is the JSON object it came from (what
    ``Policy.spec`` holds, and what a file's sha256 covers); ``extra`` its unknown top-level keys."""

    format_version: int
    robot: str
    env_id: str | None
    control_mode: str
    control_hz: float
    action_dim: int
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]
    obs_keys: tuple[str, ...]
    obs_spaces: dict[str, ObsSpace]
    obs_layout: dict[str, tuple[int, int]] | None
    obs_norm: ObsNorm | None
    network: NetworkSpec
    safety: SafetyBlock | None
    distance_threshold_m: float | None
    gripper_actuated: bool
    sha256: str | None
    action_deadband: float = 0.0
    robokit_version: str | None = None
    algo: str | None = None
    training_steps: int | None = None
    seed: int | None = None
    train_time_s: float | None = None
    hyperparameters: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def obs_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of every observation space, by key."""
        return {k: s.shape for k, s in self.obs_spaces.items()}

    @property
    def obs_sizes(self) -> list[int]:
        """Flattened size of each key in ``obs_keys`` order."""
        return [math.prod(self.obs_spaces[k].shape) for k in self.obs_keys]

    @property
    def layer_sizes(self) -> list[int]:
        """[obs_dim, *hidden, action_dim]."""
        return [sum(self.obs_sizes), *self.network.hidden, self.action_dim]

    def tensor_shapes(self) -> dict[str, tuple[int, ...]]:
        """Names and shapes of the weights this spec needs: ``net.<2i>.weight`` (out, in), ``.bias`` (out,)."""
        sizes = self.layer_sizes
        shapes: dict[str, tuple[int, ...]] = {}
        for i in range(len(sizes) - 1):
            shapes[f"net.{2 * i}.weight"] = (sizes[i + 1], sizes[i])
            shapes[f"net.{2 * i}.bias"] = (sizes[i + 1],)
        return shapes

    @classmethod
    def from_json(cls, data: str | bytes | dict[str, Any], *, require_digest: bool = False) -> PolicySpec:
        """Parse (if text) and validate a spec of any version this robokit reads; ``validate_spec``."""
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError) as exc:
                raise PolicyFileError(
                    f"the spec is not valid JSON: {' '.join(str(exc).split())[:120]}"
                ) from None
        return validate_spec(data, require_digest=require_digest)

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON object in the current format (``FORMAT_VERSION``; a version-1 spec comes
        out upgraded), unknown keys kept. ``from_json(s.to_json()) == s`` up to ``format_version``."""
        out: dict[str, Any] = {
            **self.extra,
            "format_version": FORMAT_VERSION,
            "robot": self.robot,
            "env_id": self.env_id,
            "control_mode": self.control_mode,
            "control_hz": self.control_hz,
            "action_dim": self.action_dim,
            "action_space": {"low": list(self.action_low), "high": list(self.action_high)},
            "obs_keys": list(self.obs_keys),
            "obs_spaces": {k: s.to_json() for k, s in self.obs_spaces.items()},
            "obs_layout": None
            if self.obs_layout is None
            else {k: list(v) for k, v in self.obs_layout.items()},
            "obs_norm": None if self.obs_norm is None else self.obs_norm.to_json(),
            "network": self.network.to_json(),
            "safety": None if self.safety is None else self.safety.to_json(),
            "distance_threshold_m": self.distance_threshold_m,
            "gripper_actuated": self.gripper_actuated,
        }
        if self.action_deadband:  # written only when set: files without it keep their bytes
            out["action_deadband"] = self.action_deadband
        for key in ("robokit_version", "algo", "training_steps", "seed", "train_time_s", "hyperparameters"):
            out[key] = getattr(self, key)
        if self.sha256 is not None:
            out["sha256"] = self.sha256
        return out


def _gripper_actuated(spec: dict, version: int) -> bool:
    """Whether the last action element drives the gripper: required from version 2, else default false."""
    value = spec.get("gripper_actuated", f.MISSING)
    if version < 2:  # version 1 (nothing wrote the field then): absent, null, true or false
        if value is not f.MISSING and value not in (None, True, False):
            f.fail("gripper_actuated", f"want true or false, got {f.short(value)}")
        return bool(value is not f.MISSING and value)
    if value is f.MISSING:
        f.fail("gripper_actuated", "missing (format version 2 records whether the gripper is actuated)")
    if not isinstance(value, bool):
        f.fail("gripper_actuated", f"want true or false, got {f.short(value)}")
    return value


def validate_spec(spec: Any, tensors: Any = None, *, require_digest: bool = True) -> PolicySpec:
    """Validate a parsed spec (and, if given, the weight tensors against it); return it typed.

    ``require_digest``: a missing ``sha256`` is refused (files); an in-memory policy has none yet.
    Raises PolicyFileError (one line) on the first problem found. Allocates nothing sized by the spec.
    """
    spec = f.obj(spec, "the spec")
    version = f.format_version(spec)
    robot = read_robot(spec)
    env_id = f.string(spec, "env_id", "env_id", required=False)
    mode = f.string(spec, "control_mode", "control_mode", choices=CONTROL_MODES)
    hz = f.num(spec, "control_hz", "control_hz", *CONTROL_HZ_RANGE)
    action_dim = f.integer(spec, "action_dim", "action_dim", 1, MAX_ACTION_DIM)
    keys, spaces = read_obs(spec)
    shapes = {k: s.shape for k, s in spaces.items()}
    low, high = read_action_space(spec, action_dim)
    network = read_network(spec, sum(math.prod(shapes[k]) for k in keys), action_dim)
    threshold = f.num(
        spec, "distance_threshold_m", "distance_threshold_m", 0.0, 100.0, lo_open=True, required=False
    )
    layout = read_layout(spec, shapes)
    provenance = read_provenance(spec)
    deadband = f.num(spec, "action_deadband", "action_deadband", 0.0, MAX_DEADBAND, required=False) or 0.0
    if deadband and mode == "joint_absolute":
        f.fail("action_deadband", "has no meaning for joint_absolute control (an action is a position there)")
    typed = PolicySpec(
        format_version=version,
        robot=robot,
        env_id=env_id,
        control_mode=mode,
        control_hz=hz,
        action_dim=action_dim,
        action_low=low,
        action_high=high,
        obs_keys=keys,
        obs_spaces=spaces,
        obs_layout=layout,
        obs_norm=read_obs_norm(spec, keys, shapes),
        network=network,
        safety=read_safety(spec),
        distance_threshold_m=threshold,
        gripper_actuated=_gripper_actuated(spec, version),
        action_deadband=deadband,
        sha256=f.digest(spec, require_digest),
        **provenance,
        extra={k: v for k, v in spec.items() if k not in KNOWN_KEYS},
        raw=spec,
    )
    f.all_finite(spec)  # what the typed fields above do not cover: hyperparameters, unknown keys
    if tensors is not None:
        check_weights(typed, tensors)
    return typed
