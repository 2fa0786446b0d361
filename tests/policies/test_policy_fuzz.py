"""Fuzz of the policy-file loader (issue 9, items 8-9): random specs, JSON mutations and byte mutations of a
good file. Each file must either load to a working Policy (finite actions of the right shape) or be refused
with a one-line PolicyFileError; never another exception, a hang, or a large allocation. ``robokit info``
must answer every file with exit code 0 or 2.

Seeded (``random.Random``), no extra dependencies; about 15 s on one shared core.
"""

from __future__ import annotations

import copy
import json
import math
import random
import resource
import struct
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save

from robokit.cli import info as cli_info
from robokit.policies import PolicyFileError, load_policy, read_spec
from robokit.policies.policy_file import METADATA_KEY, content_digest

SEED = 20261130
NASTY: list[Any] = [
    None, True, False, 0, 1, -1, 3, 2**70, -(2**70), 0.5, -1e308, 1e308, 1e-320, math.nan, math.inf, -math.inf,
    "", "x", "[bold]x[/bold]", "[/oops]", [], {}, [-12], [0], [1, 2, 3], [200000, 200000], [4096] * 17,
    [math.nan], [1.5], ["64"], {"a": 1}, {"shape": [-1]}, [[1]],
    "\x1b[2J\x1b[31mpwned\r", "a\nb", "\u202eevil", "c1\x85\x9b", "../../etc/passwd", 100.0, {"x": math.nan},
]  # fmt: skip


LOAD_ONLY = (
    "recorded sha256",
    "holds NaN",
    "overflow float32",
)  # found in tensor data, which read_spec skips


def _file_bytes(spec: Any, tensors: dict[str, torch.Tensor], digest: bool = True) -> bytes:
    if digest and isinstance(spec, dict):
        spec = {**spec, "sha256": content_digest(spec, tensors)}
    text = spec if isinstance(spec, str) else json.dumps(spec)
    return save(tensors, metadata={METADATA_KEY: text})


def _observation(policy: Any, rng: random.Random, kind: str) -> dict[str, np.ndarray]:
    """Zeros, or uniform inside the recorded bounds (limited to +-10), per observation key."""
    obs = {}
    for key in policy.obs_keys:
        space = policy.spec["obs_spaces"][key]
        shape = tuple(space["shape"])
        if kind == "zeros":
            obs[key] = np.zeros(shape, np.float32)
            continue
        low = np.clip(np.asarray(space.get("low", [-10.0]), np.float64), -10, 10)
        high = np.clip(np.asarray(space.get("high", [10.0]), np.float64), -10, 10)
        u = np.random.default_rng(rng.randrange(2**32)).uniform(size=math.prod(shape))
        obs[key] = (low + u * (high - low)).reshape(shape).astype(np.float32)
    return obs


def _check(path: Path, rng: random.Random, counts: Counter, capsys: pytest.CaptureFixture) -> None:
    """The property: a working Policy or a one-line PolicyFileError (and info answers 0 or 2, printing no
    control character but the newlines ending its lines)."""
    t0 = time.perf_counter()
    try:
        policy = load_policy(path)
    except PolicyFileError as exc:
        msg = str(exc)
        assert "\n" not in msg and msg.startswith(f"{path}: "), msg
        counts["refused"] += 1
        counts["refused: invalid spec" if "invalid spec" in msg else "refused: other"] += 1
        if not any(m in msg for m in LOAD_ONLY):  # what load refuses, read_spec never returns as good
            with pytest.raises(PolicyFileError):
                read_spec(path)
    else:
        counts["loaded"] += 1
        dim = policy.spec["action_dim"]
        for kind in ("zeros", "uniform"):
            a = policy.act(_observation(policy, rng, kind))
            assert a.shape == (dim,) and a.dtype == np.float32 and np.all(np.isfinite(a)), a
        assert read_spec(path) == policy.spec
    code = cli_info.main([str(path)] if rng.random() < 0.5 else [str(path), "--json"])
    assert code in (0, 2)
    printed = "".join(capsys.readouterr())
    assert all(c.isprintable() or c == "\n" for c in printed), repr(printed)[:300]
    assert time.perf_counter() - t0 < 5.0, f"{path} took {time.perf_counter() - t0:.1f} s"


# ---- mutations --------------------------------------------------------------------------------------------


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key/index path into a JSON tree."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:8]):
            out += _paths(v, (*prefix, i))
    return out


def _mutate_json(spec: dict, rng: random.Random) -> Any:
    """One to three edits at random places: delete, replace by a nasty value, scale a number, or extend."""
    spec = copy.deepcopy(spec)
    for _ in range(rng.randint(1, 3)):
        paths = _paths(spec)
        if not paths:
            break
        path = rng.choice(paths)
        parent = spec
        for p in path[:-1]:
            parent = parent[p]
        last, op = path[-1], rng.random()
        if op < 0.2:
            del parent[last]
        elif op < 0.7:
            parent[last] = copy.deepcopy(rng.choice(NASTY))
        elif op < 0.85 and isinstance(parent[last], (int, float)) and not isinstance(parent[last], bool):
            parent[last] = parent[last] * rng.choice([-1, 0, 1e6, 1e40, -1e-9])
        elif isinstance(parent[last], list):
            parent[last] = parent[last] + parent[last][:1] * rng.randint(1, 3)
        else:
            parent[last] = str(parent[last])
    return spec


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    (n,) = struct.unpack("<Q", data[:8])
    b = bytearray(data)
    op = rng.randrange(6)
    if op == 0:  # flip bytes anywhere
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif op == 1:  # flip bytes inside the JSON header
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(8, 8 + n)] = rng.randrange(256)
    elif op == 2:  # flip bytes inside the tensor data
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(8 + n, len(b))] ^= 0xFF
    elif op == 3:  # truncate
        return bytes(b[: rng.randrange(len(b))])
    elif op == 4:  # a lying header length
        b[:8] = struct.pack("<Q", rng.choice([0, 1, n - 1, n + 1, len(b), 2**40, 2**63]))
    else:  # trailing garbage
        return bytes(b) + rng.randbytes(rng.randint(1, 64))
    return bytes(b)


