"""The policy spec's limits, its error type, and the field readers the validator is built from.

Each reader returns a checked value or raises ``PolicyFileError`` with a one-line message naming the
field (``invalid spec: <where>: <problem>``). Nothing here allocates anything sized by the spec.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, NoReturn

FORMAT_VERSION = 2  # what this robokit writes
READ_VERSIONS = (1, 2)  # what it reads (version 1: ``gripper_actuated`` optional, default false)
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


def jsonable(x: Any) -> Any:
    """Tuples -> lists, numpy -> python, so specs compare equal after a JSON round trip."""
    return json.loads(json.dumps(x, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def short(value: Any, n: int = 60) -> str:
    """``repr(value)``, cut to ``n`` characters."""
    text = repr(value)
    return text if len(text) <= n else text[: n - 3] + "..."


def fail(where: str, problem: str) -> NoReturn:
    """Raise the one-line PolicyFileError for field ``where``."""
    raise PolicyFileError(f"invalid spec: {where}: {problem}")


MISSING = object()


def get(d: Mapping, key: str, where: str, required: bool) -> Any:
    """``d[key]``, or MISSING if absent and not ``required``."""
    value = d.get(key, MISSING)
    if value is MISSING and required:
        fail(where, "missing")
    return value


def integer(d: Mapping, key: str, where: str, lo: int, hi: int, required: bool = True) -> int | None:
    """An integer (not a bool) in [lo, hi]; None if optional and absent or null."""
    value = get(d, key, where, required)
    if value is MISSING or (value is None and not required):
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        fail(where, f"want an integer, got {short(value)}")
    if not lo <= value <= hi:
        fail(where, f"{value} is outside [{lo}, {hi}]")
    return value


def number(value: Any, where: str, lo: float, hi: float, lo_open: bool = False) -> float:
    """A finite number (not a bool) in [lo, hi] (or (lo, hi] if ``lo_open``) as a float."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        fail(where, f"want a number, got {short(value)}")
    x = float(value)
    if not math.isfinite(x):
        fail(where, f"{value} is not finite")
    if x < lo or x > hi or (lo_open and x == lo):
        fail(where, f"{x:g} is outside {'(' if lo_open else '['}{lo:g}, {hi:g}]")
    return x


def num(
    d: Mapping, key: str, where: str, lo: float, hi: float, *, lo_open: bool = False, required: bool = True
) -> float | None:
    """``number`` read from ``d[key]``; None if optional and absent or null."""
    value = get(d, key, where, required)
    if value is MISSING or (value is None and not required):
        return None
    return number(value, where, lo, hi, lo_open)


def string(
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
    value = get(d, key, where, required)
    if value is MISSING or (value is None and not required and nullable):
        return None
    if not isinstance(value, str) or not value or len(value) > 200:
        fail(where, f"want a non-empty string (at most 200 characters), got {short(value)}")
    if not value.isprintable():
        fail(where, f"{short(value)} holds control characters")
    if choices and value not in choices:
        fail(where, f"{value!r} is not one of {', '.join(choices)}")
    return value


def is_name(value: Any) -> bool:
    """A non-empty printable string of at most 200 characters (an observation key, a layout name)."""
    return isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable()


def obj(value: Any, where: str) -> dict:
    """``value`` if it is a JSON object (dict)."""
    if not isinstance(value, dict):
        fail(where, f"want a JSON object, got {type(value).__name__} {short(value)}")
    return value


def floats(value: Any, where: str, n: int, *, finite: bool = True, bound: float = FLOAT32_SAFE) -> tuple:
    """A list of ``n`` numbers, each finite with |x| <= bound (or, if not ``finite``, any but NaN)."""
    if not isinstance(value, list):
        fail(where, f"want a list of {n} numbers, got {short(value)}")
    if len(value) != n:
        fail(where, f"has {len(value)} values, want {n}")
    out = []
    for i, v in enumerate(value):
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            fail(f"{where}[{i}]", f"want a number, got {short(v)}")
        x = float(v)
        if math.isnan(x) or (finite and not math.isfinite(x)):
            fail(f"{where}[{i}]", f"{v} is not finite")
        if math.isfinite(x) and abs(x) > bound:
            fail(f"{where}[{i}]", f"{x:g} is beyond +-{bound:g}")
        out.append(x)
    return tuple(out)


def low_high(
    low: tuple, high: tuple, where: str, strict: bool, names: tuple[str, str] = ("low", "high")
) -> None:
    """Each low[i] <= high[i] (< if ``strict``); ``names`` as the messages call the two lists."""
    for i, (lo, hi) in enumerate(zip(low, high)):
        if lo > hi or (strict and lo == hi):
            below = "below" if strict else "at most"
            fail(where, f"{names[0]}[{i}] = {lo:g} is not {below} {names[1]}[{i}] = {hi:g}")


def all_finite(spec: dict) -> None:
    """Every number anywhere in the spec (nested lists/objects, ``hyperparameters`` and unknown keys
    included) is finite. Iterative: a deeply nested spec cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [("", spec)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            fail(where, f"{value} is not finite")
        elif isinstance(value, dict):
            stack.extend(reversed([(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{where}[{i}]", v) for i, v in enumerate(value)]))


def digest(spec: dict, required: bool) -> str | None:
    """The ``sha256`` field: 64 lowercase hex digits; None if absent and not ``required``."""
    value = spec.get("sha256")
    if value is None:
        if required:
            fail("sha256", "missing: the file's integrity cannot be checked, so it is refused")
        return None
    if not isinstance(value, str) or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        fail("sha256", f"want 64 lowercase hex digits, got {short(value)}")
    return value


def format_version(spec: dict) -> int:
    """The spec's ``format_version``, one this robokit reads; PolicyFileError otherwise."""
    version = spec.get("format_version")
    if type(version) is not int:
        fail("format_version", f"want the integer {_versions()}, got {short(version)}")
    if version not in READ_VERSIONS:
        raise PolicyFileError(
            f"policy format version {short(version)}; this robokit ({robokit_version()}) reads version "
            f"{_versions()}. Re-export the policy or use a matching robokit."
        )
    return version


def _versions() -> str:
    return " or ".join(str(v) for v in READ_VERSIONS)
