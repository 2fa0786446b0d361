"""The policy spec: the JSON in a policy file's metadata, validated as a whole before anything is built.

A policy file is untrusted input. ``validate_spec(spec)`` checks every field a loader, ``robokit info``,
eval or deploy reads (types, ranges, finite numbers, known names, sizes) and returns a typed, frozen
``PolicySpec``; ``check_tensor_header`` compares the file's tensor names, dtypes and shapes with the
ones the spec implies (before any tensor data is read); ``check_weights`` checks the tensors themselves
(finite, and small enough that the network cannot overflow float32). Every violation raises
``PolicyFileError`` with a one-line message naming the field.

Fields a loader ignores (``algo``, ``hyperparameters``, unknown keys) are kept as they are, but the
provenance fields ``robokit info`` shows are type-checked too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

FORMAT_VERSION = 1
CONTROL_MODES = (
    "joint_delta",
    "joint_absolute",
    "ee_delta",
)  # == robokit.core.control.CONTROL_MODES (tested)
ACTIVATIONS = ("relu", "tanh", "elu")
OUTPUTS = ("tanh", "clip")
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")  # safetensors dtype names accepted for weights

# Sizes a policy file may declare. Far above any robokit policy (obs 21, [64, 64], 3 actions), far below
# what would exhaust memory: the spec is checked against these before the file's tensors are read.
MAX_OBS_DIM = 65_536  # flattened observation, all keys
MAX_OBS_RANK = 4
MAX_ACTION_DIM = 256
MAX_HIDDEN_SIZE = 4096  # units per hidden layer
MAX_HIDDEN_LAYERS = 16
MAX_PARAMETERS = 1 << 24  # weights + biases (64 MB as float32)
CONTROL_HZ_RANGE = (1.0, 1000.0)
FLOAT32_SAFE = 1e30  # numbers that become float32 (stats, bounds, weights' worst-case outputs) stay below
UNBOUNDED_OBS = 1e4  # assumed |observation| when neither normalisation nor finite bounds limit it


ROBOT_NAME = re.compile(r"[a-z0-9_]{1,64}")  # what a robot name may be (known or not)


def escape_controls(text: str, keep: str = "") -> str:
    """``text`` with every non-printable character (C0/C1 controls such as ESC, CR, LF and tab; Unicode
    format characters such as bidi overrides; line/paragraph separators) except those in ``keep``
    replaced by its Python escape (``\\x1b``, ``\\r``, ``\\u202e``), so untrusted text cannot drive a
    terminal. Idempotent."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in text)


class PolicyFileError(ValueError):
    """A policy file that cannot be used: missing, unreadable, truncated, corrupted, an invalid spec, or
    a wrong format version. The message is one line, with control characters escaped (it may quote a
    file name or spec text)."""

    _keep = ""  # control characters a subclass's message may keep (a multi-line report keeps "\n")

    def __init__(self, message: object = "") -> None:
        super().__init__(escape_controls(str(message), self._keep))


def robokit_version() -> str:
    """The installed robokit's version, or "unknown" when running from a source tree."""
    try:
        from importlib.metadata import version

        return version("robokit")
    except Exception:  # not installed
        return "unknown"


