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
from robokit.policies.policy_file import METADATA_KEY, content_digest


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


def _rewrite(src: Path, dst: Path, spec_edit, digest: bool = True, tensors=None) -> None:
    """Write ``dst`` with ``src``'s weights (or ``tensors``) and ``spec_edit(spec)`` as metadata; a dict
    spec gets a correct sha256 when ``digest``, so the test reaches the check it is about."""
    policy = load_policy(src)
    tensors = policy.weight_tensors() if tensors is None else tensors
    spec = spec_edit(dict(policy.spec))
    if digest and isinstance(spec, dict):
        spec["sha256"] = content_digest(spec, tensors)
    meta = {METADATA_KEY: spec if isinstance(spec, str) else json.dumps(spec)} if spec is not None else {}
    save_file(tensors, str(dst), metadata=meta)


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
    _rewrite(scripted_file, p, lambda s: {**s, "network": {**s["network"], "hidden": [8]}})
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


# ---- issue 9: a policy file is untrusted input (items 8, 9, 10) ---------------------------------------------


def _one_line_refusal(path: Path, fragment: str) -> None:
    """read_spec and load_policy both refuse ``path`` with one line naming the path and ``fragment``."""
    for read in (read_spec, load_policy):
        with pytest.raises(PolicyFileError) as exc:
            read(path)
        msg = str(exc.value)
        assert "\n" not in msg and msg.startswith(f"{path}: ") and fragment in msg, msg


@pytest.mark.parametrize("text", ["[1, 2, 3]", "null", '"spec"', "3", "[]"])
def test_a_spec_that_is_not_a_json_object_is_refused(scripted_file: Path, tmp_path: Path, text: str) -> None:
    path = tmp_path / "list.safetensors"
    _rewrite(scripted_file, path, lambda s: text)
    _one_line_refusal(path, "invalid spec: the spec: want a JSON object")


def _edit(path: tuple, value=None, delete: bool = False):
    """A spec edit setting (or deleting) the entry at a key path."""

    def edit(spec: dict) -> dict:
        spec = json.loads(json.dumps(spec))
        node = spec
        for key in path[:-1]:
            node = node[key]
        if delete:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return spec

    return edit


