"""Env options: terminate_on_success, reset(options={"goal": ...}), constructor arguments."""

import warnings

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs
from robokit.robots import GoalOutsideWorkspace


def _greedy(obs, scale):
    return np.clip((obs["desired_goal"] - obs["achieved_goal"]) / scale, -1, 1)


def _run(env, seed):
    """Greedy episode to the end: per-step (terminated, truncated, is_success)."""
    obs, _ = env.reset(seed=seed)
    scale = env.unwrapped.robot.ee_delta_scale_m
    flags = []
    while True:
        obs, _, term, trunc, info = env.step(_greedy(obs, scale))
        flags.append((term, trunc, info["is_success"]))
        if term or trunc:
            return flags


def test_terminate_on_success_off_runs_to_the_time_limit():
    on = gym.make("robokit/ServoArmReach-v0")
    off = gym.make("robokit/ServoArmReach-v0", terminate_on_success=False)
    assert on.unwrapped.terminate_on_success is True and off.unwrapped.terminate_on_success is False
    flags_on, flags_off = _run(on, 3), _run(off, 3)
    assert flags_on[-1] == (True, False, True)  # default unchanged: ends at the first success
    first = len(flags_on)
    assert first < robokit.envs.EPISODE_STEPS
    assert len(flags_off) == robokit.envs.EPISODE_STEPS  # to the time limit
    assert not any(term for term, _, _ in flags_off) and flags_off[-1][1] is True
    assert [s for _, _, s in flags_off[:first]] == [s for _, _, s in flags_on]  # same episode until then
    assert sum(s for _, _, s in flags_off[first:]) > 0.8 * (len(flags_off) - first)  # holding: reported
    on.close()
    off.close()


def test_terminate_on_success_must_be_a_bool():
    with pytest.raises(ValueError, match="terminate_on_success must be True or False"):
        gym.make("robokit/ServoArmReach-v0", terminate_on_success="no")


@pytest.mark.parametrize(
    "env_id,goal",
    [("robokit/ServoArmReach-v0", [0.15, 0.05, 0.12]), ("robokit/PandaReach-v0", [0.5, -0.1, 0.2])],
)
def test_reset_with_a_goal_uses_it(env_id, goal):
    env = gym.make(env_id, render_mode="rgb_array", render_width=64, render_height=48)
    obs, _ = env.reset(seed=0, options={"goal": goal})
    np.testing.assert_array_equal(obs["desired_goal"], np.asarray(goal, dtype=np.float32))
    u = env.unwrapped
    marker = u.bullet.client, u.task.marker
    from robokit.core.bullet_client import p

    np.testing.assert_allclose(
        p.getBasePositionAndOrientation(marker[1], physicsClientId=marker[0])[0], goal, atol=1e-6
    )
    flags = _run_from(env, obs)
    assert flags[-1][2]  # a greedy policy reaches the given goal
    obs2, _ = env.reset(seed=0)  # without options: sampled again, as the seed says
    assert not np.array_equal(obs2["desired_goal"], obs["desired_goal"])
    env.close()


def _run_from(env, obs):
    scale = env.unwrapped.robot.ee_delta_scale_m
    flags = []
    for _ in range(robokit.envs.EPISODE_STEPS):
        obs, _, term, trunc, info = env.step(_greedy(obs, scale))
        flags.append((term, trunc, info["is_success"]))
        if term or trunc:
            break
    return flags


def test_a_given_goal_keeps_the_random_stream():
    """The goal is still sampled (and discarded), so everything else a seed decides stays the same."""
    env = gym.make("robokit/ServoArmReach-v0")
    env.reset(seed=5, options={"goal": [0.15, 0.0, 0.15]})
    a = env.unwrapped.np_random.random()
    env.reset(seed=5)
    assert env.unwrapped.np_random.random() == a
    env.close()


@pytest.mark.parametrize(
    "goal,match",
    [
        ([10, 10, 10], "beyond the reach"),
        ([0.0, 0.0, -1.0], "below the floor"),
        ([0.0, 0.0, 0.12], "closer than"),
        ([1e308, 0, 0], "finite"),
        ([np.nan, 0.1, 0.1], "finite"),
        ([0.1, 0.1], r"shape \(3,\)"),
        ([[0.1, 0.1, 0.1]], r"shape \(3,\)"),
        ("abc", "3 numbers"),
        ({"x": 1}, "3 numbers|shape"),
    ],
)
def test_a_bad_goal_is_refused_before_anything_moves(goal, match):
    env = gym.make("robokit/ServoArmReach-v0")
    obs, _ = env.reset(seed=1)
    for _ in range(3):
        obs, *_ = env.step(env.action_space.high)
    u = env.unwrapped
    before = (u.arm.t_s, u.task.goal.copy(), u.arm.measured_q())
    with pytest.raises(ValueError, match=match):
        env.reset(seed=2, options={"goal": goal})
    assert u.arm.t_s == before[0] and np.array_equal(u.task.goal, before[1])
    assert np.array_equal(u.arm.measured_q(), before[2])
    env.close()


