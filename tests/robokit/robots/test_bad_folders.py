"""Damaged robot folders (copies of the servo arm's, changed one entry at a time) are refused at
registration with one RobotFolderError line naming the folder and the entry: absurd numbers, limits
wider than the model file's, names the model lacks, bad task settings, bad training defaults, YAML
aliases; and a broken built-in robot is reported in one line while the others keep working."""

from __future__ import annotations

import dataclasses
import shutil
import time
import typing
from pathlib import Path

import gymnasium as gym
import pytest

from robokit.robots import RobotFolderError, get_robot, list_robots, register_robot, registry
from robokit.robots.train_schema import TRAIN_ALGOS, TRAIN_KEYS

SERVO_ARM = Path(registry.__file__).parent / "servo_arm"


def copy_servo_arm(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(SERVO_ARM, folder)
    return folder


def _rewrite(folder: Path, old: str, new: str) -> None:
    path = folder / "robot.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _sub(old: str, new: str):
    return lambda f: _rewrite(f, old, new)


ABSURD_NUMBERS = {  # damage -> the error's key words
    "zero speed": (
        _sub("max_speed: [3.0,", "max_speed: [0.0,"),
        r"spec.max_speed\[0\]: must be in \(0, 50\]",
    ),
    "negative speed": (_sub("max_speed: [3.0,", "max_speed: [-3.0,"), r"spec.max_speed\[0\]"),
    "huge speed": (_sub("max_speed: [3.0,", "max_speed: [1.0e+300,"), r"spec.max_speed\[0\]"),
    "negative force": (_sub("joint_force: [8.0,", "joint_force: [-8.0,"), r"spec.joint_force\[0\]"),
    "huge rate": (
        _sub("control_hz: 25.0", "control_hz: 1.0e+12"),
        r"spec.control_hz: must be in \[1, 1000\]",
    ),
    "huge step": (_sub("max_target_step: 0.25", "max_target_step: 1.0e+300"), "spec.max_target_step"),
    "huge floor": (_sub("floor_z_m: 0.01", "floor_z_m: 1.0e+6"), "spec.floor_z_m"),
    "huge ee scale": (_sub("ee_delta_scale_m: 0.025", "ee_delta_scale_m: 1.0e+300"), "spec.ee_delta_scale_m"),
    "huge reach": (_sub("reach_m: 0.35", "reach_m: 1.0e+300"), "spec.workspace.reach_m"),
    "huge limits": (_sub("lower: [-1.5707963267948966,", "lower: [-1.0e+300,"), r"spec.lower\[0\]"),
    "huge substeps": (_sub("sim_substeps: 10", "sim_substeps: 1000000000000"), "spec.sim_substeps"),
    "float substeps": (_sub("sim_substeps: 10", "sim_substeps: 10.5"), "spec.sim_substeps: want an integer"),
    "substeps not the period": (
        _sub("sim_substeps: 10", "sim_substeps: 12"),
        r"spec.sim_substeps: sim_timestep_s x sim_substeps = 0.048 s must be the control period",
    ),
    "tiny timestep": (_sub("sim_timestep_s: 0.004", "sim_timestep_s: 1.0e-300"), "spec.sim_timestep_s"),
    "gripper open outside": (_sub("open_q: [1.0]", "open_q: [50.0]"), r"spec.gripper.open_q\[0\]"),
    "camera fov 0": (_sub("pitch_deg: -28.0}", "pitch_deg: -28.0, fov_deg: 0.0}"), "scene.camera.fov_deg"),
    "camera behind": (_sub("distance_m: 0.6", "distance_m: -5.0"), "scene.camera.distance_m"),
    "400-digit number": (
        _sub("control_hz: 25.0", "control_hz: " + "9" * 400),
        "spec.control_hz: want a finite",
    ),
}
AGAINST_MODEL = {
    "limits wider than the URDF": (
        _sub("upper: [1.5707963267948966,", "upper: [3.0,"),
        r"spec.lower/upper\[0\]: .*'base_yaw' is not inside the model's \[-1.5708, 1.5708\]",
    ),
    "joint not in the URDF": (
        _sub("joint_names: [base_yaw,", "joint_names: [nojoint,"),
        "not a movable joint",
    ),
    "duplicate joint": (
        _sub("joint_names: [base_yaw, shoulder,", "joint_names: [base_yaw, base_yaw,"),
        "twice",
    ),
    "ee_link not in the URDF": (
        _sub("ee_link: ee_link", "ee_link: nolink"),
        "spec.ee_link: 'nolink' is not a link",
    ),
    "model is robot.yaml": (
        _sub("urdf: servo_arm.urdf", "urdf: robot.yaml"),
        "spec.urdf: model file is not a URDF",
    ),
}
TASK_SETTINGS = {
    "negative threshold": (
        _sub("reach: {distance_threshold_m: 0.02}", "reach: {distance_threshold_m: -1.0}"),
        "distance_threshold_m must be a number in",
    ),
    "text threshold": (
        _sub("reach: {distance_threshold_m: 0.02}", "reach: {distance_threshold_m: far}"),
        "distance_threshold_m must be a number in",
    ),
    "unknown setting": (
        _sub("reach: {distance_threshold_m: 0.02}", "reach: {bogus: 1}"),
        r"unknown robot setting",
    ),
    "unknown task": (
        _sub("reach: {distance_threshold_m: 0.02}", "juggle: {x: 1}"),
        "tasks: unknown task 'juggle'",
    ),
    "bad goal box": (
        _sub("reach: {distance_threshold_m: 0.02}", "reach: {goal_box_m: [[1, 2], [3]]}"),
        "goal_box_m",
    ),
}
TRAIN_DEFAULTS = {
    "unknown key": (_sub("td3: {steps: 10000}", "td3: {stepz: 10000}"), r"train.td3.stepz: unknown training"),
    "text rate": (
        _sub("td3: {steps: 10000}", "td3: {learning_rate: fast}"),
        r"train.td3.learning_rate: want",
    ),
    "negative steps": (_sub("td3: {steps: 10000}", "td3: {steps: -5}"), r"train.td3.steps: want an integer"),
    "unknown algorithm": (_sub("td3: {steps: 10000}", "dqn: {steps: 10000}"), "unknown algorithm 'dqn'"),
}
YAML = {
    "alias bomb": (
        _sub(
            "reach: {distance_threshold_m: 0.02}",
            "reach: {distance_threshold_m: 0.02, goal_box_m: ["
            + ", ".join(
                ["&a0 [1,1,1,1,1,1,1,1,1,1]"]
                + [f"&a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
            )
            + "]}",
        ),
        "anchors and aliases",
    ),
    "duplicate key": (
        _sub("  control_hz: 25.0", "  control_hz: 25.0\n  control_hz: 1000.0"),
        "duplicate key",
    ),
}
CASES = {
    f"{kind}: {name}": case
    for kind, table in (
        ("number", ABSURD_NUMBERS),
        ("model", AGAINST_MODEL),
        ("task", TASK_SETTINGS),
        ("train", TRAIN_DEFAULTS),
        ("yaml", YAML),
    )
    for name, case in table.items()
}


@pytest.mark.usefixtures("clean_registry")
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_damaged_robot_folder_is_refused_at_registration_in_one_line(tmp_path, case):
    folder = copy_servo_arm(tmp_path, "bad_arm")
    damage, message = CASES[case]
    damage(folder)
    start = time.monotonic()
    with pytest.raises(RobotFolderError, match=message) as err:
        register_robot(folder)
    assert time.monotonic() - start < 5.0  # the alias bomb took > 60 s before
    assert (
        str(folder.resolve()) in str(err.value) and "\n" not in str(err.value) and len(str(err.value)) < 1000
    )
    assert "bad_arm" not in list_robots() and "robokit/BadArmReach-v0" not in gym.registry


@pytest.mark.usefixtures("clean_registry")
def test_an_undamaged_copy_registers_with_the_same_spec(tmp_path):
    """The checks refuse nothing the shipped servo arm uses (its limits pass the URDF's rounded pi/2)."""
    spec = register_robot(copy_servo_arm(tmp_path, "good_arm"))
    shipped = get_robot("servo_arm")
    assert dataclasses.replace(spec, name="servo_arm", urdf=shipped.urdf) == shipped
    assert "good_arm" in list_robots()


def test_the_train_schema_matches_train_config():
    """robots cannot import policies (lower layer): its copy of TrainConfig's fields must agree."""
    from robokit.policies.config import ALGOS, TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    # a dataset is a run's input (a path), not a robot's default
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"env_id", "out", "algo", "dataset"}
    assert set(TRAIN_KEYS) == fields and set(TRAIN_ALGOS) == set(ALGOS)
    kinds = {int: "int", float: "float", bool: "bool", str: "str", list[int]: "ints", float | None: "float?"}
    assert {k: kinds[hints[k]] for k in fields} == {k: v[0] for k, v in TRAIN_KEYS.items()}


@pytest.mark.usefixtures("clean_registry")
def test_a_broken_built_in_robot_is_reported_in_one_line_and_the_others_load(tmp_path, monkeypatch, capsys):
    builtin = tmp_path / "robots"
    broken = copy_servo_arm(builtin, "servo_arm")
    (broken / "robot.yaml").write_text("spec: [unclosed\n")
    copy_servo_arm(builtin, "other_arm")
    monkeypatch.setattr(registry, "_BUILTIN_DIR", builtin)
    monkeypatch.setattr(registry, "_loaded_builtins", False)
    monkeypatch.setattr(registry, "_BROKEN", {})
    registry._FOLDERS.clear()
    registry._LISTENERS.clear()  # the env id table: restored by clean_registry
    assert list_robots() == ["other_arm"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "built-in robot 'servo_arm' skipped" in err[0] and "not valid YAML" in err[0]
    with pytest.raises(KeyError, match="could not be loaded: .*not valid YAML"):
        get_robot("servo_arm")
    assert get_robot("other_arm").name == "other_arm"
