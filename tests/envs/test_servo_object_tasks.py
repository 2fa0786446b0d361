"""The servo arm's Push and PickAndPlace (issue 11): the grasp test's 3 cm, 20 g cube with friction 1.0 and
friction anchors, ranges inside its reach, a 2.5 cm threshold, and ids at the 2 ms physics step that
holds objects (Reach's ids keep robot.yaml's 4 ms). Real parts: PyBullet and the registered ids."""

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs
from robokit.core.bullet_client import p
from robokit.envs.tasks import TASKS
from robokit.robots import get_robot, robot_folder

IDS = {
    "push": ("robokit/ServoArmPush-v0", "robokit/ServoArmPushDense-v0"),
    "pick_and_place": ("robokit/ServoArmPickAndPlace-v0", "robokit/ServoArmPickAndPlaceDense-v0"),
}
GRASP_STEP = {"sim_timestep_s": 0.002, "sim_substeps": 20}  # docs/hardware.md, Gripper model


@pytest.mark.parametrize("task", list(IDS))
def test_the_ids_run_at_the_grasp_physics_step_and_reach_keeps_its_own(task):
    for env_id, reward in zip(IDS[task], ("sparse", "dense")):
        kwargs = robokit.envs.ENV_SPECS[env_id]
        assert kwargs["task"] == task and kwargs["control_mode"] == "ee_delta"
        assert kwargs["reward_type"] == reward
        assert {k: kwargs[k] for k in GRASP_STEP} == GRASP_STEP
    reach = robokit.envs.ENV_SPECS["robokit/ServoArmReach-v0"]
    assert "sim_timestep_s" not in reach and get_robot("servo_arm").sim_timestep_s == 0.004


@pytest.mark.parametrize("task", list(IDS))
def test_the_cube_is_the_grasp_tests(task):
    env = gym.make(IDS[task][0])
    env.reset(seed=0)
    u = env.unwrapped
    assert u.robot.sim_timestep_s == 0.002 and u.robot.sim_substeps == 20
    body = u.bullet.bodies["object"]
    info = p.getDynamicsInfo(body, -1, physicsClientId=u.bullet.client)
    assert info[0] == pytest.approx(0.02) and info[1] == pytest.approx(1.0)  # mass kg, lateral friction
    aabb = np.array(p.getAABB(body, physicsClientId=u.bullet.client))
    np.testing.assert_allclose(aabb[1] - aabb[0], 0.03, atol=0.002)  # PyBullet pads the AABB
    assert u.task.settings["friction_anchor"] is True
    assert u.task.distance_threshold_m == 0.025
    env.close()


def _distances_from_shoulder(points: np.ndarray) -> np.ndarray:
    shoulder = np.asarray(get_robot("servo_arm").workspace.shoulder_m)
    return np.linalg.norm(points - shoulder, axis=1)


@pytest.mark.parametrize("task", list(IDS))
def test_the_ranges_lie_inside_the_reach_with_room_for_the_hand(task):
    """Every corner of the cube's and the goal's boxes, at the cube's height and (PickAndPlace) at the
    highest goal, lies 3 cm inside the arm's reach (0.12-0.35 m from the shoulder), in front of the base."""
    s = robot_folder("servo_arm").task_settings(task)
    spec = get_robot("servo_arm")
    top = s.get("goal_height_m", [0.0, 0.0])[1]
    for key in ("object_xy_m", "goal_xy_m"):
        box = np.asarray(s[key])
        assert np.all(box[:, 0] > 0.1)  # in front of the base
        corners = np.array([[x, y] for x in box[:, 0] for y in box[:, 1]])
        for z in (0.015, 0.015 + (top if key == "goal_xy_m" else 0.0)):
            d = _distances_from_shoulder(np.column_stack([corners, np.full(4, z)]))
            assert np.all(d > spec.workspace.min_reach_m + 0.03) and np.all(d < spec.workspace.reach_m - 0.03)


def test_pick_and_place_goals_are_in_the_air_or_on_the_table_with_panda_gyms_probability():
    env = gym.make(IDS["pick_and_place"][0])
    s = env.unwrapped.task.settings
    goals = np.array([env.reset(seed=seed)[0]["desired_goal"] for seed in range(300)])
    env.close()
    lo, hi = np.asarray(s["goal_xy_m"])
    assert np.all(goals[:, :2] >= lo - 1e-6) and np.all(goals[:, :2] <= hi + 1e-6)
    on_table = np.isclose(goals[:, 2], 0.015, atol=1e-6)
    assert 0.22 < on_table.mean() < 0.38  # panda-gym's 0.3
    assert goals[~on_table, 2].max() > 0.015 + 0.8 * s["goal_height_m"][1]


@pytest.mark.parametrize("value", [1, "yes", None])
def test_a_bad_friction_anchor_setting_is_refused_by_name(value):
    with pytest.raises(ValueError, match="friction_anchor"):
        TASKS["push"].robot_settings({"friction_anchor": value})