def _short(value: Any, n: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."


def _fail(where: str, problem: str) -> NoReturn:
    raise PolicyFileError(f"invalid spec: {where}: {problem}")


@dataclass(frozen=True)
class NetworkSpec:
    """MLP: ``hidden`` layer sizes, hidden ``activation``, ``output`` squashing (tanh or clip)."""

    hidden: tuple[int, ...]
    activation: str
    output: str


@dataclass(frozen=True)
class ObsNorm:
    """Per-key observation stats: ``clip((x - mean) / sqrt(var + epsilon), -clip, clip)``."""

    mean: dict[str, tuple[float, ...]]
    var: dict[str, tuple[float, ...]]
    clip: float
    epsilon: float


@dataclass(frozen=True)
class SafetyBlock:
    """The safety settings the policy was trained under (joint units; metres)."""

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    max_target_step: float
    floor_z_m: float


@dataclass(frozen=True)
class PolicySpec:
    """A validated spec. ``raw`` is the JSON object it came from (what ``Policy.spec`` holds)."""

    format_version: int
    robot: str
    env_id: str | None
    control_mode: str
    control_hz: float
    action_dim: int
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]
    obs_keys: tuple[str, ...]
    obs_shapes: dict[str, tuple[int, ...]]
    obs_norm: ObsNorm | None
    network: NetworkSpec
    safety: SafetyBlock | None
    distance_threshold_m: float | None
    gripper_actuated: bool
    sha256: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def obs_sizes(self) -> list[int]:
        """Flattened size of each key in ``obs_keys`` order."""
        return [math.prod(self.obs_shapes[k]) for k in self.obs_keys]

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


# ---- field readers: each returns a checked value or raises PolicyFileError ---------------------------

_MISSING = object()


def _get(d: Mapping, key: str, where: str, required: bool) -> Any:
    value = d.get(key, _MISSING)
    if value is _MISSING and required:
        _fail(where, "missing")
    return value


def _int(d: Mapping, key: str, where: str, lo: int, hi: int, required: bool = True) -> int | None:
    value = _get(d, key, where, required)
    if value is _MISSING or (value is None and not required):
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(where, f"want an integer, got {_short(value)}")
    if not lo <= value <= hi:
        _fail(where, f"{value} is outside [{lo}, {hi}]")
    return value


