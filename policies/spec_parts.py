"""The policy spec's parts (observation spaces, action space, network, normalisation, safety, layout,
provenance): a typed value each, and the reader that validates it from the spec's JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from robokit.policies import spec_fields as f
from robokit.policies.spec_fields import (
    ACTIVATIONS,
    FLOAT32_SAFE,
    MAX_ACTION_DIM,
    MAX_HIDDEN_LAYERS,
    MAX_HIDDEN_SIZE,
    MAX_OBS_DIM,
    MAX_OBS_RANK,
    MAX_PARAMETERS,
    OUTPUTS,
    ROBOT_NAME,
)


@dataclass(frozen=True)
class ObsSpace:
    """One observation key: its ``shape``, and its flattened bounds if the file records them."""

    shape: tuple[int, ...]
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"shape": list(self.shape)}
        for name in ("low", "high"):
            if getattr(self, name) is not None:
                out[name] = list(getattr(self, name))
        return out


@dataclass(frozen=True)
class NetworkSpec:
    """MLP: ``hidden`` layer sizes, hidden ``activation``, ``output`` squashing (tanh or clip)."""

    hidden: tuple[int, ...]
    activation: str
    output: str

    def to_json(self) -> dict[str, Any]:
        return {"hidden": list(self.hidden), "activation": self.activation, "output": self.output}


@dataclass(frozen=True)
class ObsNorm:
    """Per-key observation stats: ``clip((x - mean) / sqrt(var + epsilon), -clip, clip)``."""

    mean: dict[str, tuple[float, ...]]
    var: dict[str, tuple[float, ...]]
    clip: float
    epsilon: float

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": {k: list(v) for k, v in self.mean.items()},
            "var": {k: list(v) for k, v in self.var.items()},
            "clip": self.clip,
            "epsilon": self.epsilon,
        }


@dataclass(frozen=True)
class SafetyBlock:
    """The safety settings the policy was trained under (joint units; metres)."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    max_target_step: float
    floor_z_m: float

    def to_json(self) -> dict[str, Any]:
        return {
            "lower": list(self.lower),
            "upper": list(self.upper),
            "max_target_step": self.max_target_step,
            "floor_z_m": self.floor_z_m,
        }


def _obs_space(key: Any, space: Any) -> ObsSpace:
    if not f.is_name(key):
        f.fail("obs_spaces", f"key {f.short(key)} is not a printable name")
    where = f"obs_spaces.{key}"
    space = f.obj(space, where)
    shape = space.get("shape", f.MISSING)
    if shape is f.MISSING:
        f.fail(f"{where}.shape", "missing")
    ok = isinstance(shape, list) and 1 <= len(shape) <= MAX_OBS_RANK
    if not ok or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
        f.fail(f"{where}.shape", f"want 1 to {MAX_OBS_RANK} positive integers, got {f.short(shape)}")
    if math.prod(shape) > MAX_OBS_DIM:
        f.fail(f"{where}.shape", f"{shape} has more than {MAX_OBS_DIM} elements")
    n = math.prod(shape)
    low, high = (
        f.floats(space[b], f"{where}.{b}", n, finite=False) if b in space else None for b in ("low", "high")
    )
    if low is not None and high is not None:
        f.low_high(low, high, where, strict=False)
    return ObsSpace(tuple(shape), low, high)


def read_obs(spec: dict) -> tuple[tuple[str, ...], dict[str, ObsSpace]]:
    """(``obs_keys``, every ``obs_spaces`` entry); each key has a space, the whole fits MAX_OBS_DIM."""
    keys = f.get(spec, "obs_keys", "obs_keys", True)
    if not isinstance(keys, list) or not keys or not all(f.is_name(k) for k in keys):
        f.fail("obs_keys", f"want a non-empty list of printable names, got {f.short(keys)}")
    if len(set(keys)) != len(keys):
        f.fail("obs_keys", f"names repeat: {f.short(keys)}")
    spaces_json = f.obj(f.get(spec, "obs_spaces", "obs_spaces", True), "obs_spaces")
    spaces = {key: _obs_space(key, space) for key, space in spaces_json.items()}
    for key in keys:
        if key not in spaces:
            f.fail("obs_keys", f"{key!r} has no entry in obs_spaces")
    if sum(math.prod(spaces[k].shape) for k in keys) > MAX_OBS_DIM:
        f.fail("obs_spaces", f"the observation has more than {MAX_OBS_DIM} elements")
    return tuple(keys), spaces


