"""Policy files: round trip, refusal of broken/mismatched files, no unpickling, no SB3 at load."""

from __future__ import annotations

import json
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import robokit.envs  # noqa: F401
from robokit.policies import (
    FORMAT_VERSION,
    PolicyFileError,
    PolicyMismatchError,
    check_compatible,
    load_policy,
    read_spec,
)
from robokit.policies.policy_file import METADATA_KEY


def _random_obs(env: gym.Env, n: int, seed: int = 0) -> list[dict]:
    env.reset(seed=seed)
    out = []
    rng = np.random.default_rng(seed)
    for _ in range(n):
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape))
        out.append(obs)
    return out


def test_round_trip_keeps_spec_and_actions(scripted_file: Path, tmp_path: Path) -> None:
    policy = load_policy(scripted_file)
    spec = policy.spec
    assert spec["format_version"] == FORMAT_VERSION
    assert spec["robot"] == "servo_arm" and spec["control_mode"] == "ee_delta"
    assert spec["control_hz"] == 25.0 and spec["action_dim"] == 3
    assert spec["obs_layout"] == {"ee_pos_m": [0, 3], "q": [3, 9], "last_action": [9, 12]}
    assert spec["safety"]["floor_z_m"] == pytest.approx(0.01)
    assert len(spec["safety"]["lower"]) == 6
    assert read_spec(scripted_file) == spec
    env = gym.make("robokit/ServoArmReach-v0")
    for obs in _random_obs(env, 20):
        a = policy.act(obs)
        assert a.shape == (3,) and a.dtype == np.float32
        assert np.all(np.abs(a) <= 1.0)
        expected = np.clip((obs["desired_goal"] - obs["achieved_goal"]) / 0.025, -1, 1)
        np.testing.assert_allclose(a, expected, atol=1e-5)
    # saved again, loaded again: identical weights and actions
    again = tmp_path / "again.safetensors"
    policy.save(again)
    reloaded = load_policy(again)
    for k, v in policy.weight_tensors().items():
        assert torch.equal(v, reloaded.weight_tensors()[k])
    env.close()


def test_batched_act_matches_single(scripted_file: Path) -> None:
    policy = load_policy(scripted_file)
    env = gym.make("robokit/ServoArmReach-v0")
    obs = _random_obs(env, 8, seed=3)
    batch = {k: np.stack([o[k] for o in obs]) for k in obs[0]}
    np.testing.assert_allclose(policy.act(batch), np.stack([policy.act(o) for o in obs]), atol=1e-6)
    env.close()


def test_truncated_file_is_refused(scripted_file: Path, tmp_path: Path) -> None:
    data = scripted_file.read_bytes()
    for cut in (4, 20, len(data) // 2, len(data) - 3):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(PolicyFileError, match="truncated or corrupted|not a readable"):
            load_policy(bad)


def test_corrupted_weights_are_refused(scripted_file: Path, tmp_path: Path) -> None:
    data = bytearray(scripted_file.read_bytes())
    data[-5] ^= 0xFF  # inside the tensor data: the header still parses
    bad = tmp_path / "flipped.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(PolicyFileError, match="sha256"):
        load_policy(bad)


def test_corrupted_header_is_refused(scripted_file: Path, tmp_path: Path) -> None:
    data = bytearray(scripted_file.read_bytes())
    (n,) = struct.unpack("<Q", data[:8])
    for i, pos in enumerate((9, 8 + n // 3, 8 + n // 2, 8 + n - 20)):
        broken = bytearray(data)
        broken[pos] = ord("}") if broken[pos] != ord("}") else ord("x")
        bad = tmp_path / f"header{i}.safetensors"
        bad.write_bytes(bytes(broken))
        with pytest.raises(PolicyFileError):
            load_policy(bad)
    # a changed safety value (valid JSON, valid spec) is caught by the checksum
    text = bytes(data).decode("latin-1")
    edited = tmp_path / "floor.safetensors"
    assert '\\"floor_z_m\\": 0.01' in text
    edited.write_bytes(text.replace('\\"floor_z_m\\": 0.01', '\\"floor_z_m\\": 0.09').encode("latin-1"))
    with pytest.raises(PolicyFileError, match="sha256"):
        load_policy(edited)


def _rewrite(src: Path, dst: Path, spec_edit) -> None:
    policy = load_policy(src)
    spec = spec_edit(dict(policy.spec))
    meta = {METADATA_KEY: spec if isinstance(spec, str) else json.dumps(spec)} if spec is not None else {}
    save_file(policy.weight_tensors(), str(dst), metadata=meta)


def test_wrong_version_missing_spec_and_bad_json_are_refused(scripted_file: Path, tmp_path: Path) -> None:
    p = tmp_path / "v99.safetensors"
    _rewrite(scripted_file, p, lambda s: {**s, "format_version": 99})
    with pytest.raises(PolicyFileError, match="format version 99"):
        load_policy(p)
    p = tmp_path / "nospec.safetensors"
    _rewrite(scripted_file, p, lambda s: None)
    with pytest.raises(PolicyFileError, match="without a robokit spec"):
        load_policy(p)
    p = tmp_path / "badjson.safetensors"
    _rewrite(scripted_file, p, lambda s: "{not json")
    with pytest.raises(PolicyFileError, match="not valid JSON"):
        read_spec(p)
    p = tmp_path / "shape.safetensors"
    _rewrite(scripted_file, p, lambda s: {**s, "network": {**s["network"], "hidden": [8]}, "sha256": None})
    with pytest.raises(PolicyFileError, match="do not match the spec's network"):
        load_policy(p)
    with pytest.raises(PolicyFileError, match="no such policy file"):
        load_policy(tmp_path / "missing.safetensors")


def test_mismatched_env_is_refused(scripted_file: Path) -> None:
    spec = read_spec(scripted_file)
    check_compatible(spec, gym.make("robokit/ServoArmReach-v0"))  # fits: no error
    with pytest.raises(PolicyMismatchError, match="robot: policy has 'servo_arm', target has 'panda'"):
        check_compatible(spec, gym.make("robokit/PandaReach-v0"))
    with pytest.raises(PolicyMismatchError, match="control_mode: policy has 'ee_delta'.*'joint_delta'"):
        check_compatible(spec, gym.make("robokit/ServoArmReachJoints-v0"))
    with pytest.raises(PolicyMismatchError, match="observation 'observation': policy expects shape"):
        check_compatible(spec, obs_shapes={"observation": [99], "achieved_goal": [3], "desired_goal": [3]})
    changed = {**spec["safety"], "floor_z_m": 0.5}
    with pytest.raises(PolicyMismatchError, match="safety settings differ"):
        check_compatible(spec, gym.make("robokit/ServoArmReach-v0"), safety=changed)


def test_loading_never_unpickles(scripted_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a, **k):
        raise AssertionError("unpickling during load")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    assert load_policy(scripted_file).spec["robot"] == "servo_arm"


def test_loading_imports_no_sb3_and_no_envs(scripted_file: Path) -> None:
    code = (
        "import sys, numpy as np\n"
        "from robokit.policies import load_policy\n"
        f"p = load_policy({str(scripted_file)!r})\n"
        "obs = {k: np.zeros(s['shape'], np.float32) for k, s in p.spec['obs_spaces'].items()}\n"
        "p.act(obs)\n"
        "bad = [m for m in ('stable_baselines3', 'gymnasium', 'pybullet', 'matplotlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