NAN, INF = float("nan"), float("inf")
INVALID_SPECS = [  # (key path, value or "DELETE", fragment of the message)
    (("obs_spaces", "observation", "shape"), [-12], "obs_spaces.observation.shape: want 1 to 4 positive"),
    (("obs_spaces", "observation", "shape"), [12.0], "obs_spaces.observation.shape"),
    (("obs_spaces", "observation", "shape"), [100000], "has more than 65536 elements"),
    (("obs_spaces", "observation", "low"), [0.0] * 11, "obs_spaces.observation.low: has 11 values, want 12"),
    (("obs_spaces", "observation", "high"), [NAN] * 12, "obs_spaces.observation.high[0]: nan is not finite"),
    (("obs_spaces", "observation"), "DELETE", "obs_keys: 'observation' has no entry in obs_spaces"),
    (("obs_keys",), [], "obs_keys: want a non-empty list"),
    (("obs_keys",), ["observation", "observation"], "obs_keys: names repeat"),
    (("network", "hidden"), [200000, 200000], "network.hidden[0]: want an integer in [1, 4096]"),
    (("network", "hidden"), [4096] * 4, "parameters, more than"),
    (("network", "hidden"), [64] * 17, "network.hidden: want a list of at most 16"),
    (("network", "hidden"), [True], "network.hidden[0]"),
    (("network", "hidden"), "64", "network.hidden: want a list"),
    (("network", "activation"), "sigmoid", "network.activation: 'sigmoid' is not one of relu, tanh, elu"),
    (("network", "output"), "softmax", "network.output: 'softmax' is not one of tanh, clip"),
    (("network",), "DELETE", "network: missing"),
    (("control_mode",), "teleport", "control_mode: 'teleport' is not one of"),
    (("control_hz",), 0, "control_hz: 0 is outside [1, 1000]"),
    (("control_hz",), 1e12, "control_hz: 1e+12 is outside [1, 1000]"),
    (("control_hz",), NAN, "control_hz: nan is not finite"),
    (("control_hz",), "25", "control_hz: want a number"),
    (("action_dim",), 0, "action_dim: 0 is outside [1, 256]"),
    (("action_dim",), 3.0, "action_dim: want an integer"),
    (("action_dim",), True, "action_dim: want an integer"),
    (("action_space", "low"), [-1.0, -1.0], "action_space.low: has 2 values, want 3"),
    (("action_space", "high"), [1.0, INF, 1.0], "action_space.high[1]: inf is not finite"),
    (("action_space", "high"), [-1.0, 1.0, 1.0], "action_space: low[0] = -1 is not below high[0] = -1"),
    (("obs_norm",), {"mean": {}, "var": {}, "clip": 10.0}, "obs_norm.mean: no stats for observation"),
    (("safety", "lower"), [0.0] * 5, "safety.lower: has 5 joint limits, robot 'servo_arm' has 6 joints"),
    (("safety", "lower"), [0.0] * 3, "safety.lower: has 3 joint limits, robot 'servo_arm' has 6 joints"),
    (("safety", "upper"), [1.0] * 5, "safety.upper: has 5 values, want 6"),
    (("safety", "lower"), [2.0] * 6, "safety: lower[0] = 2 is not below upper[0]"),
    (("safety", "upper"), [NAN] * 6, "safety.upper[0]: nan is not finite"),
    (("safety", "max_target_step"), 0, "safety.max_target_step: 0 is outside (0, 1e+06]"),
    (("safety", "max_target_step"), INF, "safety.max_target_step: inf is not finite"),
    (("safety", "floor_z_m"), NAN, "safety.floor_z_m: nan is not finite"),
    (("safety", "floor_z_m"), "DELETE", "safety.floor_z_m: missing"),
    (("safety",), [1, 2], "safety: want a JSON object"),
    (("distance_threshold_m",), 0.0, "distance_threshold_m: 0 is outside (0, 100]"),
    (("distance_threshold_m",), NAN, "distance_threshold_m: nan is not finite"),
    (("obs_layout", "q"), [9, 3], "obs_layout.q: want [start, end]"),
    (("robot",), 5, "robot: want a non-empty string"),
    (("robot",), "", "robot: want a non-empty string"),
    (("training_steps",), -1, "training_steps: -1 is outside"),
    (("format_version",), True, "format_version: want the integer 1 or 2, got True"),
    (("format_version",), "1", "format_version: want the integer 1 or 2, got '1'"),
    (("format_version",), 1.0, "format_version: want the integer 1 or 2, got 1.0"),
    (("format_version",), 3, "policy format version 3; this robokit"),
    (("format_version",), 0, "policy format version 0; this robokit"),
    # format version 2: gripper_actuated is always written, as a JSON boolean
    (("gripper_actuated",), "DELETE", "gripper_actuated: missing (format version 2"),
    (("gripper_actuated",), 1, "gripper_actuated: want true or false, got 1"),
    (("gripper_actuated",), None, "gripper_actuated: want true or false, got None"),
    # issue 9: fields the docs say are validated
    (("network", "output"), None, "network.output: want a non-empty string"),
    (("network", "activation"), None, "network.activation: want a non-empty string"),
    (("hyperparameters",), {"x": NAN}, "hyperparameters.x: nan is not finite"),
    (("hyperparameters",), {"a": [1, {"b": -INF}]}, "hyperparameters.a[1].b: -inf is not finite"),
    (("extra_field",), [0.5, NAN], "extra_field[1]: nan is not finite"),
    (("action_space", "high"), [100.0] * 3, "action_space.high[0]: 100 is outside [-1, 1]"),
    (("action_space", "low"), [-1.0, -1.5, -1.0], "action_space.low[1]: -1.5 is outside [-1, 1]"),
    (("robot",), "../../etc/passwd", "robot: '../../etc/passwd' is not a robot name"),
    (("robot",), "Servo Arm", "robot: 'Servo Arm' is not a robot name"),
    # issue 9: identifiers with control characters (ESC, CR, LF, bidi override) are refused
    (
        ("robokit_version",),
        "\x1b[2J\x1b[31mpwned\r",
        "robokit_version: '\\x1b[2J\\x1b[31mpwned\\r' holds control",
    ),
    (
        ("env_id",),
        "robokit/ServoArmReach-v0\u202e",
        "env_id: 'robokit/ServoArmReach-v0\\u202e' holds control",
    ),
    (("algo",), "sac\nx", "algo: 'sac\\nx' holds control characters"),
    (("obs_layout", "q\x1b"), [3, 9], "obs_layout: key 'q\\x1b' is not a printable name"),
    # issue 12: the deadband only ever removes motion, and only a little
    (("action_deadband",), 0.5, "action_deadband: 0.5 is outside [0, 0.2]"),
    (("action_deadband",), -0.01, "action_deadband: -0.01 is outside [0, 0.2]"),
    (("action_deadband",), "0.05", "action_deadband: want a number"),
    (("action_deadband",), NAN, "action_deadband: nan is not finite"),
]
DEADBAND_JOINT_ABSOLUTE = "action_deadband: has no meaning for joint_absolute control"


