"""A robot is one folder: a renamed copy of the servo arm's, registered from a temporary folder through
``register_robot``, runs Reach end to end (reset, step, training, eval, a dry-run deploy) without any
repository file changing; a bad folder is refused with one clear error."""

import json
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs
from robokit.robots import RobotFolderError, get_robot, list_robots, register_robot, registry, robot_folder

SERVO_ARM = Path(registry.__file__).parent / "servo_arm"


def copy_servo_arm(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(SERVO_ARM, folder)
    return folder


def test_the_shipped_robots_are_folders_with_their_env_ids():
    assert set(list_robots()) == {"servo_arm", "panda", "so101"}
    panda = robot_folder("panda")
    assert [b.name for b in panda.boxes] == ["floor", "table"]
    assert panda.task_settings("reach")["distance_threshold_m"] == 0.05
    assert robot_folder("servo_arm").camera["distance_m"] == 0.6
    assert get_robot("servo_arm").urdf == str(SERVO_ARM / "servo_arm.urdf")


def repo_files() -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in SERVO_ARM.parent.rglob("*") if p.is_file()}


@pytest.mark.usefixtures("clean_registry")
def test_a_copied_robot_folder_runs_reach_eval_and_a_dry_run_deploy(tmp_path):
    from robokit.cli import main
    from robokit.policies import evaluate, scripted_policy

    before = repo_files()
    spec = register_robot(copy_servo_arm(tmp_path, "my_arm"))
    assert spec.name == "my_arm" and "my_arm" in list_robots()
    assert register_robot(tmp_path / "my_arm") is spec  # the same folder again: nothing changes
    ids = ["robokit/MyArmReach-v0", "robokit/MyArmReachDense-v0", "robokit/MyArmReachJoints-v0"]
    ids += [f"robokit/MyArm{t}{r}-v0" for t in ("Push", "PickAndPlace") for r in ("", "Dense")]
    assert [i for i in robokit.envs.ENV_SPECS if i.startswith("robokit/MyArm")] == ids

    env = gym.make(ids[0])
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.robot.name == "my_arm" and obs["observation"].shape == (3 + 6 + 3,)
    obs2, reward, *_ = env.step(np.ones(3, dtype=np.float32))
    assert not np.array_equal(obs["observation"][:3], obs2["observation"][:3]) and reward in (-1.0, 0.0)
    env.close()

    policy_path = scripted_policy(ids[0]).save(tmp_path / "scripted.safetensors")
    report = evaluate(policy_path, episodes=3, workers=1, video=False, plot=False, progress=False)
    assert report["env_id"] == ids[0] and report["aggregate"]["success_rate"] == 1.0

    log = tmp_path / "deploy"
    args = ["deploy", str(policy_path), "--dry-run", "--goal", "0.15,0.1,0.15", "--duration", "1"]
    assert main([*args, "--log", str(log), "--quiet"]) == 0
    summary = json.loads((log / "summary.json").read_text())
    assert summary["exit_reason"] == "completed" and summary["goals"][0]["reach_error_m"] < 0.01
    assert repo_files() == before


@pytest.mark.usefixtures("clean_registry")
def test_a_copied_robot_folder_trains_with_its_own_defaults(tmp_path):
    from robokit.policies import default_config, evaluate, load_policy, train

    register_robot(copy_servo_arm(tmp_path, "my_arm"))
    assert default_config("robokit/MyArmReachJoints-v0").steps == 30_000  # from the folder's robot.yaml
    config = default_config("robokit/MyArmReach-v0", out=str(tmp_path / "run"), steps=256, progress=False)
    assert config.to_dict() == {
        **default_config(
            "robokit/ServoArmReach-v0", out=str(tmp_path / "run"), steps=256, progress=False
        ).to_dict(),
        "env_id": "robokit/MyArmReach-v0",
    }
    config.eval_every, config.eval_episodes, config.learning_starts, config.batch_size = 256, 3, 64, 64
    policy_path = train(config)
    spec = load_policy(policy_path).spec
    assert spec["robot"] == "my_arm" and spec["training_steps"] == 256
    report = evaluate(policy_path, episodes=3, workers=1, video=False, plot=False, progress=False)
    assert report["aggregate"]["episodes"] == 3


def _rewrite(folder: Path, old: str, new: str) -> None:
    path = folder / "robot.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


BAD_FOLDERS = {  # what is done to a copy of the servo arm's folder -> the error's key words
    "no robot.yaml": (lambda f: (f / "robot.yaml").unlink(), "no robot.yaml"),
    "garbled YAML": (lambda f: (f / "robot.yaml").write_text("spec: [unclosed\n"), "not valid YAML"),
    "not a mapping": (lambda f: (f / "robot.yaml").write_text("- 1\n- 2\n"), "want a mapping"),
    "binary": (lambda f: (f / "robot.yaml").write_bytes(b"\xff\xfe\x00"), "not valid YAML"),
    "no model": (lambda f: (f / "servo_arm.urdf").unlink(), "spec.urdf: no model file"),
    "model outside": (lambda f: _rewrite(f, "urdf: servo_arm.urdf", "urdf: ../../etc/passwd"), "outside"),
    "absolute model": (lambda f: _rewrite(f, "urdf: servo_arm.urdf", "urdf: /etc/passwd"), "outside"),
    "unknown key": (lambda f: _rewrite(f, "  ee_link:", "  ee_lnk:"), r"unknown key\(s\) \['ee_lnk'\]"),
    "text number": (lambda f: _rewrite(f, "control_hz: 25.0", "control_hz: fast"), "spec.control_hz"),
    "nan": (lambda f: _rewrite(f, "control_hz: 25.0", "control_hz: .nan"), "finite number"),
    "short limits": (lambda f: _rewrite(f, "max_speed: [3.0, ", "max_speed: ["), "spec.max_speed"),
    "home outside": (lambda f: _rewrite(f, "home_q: [0.0,", "home_q: [9.0,"), "contain home_q"),
    "zero rate": (lambda f: _rewrite(f, "control_hz: 25.0", "control_hz: 0"), "must be > 0"),
    "bad box": (lambda f: _rewrite(f, "half_extents_m: [0.5,", "half_extents_m: [-0.5,"), "scene.boxes"),
    "bad camera": (lambda f: _rewrite(f, "yaw_deg: 50.0", "yaw: 50.0"), "scene.camera"),
    "bad train": (lambda f: _rewrite(f, "td3: {steps: 10000}", "td3: {steps: {a: 1}}"), "envs"),
    "bad gripper": (lambda f: _rewrite(f, "joint_names: [gripper]", "joint_names: [claw]"), "gripper"),
}