def read_action_space(spec: dict, dim: int) -> tuple[tuple, tuple]:
    """(low, high), ``dim`` numbers each, inside the controllers' [-1, 1], low < high."""
    space = f.obj(f.get(spec, "action_space", "action_space", True), "action_space")
    low = f.floats(f.get(space, "low", "action_space.low", True), "action_space.low", dim)
    high = f.floats(f.get(space, "high", "action_space.high", True), "action_space.high", dim)
    for part, values in (("low", low), ("high", high)):
        for i, v in enumerate(values):
            if not -1.0 <= v <= 1.0:  # robokit's controllers take actions in [-1, 1] (the envs' Box)
                f.fail(
                    f"action_space.{part}[{i}]", f"{v:g} is outside [-1, 1], the controllers' action range"
                )
    f.low_high(low, high, "action_space", strict=True)
    return low, high


def read_network(spec: dict, obs_dim: int, action_dim: int) -> NetworkSpec:
    """The MLP, at most MAX_HIDDEN_LAYERS x MAX_HIDDEN_SIZE and MAX_PARAMETERS in all."""
    net = f.obj(f.get(spec, "network", "network", True), "network")
    hidden = f.get(net, "hidden", "network.hidden", True)
    if not isinstance(hidden, list) or len(hidden) > MAX_HIDDEN_LAYERS:
        f.fail(
            "network.hidden", f"want a list of at most {MAX_HIDDEN_LAYERS} layer sizes, got {f.short(hidden)}"
        )
    for i, h in enumerate(hidden):
        if not isinstance(h, int) or isinstance(h, bool) or not 1 <= h <= MAX_HIDDEN_SIZE:
            f.fail(f"network.hidden[{i}]", f"want an integer in [1, {MAX_HIDDEN_SIZE}], got {f.short(h)}")
    activation = f.string(net, "activation", "network.activation", False, ACTIVATIONS, nullable=False)
    output = f.string(net, "output", "network.output", False, OUTPUTS, nullable=False)
    sizes = [obs_dim, *hidden, action_dim]
    params = sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(sizes) - 1))
    if params > MAX_PARAMETERS:
        f.fail("network", f"{sizes} has {params} parameters, more than {MAX_PARAMETERS}")
    return NetworkSpec(tuple(hidden), activation or "relu", output or "tanh")


def read_obs_norm(spec: dict, keys: tuple[str, ...], shapes: dict[str, tuple[int, ...]]) -> ObsNorm | None:
    """Per-key mean/var of every key in ``keys``, clip > 0, var + epsilon safe to divide by."""
    norm = spec.get("obs_norm")
    if norm is None:
        return None
    norm = f.obj(norm, "obs_norm")
    stats = {}
    for part in ("mean", "var"):
        per_key = f.obj(f.get(norm, part, f"obs_norm.{part}", True), f"obs_norm.{part}")
        for key in keys:
            if key not in per_key:
                f.fail(f"obs_norm.{part}", f"no stats for observation {key!r}")
        stats[part] = {k: f.floats(per_key[k], f"obs_norm.{part}.{k}", math.prod(shapes[k])) for k in keys}
    clip = f.num(norm, "clip", "obs_norm.clip", 0.0, FLOAT32_SAFE, lo_open=True)
    eps = f.num(norm, "epsilon", "obs_norm.epsilon", 0.0, 1.0, required=False)
    eps = 1e-8 if eps is None else eps
    for key in keys:
        for i, v in enumerate(stats["var"][key]):
            if v < 0.0:
                f.fail(f"obs_norm.var.{key}[{i}]", f"{v:g} is negative")
            if v + eps < 1e-30:  # 1 / sqrt(var + eps) must stay a finite float32
                f.fail(f"obs_norm.var.{key}[{i}]", f"var + epsilon = {v + eps:g} is too small to divide by")
    return ObsNorm(stats["mean"], stats["var"], clip, eps)