@pytest.mark.parametrize(
    ("where", "value", "fragment"), INVALID_SPECS, ids=[c[2][:40] for c in INVALID_SPECS]
)
def test_every_invalid_spec_field_is_one_line_refusal(
    scripted_file: Path, tmp_path: Path, where: tuple, value, fragment: str
) -> None:
    path = tmp_path / "bad.safetensors"
    _rewrite(scripted_file, path, _edit(where, value, delete=value == "DELETE"))
    _one_line_refusal(path, fragment)


def test_obs_norm_stats_are_validated(scripted_file: Path, tmp_path: Path) -> None:
    spec = read_spec(scripted_file)
    keys = spec["obs_keys"]
    sizes = {k: spec["obs_spaces"][k]["shape"][0] for k in keys}
    good = {
        "mean": {k: [0.0] * n for k, n in sizes.items()},
        "var": {k: [1.0] * n for k, n in sizes.items()},
        "clip": 5.0,
        "epsilon": 1e-8,
    }
    path = tmp_path / "norm.safetensors"
    _rewrite(scripted_file, path, _edit(("obs_norm",), good))
    assert load_policy(path).typed_spec.obs_norm.clip == 5.0
    for where, value, fragment in [
        (("var", "observation", 0), -1.0, "obs_norm.var.observation[0]: -1 is negative"),
        (("mean", "observation", 4), NAN, "obs_norm.mean.observation[4]: nan is not finite"),
        (("mean", "observation"), [0.0] * 3, "obs_norm.mean.observation: has 3 values, want 12"),
        (("clip",), 0.0, "obs_norm.clip: 0 is outside (0,"),
        (("epsilon",), -1.0, "obs_norm.epsilon: -1 is outside [0, 1]"),
    ]:
        bad = json.loads(json.dumps(good))
        node = bad
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
        if where == ("var", "observation", 0):
            bad["epsilon"] = 0.0
        _rewrite(scripted_file, path, _edit(("obs_norm",), bad))
        _one_line_refusal(path, fragment)