@pytest.mark.usefixtures("clean_registry")
@pytest.mark.parametrize("case", sorted(BAD_FOLDERS))
def test_a_bad_robot_folder_is_refused_with_one_clear_error(tmp_path, case):
    folder = copy_servo_arm(tmp_path, "bad_arm")
    damage, message = BAD_FOLDERS[case]
    damage(folder)
    with pytest.raises(RobotFolderError, match=message) as err:
        register_robot(folder)
    assert str(folder.resolve()) in str(err.value) and "\n" not in str(err.value)
    assert "bad_arm" not in list_robots() and "robokit/BadArmReach-v0" not in gym.registry


@pytest.mark.usefixtures("clean_registry")
def test_names_and_env_ids_must_not_clash(tmp_path):
    with pytest.raises(RobotFolderError, match="folder's name 'My-Arm'"):
        register_robot(copy_servo_arm(tmp_path, "My-Arm"))
    with pytest.raises(RobotFolderError, match="not a folder"):
        register_robot(tmp_path / "nothing_here")
    with pytest.raises(RobotFolderError, match="a robot named 'panda' exists"):
        register_robot(copy_servo_arm(tmp_path, "panda"))
    odd = copy_servo_arm(tmp_path / "x", "odd_arm")
    _rewrite(odd, "control_mode: joint_delta", "control_mode: torque")
    with pytest.raises(RobotFolderError, match="unknown control_mode 'torque'"):
        register_robot(odd)
    assert "odd_arm" not in list_robots() and "robokit/OddArmReach-v0" not in gym.registry
    twin = copy_servo_arm(tmp_path / "y", "twin_arm")
    _rewrite(twin, "control_mode: joint_delta", "control_mode: ee_delta")
    with pytest.raises(RobotFolderError, match="same env id"):
        register_robot(twin)


@pytest.mark.usefixtures("clean_registry")
def test_a_robot_a_later_listener_refuses_is_dropped_with_a_warning(tmp_path):
    """A robot registered before ``robokit.envs`` is imported whose envs the id table refuses: the
    import warns and drops it instead of failing."""
    odd = copy_servo_arm(tmp_path, "odd_arm")
    registry._LISTENERS.clear()  # as before robokit.envs is imported
    register_robot(odd)
    assert "odd_arm" in list_robots()

    def refuse(robot):
        if robot.name == "odd_arm":
            raise ValueError("unknown control_mode 'torque'")

    with pytest.warns(RuntimeWarning, match=r"odd_arm dropped: unknown control_mode 'torque'"):
        registry.on_register(refuse)
    assert "odd_arm" not in list_robots() and {"servo_arm", "panda"} <= set(list_robots())


def test_robot_folders_named_in_robokit_robots_are_registered_for_the_shell(tmp_path):
    """The shell's way to a robot folder outside the repository: ROBOKIT_ROBOTS lists folders; a bad one
    is named in one line and left out, the others are used."""
    import os
    import subprocess
    import sys

    folder = copy_servo_arm(tmp_path, "desk_arm")
    env = {**os.environ, "ROBOKIT_ROBOTS": os.pathsep.join([str(folder), str(tmp_path / "missing")])}
    done = subprocess.run(
        [sys.executable, "-m", "robokit", "envs"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "robokit/DeskArmReach-v0" in done.stdout and "robokit/ServoArmReach-v0" in done.stdout
    assert done.stderr.count("ROBOKIT_ROBOTS") == 1 and "missing" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_robot_folder_the_env_table_refuses_is_named_in_one_line_on_the_command_line(tmp_path):
    """ROBOKIT_ROBOTS names a folder with a task setting Push does not know: the command says so in one
    line (robokit's words, not Python's file:line warning format) and lists the other robots' envs."""
    import os
    import subprocess
    import sys

    import yaml

    folder = copy_servo_arm(tmp_path, "typo_arm")
    doc = yaml.safe_load((folder / "robot.yaml").read_text())
    doc["tasks"]["push"]["bogus_setting"] = 1
    (folder / "robot.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    env = {**os.environ, "ROBOKIT_ROBOTS": str(folder)}
    done = subprocess.run(
        [sys.executable, "-m", "robokit", "envs"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if "pybullet build time" not in ln]
    assert len(lines) == 1 and lines[0].startswith("robokit: warning: robot folder"), done.stderr
    assert "unknown robot setting(s) ['bogus_setting']" in lines[0] and ".py:" not in lines[0]
    assert "robokit/ServoArmReach-v0" in done.stdout and "TypoArm" not in done.stdout