# ---- random specs from scratch ----------------------------------------------------------------------------


def _random_spec(rng: random.Random) -> tuple[dict, dict[str, torch.Tensor]]:
    """A plausible spec with random sizes, and tensors that usually fit it, then a few nasty edits."""
    keys = [f"k{i}" for i in range(rng.randint(1, 3))]
    shapes = {k: [rng.randint(1, 6) for _ in range(rng.randint(1, 2))] for k in keys}
    obs_dim = sum(math.prod(s) for s in shapes.values())
    dim = rng.randint(1, 6)
    hidden = [rng.randint(1, 32) for _ in range(rng.randint(0, 3))]
    spec: dict[str, Any] = {
        "format_version": 1,
        "robot": "servo_arm",
        "env_id": "robokit/ServoArmReach-v0",
        "control_mode": rng.choice(["ee_delta", "joint_delta", "joint_absolute"]),
        "control_hz": rng.choice([25.0, 50.0, 1.0, 1000.0]),
        "action_dim": dim,
        "action_space": {"low": [-1.0] * dim, "high": [1.0] * dim},
        "obs_keys": keys,
        "obs_spaces": {
            k: {"shape": s, "low": [-5.0] * math.prod(s), "high": [5.0] * math.prod(s)}
            for k, s in shapes.items()
        },
        "network": {"hidden": hidden, "activation": rng.choice(["relu", "tanh", "elu"]), "output": "tanh"},
        "obs_norm": None,
        "safety": {"lower": [-1.0] * 6, "upper": [1.0] * 6, "max_target_step": 0.2, "floor_z_m": 0.0},
    }
    if rng.random() < 0.5:
        spec["obs_norm"] = {
            "mean": {k: [rng.uniform(-1, 1) for _ in range(math.prod(s))] for k, s in shapes.items()},
            "var": {k: [rng.uniform(0, 2) for _ in range(math.prod(s))] for k, s in shapes.items()},
            "clip": 10.0,
            "epsilon": 1e-8,
        }
    sizes = [obs_dim, *hidden, dim]
    scale = rng.choice([0.1, 1.0, 1.0, 1e10, 1e20])
    gen = torch.Generator().manual_seed(rng.randrange(2**31))
    tensors = {}
    for i in range(len(sizes) - 1):
        tensors[f"net.{2 * i}.weight"] = torch.randn(sizes[i + 1], sizes[i], generator=gen) * scale
        tensors[f"net.{2 * i}.bias"] = torch.randn(sizes[i + 1], generator=gen)
    if rng.random() < 0.2:
        name = rng.choice(sorted(tensors))
        tensors[name].view(-1)[0] = rng.choice([math.nan, math.inf])
    if rng.random() < 0.1:
        tensors["extra"] = torch.zeros(2)
    if rng.random() < 0.5:
        spec = _mutate_json(spec, rng)
    return spec, tensors


# ---- the test ---------------------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


@pytest.mark.slow  # the default suite stays under 10 minutes; `pytest -m slow` runs it
def test_fuzzed_policy_files_load_or_are_refused_cleanly(
    scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    rng = random.Random(SEED)
    good = load_policy(scripted_file)
    good_spec, good_tensors = dict(good.spec), good.weight_tensors()
    good_bytes = scripted_file.read_bytes()
    rss0, t0 = _peak_rss_mb(), time.perf_counter()
    counts: Counter = Counter()
    for i in range(3000):
        kind = ("json", "json-no-digest", "bytes", "random")[i % 4]
        if kind == "json":
            data = _file_bytes(_mutate_json(good_spec, rng), good_tensors)
        elif kind == "json-no-digest":  # a mutation whose digest was not updated
            data = _file_bytes(_mutate_json(good_spec, rng), good_tensors, digest=False)
        elif kind == "bytes":
            data = _mutate_bytes(good_bytes, rng)
        else:
            spec, tensors = _random_spec(rng)
            data = _file_bytes(spec, tensors, digest=rng.random() < 0.9)
        path = tmp_path / f"fuzz-{i}.safetensors"
        path.write_bytes(data)
        _check(path, rng, counts, capsys)
        path.unlink()
    elapsed = time.perf_counter() - t0
    print(f"fuzz: {dict(counts)} in {elapsed:.1f} s, peak RSS +{_peak_rss_mb() - rss0:.0f} MB")
    # both outcomes are exercised, and many refusals come from the spec validator (not only the digest)
    assert counts["loaded"] >= 200 and counts["refused"] >= 1000, counts
    assert counts["refused: invalid spec"] >= 600, counts
    assert _peak_rss_mb() - rss0 < 200, "a fuzzed file caused a large allocation"