def test_a_huge_network_is_refused_before_any_module_is_built(
    scripted_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 8: hidden [200000, 200000] once tried a 160 GB allocation; now nothing is built at all."""
    path = tmp_path / "huge.safetensors"
    _rewrite(scripted_file, path, _edit(("network", "hidden"), [200000, 200000]))

    def no_modules(*a, **k):
        raise AssertionError("an nn.Linear was built before the spec was validated")

    monkeypatch.setattr(torch.nn.Linear, "__init__", no_modules)
    with pytest.raises(PolicyFileError, match="network.hidden"):
        load_policy(path)
    monkeypatch.undo()
    # tensors whose shapes do not follow from the spec are refused from the header, before their data is read
    _rewrite(scripted_file, path, _edit(("network", "hidden"), [64]))
    with pytest.raises(PolicyFileError, match=r"weights do not match the spec's network \[18, 64, 3\]"):
        load_policy(path)


def test_weights_must_be_finite_float_and_bounded(scripted_file: Path, tmp_path: Path) -> None:
    tensors = load_policy(scripted_file).weight_tensors()
    path = tmp_path / "w.safetensors"
    for name, edit, fragment in [
        (
            "nan",
            lambda t: t["net.0.weight"].view(-1).__setitem__(5, NAN),
            "net.0.weight holds NaN or infinite",
        ),
        ("inf", lambda t: t["net.0.bias"].view(-1).__setitem__(0, INF), "net.0.bias holds NaN or infinite"),
        ("huge", lambda t: t["net.0.weight"].mul_(1e30), "output can overflow float32"),
        ("int", lambda t: t.__setitem__("net.0.bias", t["net.0.bias"].long()), "dtype I64"),
        ("extra", lambda t: t.__setitem__("net.9.bias", torch.zeros(3)), "unexpected ['net.9.bias']"),
        ("missing", lambda t: t.pop("net.0.bias"), "missing ['net.0.bias']"),
    ]:
        bad = {k: v.clone() for k, v in tensors.items()}
        edit(bad)
        _rewrite(scripted_file, path, lambda s: s, tensors=bad)
        with pytest.raises(PolicyFileError) as exc:
            load_policy(path)
        assert fragment in str(exc.value) and "\n" not in str(exc.value), (name, str(exc.value))


def test_a_missing_digest_is_a_refusal(scripted_file: Path, tmp_path: Path, capsys) -> None:
    """Item 9: deleting sha256 no longer switches off the corruption check."""
    tensors = {k: v * 1.5 for k, v in load_policy(scripted_file).weight_tensors().items()}  # altered weights
    path = tmp_path / "nodigest.safetensors"
    _rewrite(scripted_file, path, _edit(("sha256",), delete=True), digest=False, tensors=tensors)
    _one_line_refusal(path, "sha256: missing: the file's integrity cannot be checked, so it is refused")
    _rewrite(scripted_file, path, _edit(("sha256",), None), digest=False, tensors=tensors)
    _one_line_refusal(path, "sha256: missing")
    # info may still show it (it reads no weights), and says plainly that loading refuses it
    assert read_spec(path, require_digest=False)["robot"] == "servo_arm"
    from robokit.cli import info as cli_info

    assert cli_info.main([str(path)]) == 0
    out, err = capsys.readouterr()
    assert "MISSING: load, eval and deploy refuse this file" in out
    assert "has no sha256" in err and err.count("\n") == 1


def test_saved_files_are_readable_by_others_as_the_umask_says(scripted_file: Path, tmp_path: Path) -> None:
    """Item 10: policy files were written 0600; they follow the umask like any file (0644 under 022)."""
    import os

    policy = load_policy(scripted_file)
    for umask, mode in ((0o022, 0o644), (0o077, 0o600), (0o002, 0o664)):
        old = os.umask(umask)
        try:
            path = policy.save(tmp_path / f"u{umask:o}" / "policy.safetensors")
        finally:
            os.umask(old)
        assert path.stat().st_mode & 0o777 == mode, oct(path.stat().st_mode)
    assert sorted(p.name for p in (tmp_path / "u22").iterdir()) == ["policy.safetensors"]  # no temp left


def test_unreadable_files_are_reported_as_such(scripted_file: Path, tmp_path: Path) -> None:
    """Item 10: a file the user may not read says "permission denied", not "truncated or corrupted"."""
    import os
    import shutil

    with pytest.raises(PolicyFileError, match="is a directory, not a policy file"):
        load_policy(tmp_path)
    with pytest.raises(PolicyFileError, match="not a regular file"):
        read_spec("/dev/null")
    path = tmp_path / "policy.safetensors"
    shutil.copy(scripted_file, path)
    path.chmod(0o200)  # write-only
    code = (
        f"from robokit.policies import PolicyFileError, load_policy\ntry:\n    load_policy({str(path)!r})\n"
    )
    code += "except PolicyFileError as exc:\n    print(exc)\n"
    cmd = [sys.executable, "-c", code]
    if os.geteuid() == 0:  # root reads anything: drop the capabilities that let it, for real
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv")
        caps = "-dac_override,-dac_read_search"
        cmd = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert f"{path}: permission denied (mode --w-------" in out.stdout, out.stdout + out.stderr
    assert "truncated" not in out.stdout


def test_every_registered_env_gives_a_valid_spec() -> None:
    """The validator accepts what robokit writes, for every registered env, and knows every control mode."""
    from robokit.core.control import CONTROL_MODES
    from robokit.policies.policy_file import spec_from_env
    from robokit.policies.policy_spec import CONTROL_MODES as SPEC_MODES
    from robokit.policies.policy_spec import validate_spec

    assert SPEC_MODES == CONTROL_MODES
    ids = [k for k in gym.registry if k.startswith("robokit/")]
    assert len(ids) >= 5
    for env_id in ids:
        env = gym.make(env_id)
        spec = spec_from_env(env, env_id)
        env.close()
        spec["network"] = {"hidden": [64, 64], "activation": "relu", "output": "tanh"}
        typed = validate_spec(spec, require_digest=False)
        assert typed.robot == spec["robot"] and typed.layer_sizes[-1] == spec["action_dim"]


def test_the_typed_spec_is_frozen_and_names_the_tensors(scripted_file: Path) -> None:
    import dataclasses

    from robokit.policies import PolicySpec

    policy = load_policy(scripted_file)
    typed = policy.typed_spec
    assert isinstance(typed, PolicySpec) and typed.raw is policy.spec
    assert typed.control_hz == 25.0 and typed.obs_keys == ("achieved_goal", "desired_goal", "observation")
    assert typed.tensor_shapes() == {"net.0.weight": (3, 18), "net.0.bias": (3,)}
    assert typed.safety.floor_z_m == pytest.approx(0.01) and len(typed.safety.lower) == 6
    with pytest.raises(dataclasses.FrozenInstanceError):
        typed.control_hz = 1e12  # type: ignore[misc]


# ---- the documented sha256 recipe (docs/training.md, "The sha256"), implemented here from scratch ----------


def _canonical_json(x) -> str:
    """The spec's canonical JSON as the docs describe it, without the json module."""
    if x is None or isinstance(x, bool):
        return {None: "null", True: "true", False: "false"}[x]
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return repr(x)  # Python's shortest round-trip form
    if isinstance(x, str):
        short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
        out = []
        for c in x:
            if c in short:
                out.append(short[c])
            elif " " <= c <= "~":
                out.append(c)
            else:
                units = c.encode("utf-16-be")
                out += [f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2)]
        return '"' + "".join(out) + '"'
    if isinstance(x, list):
        return "[" + ", ".join(_canonical_json(v) for v in x) + "]"
    return "{" + ", ".join(f"{_canonical_json(k)}: {_canonical_json(x[k])}" for k in sorted(x)) + "}"