def test_an_unreachable_goal_says_where_the_workspace_is():
    env = gym.make("robokit/ServoArmReach-v0")
    with pytest.raises(GoalOutsideWorkspace, match=r"servo_arm workspace: reachable: 0\.12-0\.35 m"):
        env.reset(options={"goal": [0.5, 0.0, 0.1]})
    env.close()


def test_a_reachable_goal_outside_the_training_region_warns():
    env = gym.make("robokit/ServoArmReach-v0")
    with pytest.warns(UserWarning, match="outside the region training sampled goals from"):
        obs, _ = env.reset(options={"goal": [-0.1, 0.0, 0.2]})
    np.testing.assert_array_equal(obs["desired_goal"], np.float32([-0.1, 0.0, 0.2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.reset(options={"goal": [0.15, 0.05, 0.12]})  # inside: no warning
    env.close()


@pytest.mark.parametrize(
    "options,match", [({"gaol": [0.1, 0, 0.1]}, "unknown reset option"), ([0.1, 0, 0.1], "must be a dict")]
)
def test_unknown_reset_options_are_refused(options, match):
    env = gym.make("robokit/ServoArmReach-v0")
    with pytest.raises(ValueError, match=match):
        env.reset(options=options)
    obs, _ = env.reset(options={"goal": None})  # None: sample one, as without options
    assert obs["desired_goal"].shape == (3,)
    env.close()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"render_width": 0}, "render_width"),
        ({"render_height": -5}, "render_height"),
        ({"render_width": 100000}, "render_width"),
        ({"render_width": 64.5}, "render_width"),
        ({"sim_timestep_s": 0}, "sim_timestep_s"),
        ({"sim_timestep_s": -0.01}, "sim_timestep_s"),
        ({"sim_timestep_s": float("nan")}, "sim_timestep_s"),
        ({"sim_substeps": 0}, "sim_substeps"),
        ({"solver_iterations": 0}, "solver_iterations"),
        ({"camera": {"yaw": 10}}, "camera"),
        ({"control_mode": "teleport"}, "control mode"),
        ({"task": "juggle"}, "unknown task"),
        ({"render_mode": "ascii"}, "render_mode"),
    ],
)
@pytest.mark.filterwarnings("ignore:.*render_mode='ascii'")  # gymnasium's own warning, before ours
def test_bad_constructor_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make("robokit/ServoArmReach-v0", **kwargs)


@pytest.mark.parametrize(
    "task_kwargs,match",
    [
        ({"distance_threshold_m": 0.0}, "distance_threshold_m"),
        ({"distance_threshold_m": float("nan")}, "distance_threshold_m"),
        ({"joint_fraction": 2.0}, "joint_fraction"),
        ({"min_radius_m": -1.0}, "min_radius_m"),
        ({"min_goal_z_m": float("inf")}, "min_goal_z_m"),
    ],
)
def test_bad_task_arguments_are_refused(task_kwargs, match):
    """A threshold of 0 made every episode a failure without a word."""
    with pytest.raises(ValueError, match=f"Reach: {match} must be a number"):
        gym.make("robokit/ServoArmReach-v0", task_kwargs=task_kwargs)
    env = gym.make("robokit/ServoArmReach-v0", task_kwargs={"distance_threshold_m": np.float64(0.03)})
    assert env.unwrapped.task.distance_threshold_m == 0.03
    env.close()


def test_render_refuses_an_empty_frame():
    from robokit.envs.bullet import Bullet

    b = Bullet(0.01)
    with pytest.raises(ValueError, match="at least 1x1"):
        b.render(0, 10)
    b.close()


def test_sim_substeps_sets_the_physics_step_and_must_agree_with_a_given_one():
    """sim_substeps used to be accepted and ignored: now it is the number of physics steps per control
    period (the servo arm's is 40 ms), and a timestep that disagrees with it is refused."""
    env = gym.make("robokit/ServoArmReach-v0", sim_substeps=5).unwrapped
    assert env.robot.sim_timestep_s == pytest.approx(0.008) and env.robot.sim_substeps == 5
    env.close()
    env = gym.make("robokit/ServoArmReach-v0", sim_timestep_s=0.002).unwrapped
    assert env.robot.sim_substeps == 20
    env.close()
    with pytest.raises(ValueError, match="not the control period"):
        gym.make("robokit/ServoArmReach-v0", sim_timestep_s=0.002, sim_substeps=5)