def read_safety(spec: dict) -> SafetyBlock | None:
    """The safety block; for a robot robokit knows, one limit per joint."""
    block = spec.get("safety")
    if block is None:
        return None
    block = f.obj(block, "safety")
    lower = f.get(block, "lower", "safety.lower", True)
    n = len(lower) if isinstance(lower, list) else -1
    if not 1 <= n <= MAX_ACTION_DIM:
        f.fail("safety.lower", f"want a list of 1 to {MAX_ACTION_DIM} joint limits, got {f.short(lower)}")
    joints = _joint_count(spec["robot"])
    if joints is not None and n != joints:
        f.fail("safety.lower", f"has {n} joint limits, robot {spec['robot']!r} has {joints} joints")
    lower_t = f.floats(lower, "safety.lower", n, bound=1e6)
    upper_t = f.floats(f.get(block, "upper", "safety.upper", True), "safety.upper", n, bound=1e6)
    f.low_high(lower_t, upper_t, "safety", strict=True, names=("lower", "upper"))
    step = f.num(block, "max_target_step", "safety.max_target_step", 0.0, 1e6, lo_open=True)
    floor = f.num(block, "floor_z_m", "safety.floor_z_m", -1e6, 1e6)
    return SafetyBlock(lower_t, upper_t, step, floor)


def read_provenance(spec: dict) -> dict[str, Any]:
    """Fields only shown (info, eval.json), type-checked so nothing downstream trips on them."""
    out: dict[str, Any] = {
        key: f.string(spec, key, key, required=False) for key in ("robokit_version", "algo")
    }
    out["training_steps"] = f.integer(spec, "training_steps", "training_steps", 0, 1 << 62, required=False)
    out["seed"] = f.integer(spec, "seed", "seed", -(1 << 63), 1 << 64, required=False)
    out["train_time_s"] = f.num(spec, "train_time_s", "train_time_s", 0.0, 1e12, required=False)
    hyper = spec.get("hyperparameters")
    out["hyperparameters"] = None if hyper is None else f.obj(hyper, "hyperparameters")
    return out


def read_layout(spec: dict, shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, int]] | None:
    """``obs_layout``: name -> [start, end) inside the flat ``observation``."""
    layout = spec.get("obs_layout")
    if layout is None:
        return None
    size = math.prod(shapes["observation"]) if "observation" in shapes else MAX_OBS_DIM
    out = {}
    for name, span in f.obj(layout, "obs_layout").items():
        if not f.is_name(name):
            f.fail("obs_layout", f"key {f.short(name)} is not a printable name")
        ok = isinstance(span, list) and len(span) == 2
        ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in span)
        if not ok or not 0 <= span[0] < span[1] <= size:
            f.fail(
                f"obs_layout.{name}",
                f"want [start, end] with 0 <= start < end <= {size}, got {f.short(span)}",
            )
        out[name] = (span[0], span[1])
    return out


def read_robot(spec: dict) -> str:
    """``robot``: a robot name (known to this robokit or not)."""
    robot = f.string(spec, "robot", "robot")
    if not ROBOT_NAME.fullmatch(robot):
        f.fail("robot", f"{f.short(robot)} is not a robot name (lowercase letters, digits, _)")
    return robot


def _joint_count(robot: str) -> int | None:
    """Joints of a robot robokit knows (``robokit.robots``), else None (an unknown robot is not an error
    here: the compatibility check refuses it against any real target)."""
    from robokit.robots import get_robot, list_robots

    return len(get_robot(robot).joint_names) if robot in list_robots() else None
