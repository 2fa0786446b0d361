"""Env ids come from one table (robot folders' ``envs`` x ``ID_PARTS``): today's ids, their kwargs and
training defaults are unchanged, and the table takes new dimensions without renaming an id."""

import gymnasium as gym
import pytest

import robokit.envs
from robokit.envs import registration
from robokit.envs.registration import ID_PARTS, env_row, train_defaults

TODAY = {  # the ids and kwargs before env ids were generated (robot, task, control mode, reward)
    "robokit/ServoArmReach-v0": ("servo_arm", "reach", "ee_delta", "sparse"),
    "robokit/ServoArmReachDense-v0": ("servo_arm", "reach", "ee_delta", "dense"),
    "robokit/ServoArmReachJoints-v0": ("servo_arm", "reach", "joint_delta", "sparse"),
    "robokit/PandaReach-v0": ("panda", "reach", "ee_delta", "sparse"),
    "robokit/PandaReachDense-v0": ("panda", "reach", "ee_delta", "dense"),
}
OBJECT_IDS = {  # issue 11's object tasks on the Panda: ee_delta, sparse and dense
    f"robokit/Panda{part}{dense}-v0": ("panda", task, "ee_delta", reward)
    for task, part in (
        ("push", "Push"),
        ("slide", "Slide"),
        ("pick_and_place", "PickAndPlace"),
        ("stack", "Stack"),
    )
    for reward, dense in (("sparse", ""), ("dense", "Dense"))
}
SERVO_OBJECT_IDS = {  # issue 11's Push and PickAndPlace on the servo arm, at the 2 ms grasp physics step
    f"robokit/ServoArm{part}{dense}-v0": ("servo_arm", task, "ee_delta", reward)
    for task, part in (("push", "Push"), ("pick_and_place", "PickAndPlace"))
    for reward, dense in (("sparse", ""), ("dense", "Dense"))
}
GRASP_STEP = {"sim_timestep_s": 0.002, "sim_substeps": 20}
_DENSE = {"terminate_on_success": True, "action_change_penalty": 0.0}
TODAY_TRAIN = {  # policies/config.py's ENV_DEFAULTS before it moved into the robot folders
    "robokit/ServoArmReach-v0": {"td3": {"steps": 10_000}, "sac": {"steps": 10_000}},
    "robokit/ServoArmReachJoints-v0": {"td3": {"steps": 30_000}, "sac": {"steps": 30_000}},
    "robokit/ServoArmReachDense-v0": {"td3": {"steps": 10_000, **_DENSE}, "sac": {"steps": 10_000, **_DENSE}},
    "robokit/PandaReach-v0": {"td3": {"steps": 6_000}, "sac": {"steps": 6_000}},
    "robokit/PandaReachDense-v0": {"td3": {"steps": 6_000, **_DENSE}, "sac": {"steps": 6_000, **_DENSE}},
}
KEYS = ("robot", "task", "control_mode", "reward_type")


def test_the_id_list_and_kwargs_are_unchanged():
    servo, panda = list(TODAY)[:3], list(TODAY)[3:]
    order = servo + list(SERVO_OBJECT_IDS) + panda + list(OBJECT_IDS)  # in `robokit envs` order
    assert [i for i in robokit.envs.ENV_SPECS if not i.startswith("robokit/So101")] == order  # test_so101.py
    for env_id, values in OBJECT_IDS.items():
        assert robokit.envs.ENV_SPECS[env_id] == dict(zip(KEYS, values))
        assert gym.spec(env_id).max_episode_steps == (100 if values[1] == "stack" else 50)
    for env_id, values in SERVO_OBJECT_IDS.items():
        assert robokit.envs.ENV_SPECS[env_id] == {**dict(zip(KEYS, values)), **GRASP_STEP}
        assert gym.spec(env_id).max_episode_steps == 50
    for env_id, values in TODAY.items():
        assert robokit.envs.ENV_SPECS[env_id] == dict(zip(KEYS, values))
        spec = gym.spec(env_id)
        assert spec.kwargs == dict(zip(KEYS, values)) and spec.max_episode_steps == 50
        assert spec.entry_point == "robokit.envs.robot_env:RobotTaskEnv"


def test_each_id_has_its_training_defaults():
    assert {i: train_defaults(i) for i in TODAY} == TODAY_TRAIN
    assert train_defaults("robokit/Unknown-v0") == {}
    train_defaults("robokit/ServoArmReach-v0")["td3"]["steps"] = 1  # a copy: the table is unchanged
    assert train_defaults("robokit/ServoArmReach-v0")["td3"]["steps"] == 10_000


def test_a_new_dimension_with_a_default_keeps_every_id(monkeypatch):
    monkeypatch.setitem(ID_PARTS, "randomize", {"none": "", "dynamics": "Rand"})
    for env_id, values in TODAY.items():
        entry = dict(zip(KEYS[1:], values[1:]))
        assert env_row(values[0], entry) == (env_id, {**dict(zip(KEYS, values)), "randomize": "none"})
    entry = {"task": "reach", "reward_type": "dense", "randomize": "dynamics"}
    assert env_row("servo_arm", entry)[0] == "robokit/ServoArmReachDenseRand-v0"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"task": "juggle"}, "unknown task 'juggle'"),
        ({"task": "reach", "control_mode": "torque"}, "unknown control_mode 'torque'"),
        ({"task": "reach", "lighting": "dim"}, r"unknown dimension\(s\) \['lighting'\]"),
    ],
)
def test_an_entry_outside_the_table_is_refused(entry, message):
    with pytest.raises(ValueError, match=message):
        env_row("servo_arm", entry)


def test_register_envs_is_idempotent():
    from robokit.robots import registry

    listeners = list(registry._LISTENERS)
    registration.register_envs()
    assert listeners == registry._LISTENERS  # not a second listener (every robot's ids twice)