_DTYPES = {"F32": ("<f4", "torch.float32"), "F64": ("<f8", "torch.float64")}


def _recipe_file(path: Path, spec: dict, arrays: dict[str, np.ndarray], dtype: str) -> bytes:
    """Write a safetensors policy file by hand (8-byte header length, JSON header, raw data) with the
    sha256 of the documented recipe. Returns the file's bytes."""
    import hashlib

    np_dtype, torch_name = _DTYPES[dtype]
    spec = {k: v for k, v in spec.items() if k != "sha256"}
    h = hashlib.sha256(_canonical_json(spec).encode("ascii"))
    data, header, offset = b"", {}, 0
    for name in sorted(arrays):
        raw = np.ascontiguousarray(arrays[name], dtype=np_dtype).tobytes()
        shape = arrays[name].shape
        shape_text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        h.update(f"{name}|{torch_name}|{shape_text}|".encode())
        h.update(raw)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        data, offset = data + raw, offset + len(raw)
    spec["sha256"] = h.hexdigest()
    header["__metadata__"] = {METADATA_KEY: json.dumps(spec, indent=1)}  # any formatting is fine
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + data)
    return path.read_bytes()


@pytest.mark.parametrize("dtype", sorted(_DTYPES))
def test_a_file_written_by_the_documented_recipe_loads(
    scripted_file: Path, tmp_path: Path, dtype: str
) -> None:
    """Issue 9: the sha256 recipe is documented well enough for another program to write a valid file:
    a hand-written file (new weights, a spec with non-ASCII and escaped text) loads and acts as its
    weights say; a single flipped weight byte is refused."""
    spec = json.loads(json.dumps(read_spec(scripted_file)))
    spec["hyperparameters"] = {
        "note": 'é "quoted" \\ tab\t 𝛑',
        "lr": 1e-08,
        "big": 1e20,
        "n": 3,
        "flag": True,
    }
    spec["network"]["hidden"] = [5]
    obs_dim = sum(spec["obs_spaces"][k]["shape"][0] for k in spec["obs_keys"])
    rng = np.random.default_rng(0)
    arrays = {
        "net.0.weight": rng.normal(0, 0.3, (5, obs_dim)),
        "net.0.bias": rng.normal(0, 0.1, (5,)),
        "net.2.weight": rng.normal(0, 0.3, (3, 5)),
        "net.2.bias": rng.normal(0, 0.1, (3,)),
    }
    assert _canonical_json(spec) == json.dumps(spec, sort_keys=True)  # the docs describe json.dumps
    path = tmp_path / "recipe.safetensors"
    data = _recipe_file(path, spec, arrays, dtype)
    policy = load_policy(path)
    assert policy.spec["hyperparameters"]["note"] == spec["hyperparameters"]["note"]
    obs = {k: rng.uniform(-0.3, 0.3, spec["obs_spaces"][k]["shape"]) for k in spec["obs_keys"]}
    x = np.concatenate([obs[k] for k in spec["obs_keys"]])
    h = np.maximum(arrays["net.0.weight"] @ x + arrays["net.0.bias"], 0.0)  # relu
    want = np.clip(arrays["net.2.weight"] @ h + arrays["net.2.bias"], -1.0, 1.0)  # output "clip"
    np.testing.assert_allclose(policy.act(obs), want, atol=1e-5)
    flipped = bytearray(data)
    flipped[-1] ^= 0x01  # the last byte of the last tensor
    path.write_bytes(bytes(flipped))
    with pytest.raises(PolicyFileError, match="do not match their recorded sha256"):
        load_policy(path)