def _number(value: Any, where: str, lo: float, hi: float, lo_open: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        _fail(where, f"want a number, got {_short(value)}")
    x = float(value)
    if not math.isfinite(x):
        _fail(where, f"{value} is not finite")
    if x < lo or x > hi or (lo_open and x == lo):
        _fail(where, f"{x:g} is outside {'(' if lo_open else '['}{lo:g}, {hi:g}]")
    return x


def _num(
    d: Mapping, key: str, where: str, lo: float, hi: float, *, lo_open: bool = False, required: bool = True
):
    value = _get(d, key, where, required)
    if value is _MISSING or (value is None and not required):
        return None
    return _number(value, where, lo, hi, lo_open)


def _str(
    d: Mapping,
    key: str,
    where: str,
    required: bool = True,
    choices: tuple[str, ...] = (),
    *,
    nullable: bool = True,
) -> str | None:
    """An identifier: a non-empty printable string (no control or format characters), at most 200
    characters, one of ``choices`` if given. Optional fields may be absent, or null if ``nullable``."""
    value = _get(d, key, where, required)
    if value is _MISSING or (value is None and not required and nullable):
        return None
    if not isinstance(value, str) or not value or len(value) > 200:
        _fail(where, f"want a non-empty string (at most 200 characters), got {_short(value)}")
    if not value.isprintable():
        _fail(where, f"{_short(value)} holds control characters")
    if choices and value not in choices:
        _fail(where, f"{value!r} is not one of {', '.join(choices)}")
    return value


def _is_name(value: Any) -> bool:
    """A non-empty printable string of at most 200 characters (an observation key, a layout name)."""
    return isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable()


def _obj(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        _fail(where, f"want a JSON object, got {type(value).__name__} {_short(value)}")
    return value


def _floats(value: Any, where: str, n: int, *, finite: bool = True, bound: float = FLOAT32_SAFE) -> tuple:
    """A list of ``n`` numbers, each finite with |x| <= bound (or, if not ``finite``, any but NaN)."""
    if not isinstance(value, list):
        _fail(where, f"want a list of {n} numbers, got {_short(value)}")
    if len(value) != n:
        _fail(where, f"has {len(value)} values, want {n}")
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            _fail(f"{where}[{i}]", f"want a number, got {_short(v)}")
        x = float(v)
        if math.isnan(x) or (finite and not math.isfinite(x)):
            _fail(f"{where}[{i}]", f"{v} is not finite")
        if math.isfinite(x) and abs(x) > bound:
            _fail(f"{where}[{i}]", f"{x:g} is beyond +-{bound:g}")
        out.append(x)
    return tuple(out)


def _low_high(low: tuple, high: tuple, where: str, strict: bool) -> None:
    for i, (lo, hi) in enumerate(zip(low, high)):
        if lo > hi or (strict and lo == hi):
            _fail(where, f"low[{i}] = {lo:g} is not {'below' if strict else 'at most'} high[{i}] = {hi:g}")


# ---- the spec's parts ---------------------------------------------------------------------------------


def _obs(spec: dict) -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
    keys = _get(spec, "obs_keys", "obs_keys", True)
    if not isinstance(keys, list) or not keys or not all(_is_name(k) for k in keys):
        _fail("obs_keys", f"want a non-empty list of printable names, got {_short(keys)}")
    if len(set(keys)) != len(keys):
        _fail("obs_keys", f"names repeat: {_short(keys)}")
    spaces = _obj(_get(spec, "obs_spaces", "obs_spaces", True), "obs_spaces")
    shapes: dict[str, tuple[int, ...]] = {}
    for key, space in spaces.items():
        if not _is_name(key):
            _fail("obs_spaces", f"key {_short(key)} is not a printable name")
        where = f"obs_spaces.{key}"
        space = _obj(space, where)
        shape = space.get("shape", _MISSING)
        if shape is _MISSING:
            _fail(f"{where}.shape", "missing")
        ok = isinstance(shape, list) and 1 <= len(shape) <= MAX_OBS_RANK
        if not ok or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
            _fail(f"{where}.shape", f"want 1 to {MAX_OBS_RANK} positive integers, got {_short(shape)}")
        if math.prod(shape) > MAX_OBS_DIM:
            _fail(f"{where}.shape", f"{shape} has more than {MAX_OBS_DIM} elements")
        shapes[key] = tuple(shape)
        n = math.prod(shape)
        bounds = [_floats(space[b], f"{where}.{b}", n, finite=False) for b in ("low", "high") if b in space]
        if len(bounds) == 2:
            _low_high(*bounds, where, strict=False)
    for key in keys:
        if key not in shapes:
            _fail("obs_keys", f"{key!r} has no entry in obs_spaces")
    if sum(math.prod(shapes[k]) for k in keys) > MAX_OBS_DIM:
        _fail("obs_spaces", f"the observation has more than {MAX_OBS_DIM} elements")
    return tuple(keys), shapes


def _action_space(spec: dict, dim: int) -> tuple[tuple, tuple]:
    space = _obj(_get(spec, "action_space", "action_space", True), "action_space")
    low = _floats(_get(space, "low", "action_space.low", True), "action_space.low", dim)
    high = _floats(_get(space, "high", "action_space.high", True), "action_space.high", dim)
    for part, values in (("low", low), ("high", high)):
        for i, v in enumerate(values):
            if not -1.0 <= v <= 1.0:  # robokit's controllers take actions in [-1, 1] (the envs' Box)
                _fail(f"action_space.{part}[{i}]", f"{v:g} is outside [-1, 1], the controllers' action range")
    _low_high(low, high, "action_space", strict=True)
    return low, high


def _network(spec: dict, obs_dim: int, action_dim: int) -> NetworkSpec:
    net = _obj(_get(spec, "network", "network", True), "network")
    hidden = _get(net, "hidden", "network.hidden", True)
    if not isinstance(hidden, list) or len(hidden) > MAX_HIDDEN_LAYERS:
        _fail(
            "network.hidden", f"want a list of at most {MAX_HIDDEN_LAYERS} layer sizes, got {_short(hidden)}"
        )
    for i, h in enumerate(hidden):
        if not isinstance(h, int) or isinstance(h, bool) or not 1 <= h <= MAX_HIDDEN_SIZE:
            _fail(f"network.hidden[{i}]", f"want an integer in [1, {MAX_HIDDEN_SIZE}], got {_short(h)}")
    activation = _str(net, "activation", "network.activation", False, ACTIVATIONS, nullable=False) or "relu"
    output = _str(net, "output", "network.output", False, OUTPUTS, nullable=False) or "tanh"
    sizes = [obs_dim, *hidden, action_dim]
    params = sum((sizes[i] + 1) * sizes[i + 1] for i in range(len(sizes) - 1))
    if params > MAX_PARAMETERS:
        _fail("network", f"{sizes} has {params} parameters, more than {MAX_PARAMETERS}")
    return NetworkSpec(tuple(hidden), activation, output)


def _obs_norm(spec: dict, keys: tuple[str, ...], shapes: dict[str, tuple[int, ...]]) -> ObsNorm | None:
    norm = spec.get("obs_norm")
    if norm is None:
        return None
    norm = _obj(norm, "obs_norm")
    stats = {}
    for part in ("mean", "var"):
        per_key = _obj(_get(norm, part, f"obs_norm.{part}", True), f"obs_norm.{part}")
        for key in keys:
            if key not in per_key:
                _fail(f"obs_norm.{part}", f"no stats for observation {key!r}")
        stats[part] = {k: _floats(per_key[k], f"obs_norm.{part}.{k}", math.prod(shapes[k])) for k in keys}
    clip = _num(norm, "clip", "obs_norm.clip", 0.0, FLOAT32_SAFE, lo_open=True)
    eps = _num(norm, "epsilon", "obs_norm.epsilon", 0.0, 1.0, required=False)
    eps = 1e-8 if eps is None else eps
    for key in keys:
        for i, v in enumerate(stats["var"][key]):
            if v < 0.0:
                _fail(f"obs_norm.var.{key}[{i}]", f"{v:g} is negative")
            if v + eps < 1e-30:  # 1 / sqrt(var + eps) must stay a finite float32
                _fail(f"obs_norm.var.{key}[{i}]", f"var + epsilon = {v + eps:g} is too small to divide by")
    return ObsNorm(stats["mean"], stats["var"], clip, eps)


def _safety(spec: dict, joints: int | None) -> SafetyBlock | None:
    """The safety block; ``joints``: the robot's joint count if the robot is known (lengths must match)."""
    block = spec.get("safety")
    if block is None:
        return None
    block = _obj(block, "safety")
    lower = _get(block, "lower", "safety.lower", True)
    n = len(lower) if isinstance(lower, list) else -1
    if not 1 <= n <= MAX_ACTION_DIM:
        _fail("safety.lower", f"want a list of 1 to {MAX_ACTION_DIM} joint limits, got {_short(lower)}")
    if joints is not None and n != joints:
        _fail("safety.lower", f"has {n} joint limits, robot {spec['robot']!r} has {joints} joints")
    lower_t = _floats(lower, "safety.lower", n, bound=1e6)
    upper_t = _floats(_get(block, "upper", "safety.upper", True), "safety.upper", n, bound=1e6)
    for i, (lo, hi) in enumerate(zip(lower_t, upper_t)):
        if not lo < hi:
            _fail("safety", f"lower[{i}] = {lo:g} is not below upper[{i}] = {hi:g}")
    step = _num(block, "max_target_step", "safety.max_target_step", 0.0, 1e6, lo_open=True)
    floor = _num(block, "floor_z_m", "safety.floor_z_m", -1e6, 1e6)
    return SafetyBlock(lower_t, upper_t, step, floor)


def _provenance(spec: dict) -> None:
    """Fields only shown (info, eval.json): checked for type so nothing downstream trips on them."""
    for key in ("robokit_version", "algo"):
        _str(spec, key, key, required=False)
    _int(spec, "training_steps", "training_steps", 0, 1 << 62, required=False)
    _int(spec, "seed", "seed", -(1 << 63), 1 << 64, required=False)
    _num(spec, "train_time_s", "train_time_s", 0.0, 1e12, required=False)
    if spec.get("hyperparameters") is not None:
        _obj(spec["hyperparameters"], "hyperparameters")
    if spec.get("gripper_actuated") not in (None, True, False):
        _fail("gripper_actuated", f"want true or false, got {_short(spec['gripper_actuated'])}")


def _layout(spec: dict, shapes: dict[str, tuple[int, ...]]) -> None:
    layout = spec.get("obs_layout")
    if layout is None:
        return
    size = math.prod(shapes["observation"]) if "observation" in shapes else MAX_OBS_DIM
    for name, span in _obj(layout, "obs_layout").items():
        if not _is_name(name):
            _fail("obs_layout", f"key {_short(name)} is not a printable name")
        ok = isinstance(span, list) and len(span) == 2
        ok = ok and all(isinstance(v, int) and not isinstance(v, bool) for v in span)
        if not ok or not 0 <= span[0] < span[1] <= size:
            _fail(
                f"obs_layout.{name}", f"want [start, end] with 0 <= start < end <= {size}, got {_short(span)}"
            )


def _robot(spec: dict) -> str:
    robot = _str(spec, "robot", "robot")
    if not ROBOT_NAME.fullmatch(robot):
        _fail("robot", f"{_short(robot)} is not a robot name (lowercase letters, digits, _)")
    return robot


def _joint_count(robot: str) -> int | None:
    """Joints of a robot robokit knows (``robokit.robots``), else None (an unknown robot is not an error
    here: ``check_compatible`` refuses it against any real target)."""
    from robokit.robots.spec import get_robot, list_robots

    return len(get_robot(robot).joint_names) if robot in list_robots() else None


def _all_finite(spec: dict) -> None:
    """Every number anywhere in the spec (nested lists/objects, ``hyperparameters`` and unknown keys
    included) is finite. Iterative: a deeply nested spec cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [("", spec)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            _fail(where, f"{value} is not finite")
        elif isinstance(value, dict):
            stack.extend(reversed([(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{where}[{i}]", v) for i, v in enumerate(value)]))


def _digest(spec: dict, required: bool) -> str | None:
    value = spec.get("sha256")
    if value is None:
        if required:
            _fail("sha256", "missing: the file's integrity cannot be checked, so it is refused")
        return None
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        _fail("sha256", f"want 64 lowercase hex digits, got {_short(value)}")
    return value


# ---- the validator ----------------------------------------------------------------------------------


def validate_spec(
    spec: Any, tensors: Mapping[str, Any] | None = None, *, require_digest: bool = True
) -> PolicySpec:
    """Validate a parsed spec (and, if given, the weight tensors against it); return it typed.

    ``require_digest``: a missing ``sha256`` is refused (files); an in-memory policy has none yet.
    Raises PolicyFileError (one line) on the first problem found. Allocates nothing sized by the spec.
    """
    spec = _obj(spec, "the spec")
    version = spec.get("format_version")
    if type(version) is not int:
        _fail("format_version", f"want the integer {FORMAT_VERSION}, got {_short(version)}")
    if version != FORMAT_VERSION:
        raise PolicyFileError(
            f"policy format version {_short(version)}; this robokit ({robokit_version()}) reads version "
            f"{FORMAT_VERSION}. Re-export the policy or use a matching robokit."
        )
    robot = _robot(spec)
    env_id = _str(spec, "env_id", "env_id", required=False)
    mode = _str(spec, "control_mode", "control_mode", choices=CONTROL_MODES)
    hz = _num(spec, "control_hz", "control_hz", *CONTROL_HZ_RANGE)
    action_dim = _int(spec, "action_dim", "action_dim", 1, MAX_ACTION_DIM)
    keys, shapes = _obs(spec)
    low, high = _action_space(spec, action_dim)
    network = _network(spec, sum(math.prod(shapes[k]) for k in keys), action_dim)
    threshold = _num(
        spec, "distance_threshold_m", "distance_threshold_m", 0.0, 100.0, lo_open=True, required=False
    )
    _layout(spec, shapes)
    _provenance(spec)
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
        obs_shapes=shapes,
        obs_norm=_obs_norm(spec, keys, shapes),
        network=network,
        safety=_safety(spec, _joint_count(robot)),
        distance_threshold_m=threshold,
        gripper_actuated=bool(spec.get("gripper_actuated", False)),
        sha256=_digest(spec, require_digest),
        raw=spec,
    )
    _all_finite(spec)  # what the typed fields above do not cover: hyperparameters, unknown keys
    if tensors is not None:
        check_weights(typed, tensors)
    return typed


def check_tensor_header(spec: PolicySpec, header: Mapping[str, tuple[str, list[int]]]) -> None:
    """Compare the file's tensors (name -> (safetensors dtype, shape)) with what ``spec`` needs, before
    any tensor data is read. Raises PolicyFileError."""
    want = spec.tensor_shapes()
    if set(header) != set(want):
        missing, extra = sorted(set(want) - set(header)), sorted(set(header) - set(want))
        raise PolicyFileError(
            f"weights do not match the spec's network {spec.layer_sizes}: "
            f"missing {_short(missing, 120)}, unexpected {_short(extra, 120)}"
        )
    for name, (dtype, shape) in header.items():
        if dtype not in FLOAT_DTYPES:
            raise PolicyFileError(
                f"tensor {name} has dtype {dtype}; weights are floating point ({FLOAT_DTYPES})"
            )
        if tuple(shape) != want[name]:
            raise PolicyFileError(f"tensor {name} has shape {tuple(shape)}, the spec needs {want[name]}")


def check_weights(spec: PolicySpec, tensors: Mapping[str, Any]) -> None:
    """Tensors (torch) of the right names, dtypes and shapes, all finite, and bounded so that the network
    cannot overflow float32 for any observation inside its normalisation clip (or its observation
    space's bounds). Raises PolicyFileError."""
    import torch

    names = {torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32", torch.float64: "F64"}
    check_tensor_header(
        spec, {k: (names.get(t.dtype, str(t.dtype)), list(t.shape)) for k, t in tensors.items()}
    )
    for name, t in tensors.items():
        if not bool(torch.isfinite(t).all()):
            raise PolicyFileError(f"tensor {name} holds NaN or infinite values")
    bound = _input_bound(spec)
    for i in range(len(spec.layer_sizes) - 1):
        w, b = tensors[f"net.{2 * i}.weight"].double(), tensors[f"net.{2 * i}.bias"].double()
        # |W x + b|_inf <= |W|_inf |x|_inf + |b|_inf; relu, tanh and elu never increase |x|
        bound = float(w.abs().sum(dim=1).max()) * bound + float(b.abs().max())
    if not bound <= FLOAT32_SAFE:
        raise PolicyFileError(
            f"the weights are so large that the network's output can overflow float32 (bound {bound:.3g})"
        )


def _input_bound(spec: PolicySpec) -> float:
    """Largest |network input|: the normalisation clip, else the observation bounds, else UNBOUNDED_OBS."""
    if spec.obs_norm is not None:
        return spec.obs_norm.clip
    bounds = []
    for key in spec.obs_keys:
        space = spec.raw["obs_spaces"][key]
        bounds += [abs(float(v)) for b in ("low", "high") for v in space.get(b, [math.inf])]
    finite = bool(bounds) and all(math.isfinite(v) for v in bounds)
    return max(bounds) if finite else UNBOUNDED_OBS
