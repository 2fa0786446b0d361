"""The typed PolicySpec (to/from JSON), format versions 1 and 2, gripper_actuated, and the one
compatibility check (issue 10, item 4). Version-1 files: tests/policies/data (see make_v1_files.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs  # noqa: F401
from robokit.policies import PolicySpec, load_policy, read_policy_spec, read_spec
from robokit.policies.compat import PolicyMismatchError, check_compatible, check_fits_robot
from robokit.policies.policy_file import Policy, spec_from_env
from robokit.policies.policy_spec import FORMAT_VERSION, PolicyFileError
from robokit.robots import get_robot

DATA = Path(__file__).parent / "data"


def test_version_1_files_written_by_the_old_robokit_still_load_and_act_the_same() -> None:
    sac = load_policy(DATA / "v1_sac_tiny.safetensors")  # sha256 checked against the v1 JSON as stored
    assert sac.typed_spec.format_version == 1 and "gripper_actuated" not in sac.spec
    assert sac.typed_spec.gripper_actuated is False and sac.typed_spec.network.hidden == (16, 16)
    recorded = np.load(DATA / "v1_sac_tiny_obs.npz")
    for i in range(len(recorded["actions"])):
        obs = {k: recorded[k][i] for k in sac.obs_keys}
        np.testing.assert_allclose(sac.act(obs), recorded["actions"][i], atol=1e-6)
    scripted = load_policy(DATA / "v1_scripted.safetensors")
    obs = {k: np.full(s, 0.1, np.float32) for k, s in scripted.typed_spec.obs_shapes.items()}
    obs["desired_goal"] = np.array([0.11, 0.1, 0.09], np.float32)
    np.testing.assert_allclose(scripted.act(obs), [0.4, 0.0, -0.4], atol=1e-5)  # (desired - achieved) / 0.025
    check_fits_robot(scripted.typed_spec, get_robot("servo_arm"))


def test_a_version_1_policy_saved_again_becomes_version_2_with_the_same_actions(tmp_path: Path) -> None:
    old = load_policy(DATA / "v1_sac_tiny.safetensors")
    path = old.save(tmp_path / "v2.safetensors")
    new = load_policy(path)
    assert new.spec["format_version"] == FORMAT_VERSION == 2 and new.spec["gripper_actuated"] is False
    assert new.spec["obs_norm"] == old.spec["obs_norm"] and new.spec["training_steps"] == 120
    recorded = np.load(DATA / "v1_sac_tiny_obs.npz")
    obs = {k: recorded[k][:8] for k in new.obs_keys}
    np.testing.assert_allclose(new.act(obs), recorded["actions"][:8], atol=1e-6)


def test_the_typed_spec_round_trips_through_json(scripted_file: Path) -> None:
    typed = read_policy_spec(scripted_file)
    assert typed.format_version == 2 and typed.gripper_actuated is False and typed.algo == "scripted_ik"
    again = PolicySpec.from_json(json.dumps(typed.to_json()))
    assert again == typed and again.to_json() == typed.to_json()
    assert typed.to_json() == read_spec(scripted_file)  # what robokit writes is exactly the typed form
    with_extra = PolicySpec.from_json({**typed.to_json(), "camera": {"fov_deg": 60}})
    assert with_extra.extra == {"camera": {"fov_deg": 60}} and with_extra.to_json()["camera"] == {
        "fov_deg": 60
    }
    with pytest.raises(PolicyFileError, match="the spec is not valid JSON"):
        PolicySpec.from_json("{nope")


def test_export_writes_gripper_actuated_from_the_env_which_deploy_reads() -> None:
    env = gym.make("robokit/ServoArmReach-v0")
    spec = spec_from_env(env)
    assert spec["gripper_actuated"] is env.unwrapped.controller.gripper_actuated is False
    env.close()


def _gripper_policy(scripted_file: Path) -> dict:
    """The scripted spec with a 4th (gripper) action: ``observation`` grows by one last-action entry."""
    spec = copy.deepcopy(read_spec(scripted_file))
    spec.pop("sha256")
    n = spec["obs_spaces"]["observation"]["shape"][0] + 1
    spec.update(gripper_actuated=True, action_dim=4, action_space={"low": [-1.0] * 4, "high": [1.0] * 4})
    spec["obs_spaces"]["observation"] = {"shape": [n]}
    spec["obs_layout"] = None
    return spec


def test_a_gripper_actuated_policy_fits_a_robot_with_a_gripper_only_as_such(scripted_file: Path) -> None:
    spec = _gripper_policy(scripted_file)
    servo = get_robot("servo_arm")
    Policy(spec)  # a valid version-2 spec
    check_fits_robot(spec, servo)  # 3 ee_delta + 1 gripper = 4 actions, observation has 4 last actions
    with pytest.raises(PolicyMismatchError, match="action_dim: policy has 4, target has 3"):
        check_fits_robot({**spec, "gripper_actuated": False}, servo)
    env = gym.make("robokit/ServoArmReach-v0")
    with pytest.raises(PolicyMismatchError, match="gripper_actuated: policy has True, target has False"):
        check_compatible(spec, env)
    env.close()


def test_the_check_takes_typed_specs_and_dicts_alike(scripted_file: Path) -> None:
    typed = read_policy_spec(scripted_file)
    panda = get_robot("panda")
    for spec in (typed, typed.raw):
        with pytest.raises(PolicyMismatchError, match="trained for robot 'servo_arm'"):
            check_fits_robot(spec, panda)
        with pytest.raises(PolicyMismatchError, match="control_mode: policy has 'ee_delta'"):
            check_compatible(spec, control_mode="joint_delta")


def test_info_shows_the_version_and_whether_a_deploy_would_take_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from robokit.cli import info as cli_info
    from robokit.policies.policy_file import METADATA_KEY, content_digest

    assert cli_info.main([str(DATA / "v1_scripted.safetensors")]) == 0
    out = capsys.readouterr().out
    assert "│ 1 " in out.split("format version")[1].splitlines()[0]
    assert "yes: ee_delta on servo_arm, 3 actions" in out
    policy = load_policy(DATA / "v1_scripted.safetensors")
    spec = {**policy.spec, "robot": "panda", "safety": None}  # a valid file, made for another robot
    tensors = policy.weight_tensors()
    spec["sha256"] = content_digest(spec, tensors)
    from safetensors.torch import save_file

    save_file(tensors, str(tmp_path / "p.safetensors"), metadata={METADATA_KEY: json.dumps(spec)})
    assert cli_info.main([str(tmp_path / "p.safetensors")]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "deployable no: observation 'observation': policy expects shape [12]" in text


def test_a_mismatch_is_one_line():
    """The refusal listed its problems on three lines on stderr (the attack on issue 10); deploy, eval and
    info promise one line."""
    from robokit.policies.scripted import scripted_policy

    spec = dict(scripted_policy("robokit/ServoArmReach-v0").spec)
    spaces = spec["obs_spaces"]
    spec["obs_spaces"] = {**spaces, "observation": {**spaces["observation"], "shape": [99]}}
    spec["action_dim"] = 4
    with pytest.raises(PolicyMismatchError) as exc:
        check_fits_robot(spec, get_robot("servo_arm"))
    text = str(exc.value)
    assert "\n" not in text and "observation" in text and "action_dim" in text