def test_the_deadband_zeroes_small_moves_only_and_survives_a_round_trip(
    scripted_file: Path, tmp_path: Path
) -> None:
    """``action_deadband``: motion elements with |a| < d become 0, larger ones pass unchanged (bit for bit)."""
    plain = load_policy(scripted_file)
    path = tmp_path / "band.safetensors"
    _rewrite(scripted_file, path, _edit(("action_deadband",), 0.2))
    banded = load_policy(path)
    assert banded.typed_spec.action_deadband == 0.2 and plain.typed_spec.action_deadband == 0.0
    env = gym.make(plain.spec["env_id"])
    small = big = 0
    for obs in _random_obs(env, 40):
        a, b = plain.act(obs), banded.act(obs)
        inside = np.abs(a) < 0.2
        assert np.all(b[inside] == 0.0) and np.array_equal(b[~inside], a[~inside])
        small, big = small + inside.sum(), big + (~inside).sum()
    env.close()
    assert small > 0 and big > 0  # both cases were exercised
    assert load_policy(banded.save(tmp_path / "again.safetensors")).typed_spec.action_deadband == 0.2


def test_a_deadband_on_joint_absolute_control_is_refused(scripted_file: Path, tmp_path: Path) -> None:
    """There an action is a joint position, and 0 the middle of the range: zeroing it is no 'no move'."""
    path = tmp_path / "abs.safetensors"

    def edit(spec: dict) -> dict:
        return {**spec, "control_mode": "joint_absolute", "action_deadband": 0.05}

    _rewrite(scripted_file, path, edit)
    _one_line_refusal(path, DEADBAND_JOINT_ABSOLUTE)
