import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import robokit.envs
from robokit.envs.bullet import NoDisplayError

ALL_IDS = list(robokit.envs.ENV_SPECS)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_check_env_passes(env_id):
    """gymnasium's check_env also builds the env in every render mode, 'human' included, which needs a
    display: headless, pass skip_render_check=True (docs/training.md says so)."""
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    steps = 100 if env_id.startswith("robokit/PandaStack") else robokit.envs.EPISODE_STEPS  # as panda-gym
    assert env.spec.max_episode_steps == steps
    assert env.unwrapped.metadata["render_fps"] == env.unwrapped.robot.control_hz
    env.close()


def test_also_usable_with_module_prefix():
    env = gym.make("robokit.envs:robokit/ServoArmReach-v0")
    assert env.unwrapped.robot.name == "servo_arm"
    env.close()


@pytest.mark.parametrize("env_id", ["robokit/ServoArmReach-v0", "robokit/ServoArmReachDense-v0"])
def test_compute_reward_is_vectorised(env_id):
    env = gym.make(env_id)
    u = env.unwrapped
    rng = np.random.default_rng(0)
    achieved = rng.uniform(0, 0.3, (64, 3)).astype(np.float32)
    desired = achieved + rng.normal(0, 0.03, (64, 3)).astype(np.float32)
    r = u.compute_reward(achieved, desired, [{}] * 64)
    assert r.shape == (64,)
    d = np.linalg.norm(achieved - desired, axis=-1)
    thr = u.task.distance_threshold_m
    want = -(d >= thr).astype(np.float32) if u.task.reward_type == "sparse" else -d
    assert np.allclose(r, want, atol=1e-6)
    for i in range(3):  # matches the single-step reward
        assert u.compute_reward(achieved[i], desired[i], {}) == pytest.approx(float(want[i]), abs=1e-6)
    env.close()


def _rollout(env, seed, actions):
    """Observations, then the simulated bodies' joint positions (the servo arm's observations hold the
    servo model's setpoints, so the bodies are compared too), per step; and the goal."""
    obs, _ = env.reset(seed=seed)
    arm = env.unwrapped.arm
    traj = [np.concatenate([obs["observation"], arm.measured_q()])]
    for a in actions:
        obs, *_ = env.step(a)
        traj.append(np.concatenate([obs["observation"], arm.measured_q()]))
    return np.array(traj), obs["desired_goal"].copy()


@pytest.mark.parametrize("env_id", ["robokit/ServoArmReach-v0", "robokit/PandaReach-v0"])
def test_determinism_after_other_episodes(env_id):
    env = gym.make(env_id)
    actions = np.random.default_rng(1).uniform(-1, 1, (30, env.action_space.shape[0]))
    first, goal1 = _rollout(env, 7, actions)
    for s in range(3):  # other episodes in between, with other actions
        _rollout(env, 100 + s, -actions)
    again, goal2 = _rollout(env, 7, actions)
    assert np.array_equal(goal1, goal2)
    assert np.max(np.abs(first - again)) < 1e-6
    fresh = gym.make(env_id)
    other, _ = _rollout(fresh, 7, actions)
    assert np.max(np.abs(first - other)) < 1e-6
    env.close()
    fresh.close()


def test_nan_action_raises_and_never_reaches_the_sim():
    env = gym.make("robokit/ServoArmReach-v0")
    u = env.unwrapped
    env.reset(seed=0)
    env.step(np.array([0.5, 0.0, 0.0]))
    before = (u.arm.read().q.copy(), u.arm.t_s, u.arm._target.copy())
    for bad in ([np.nan, 0, 0], [0, np.inf, 0], [0, 0, -np.inf]):
        with pytest.raises(ValueError, match="NaN or inf"):
            u.step(np.array(bad))
    after = (u.arm.read().q, u.arm.t_s, u.arm._target)
    assert (
        np.array_equal(before[0], after[0]) and before[1] == after[1] and np.array_equal(before[2], after[2])
    )
    with pytest.raises(ValueError, match="shape"):
        u.step(np.zeros(5))
    env.close()


def test_out_of_range_actions_are_clipped():
    a = np.array([3.0, -7.0, 0.4])
    runs = []
    for act in (a, np.clip(a, -1, 1)):
        env = gym.make("robokit/ServoArmReach-v0")
        env.reset(seed=3)
        obs, *_ = env.unwrapped.step(act)
        runs.append(obs["observation"])
        env.close()
    assert np.array_equal(runs[0], runs[1])
    assert np.array_equal(runs[0][-3:], np.clip(a, -1, 1).astype(np.float32))  # last action as applied


@pytest.mark.parametrize("env_id", ["robokit/ServoArmReach-v0", "robokit/PandaReach-v0"])
def test_rgb_array_frames(env_id):
    env = gym.make(env_id, render_mode="rgb_array", render_width=160, render_height=120)
    env.reset(seed=0)
    f0 = env.render()
    assert f0.shape == (120, 160, 3) and f0.dtype == np.uint8
    assert f0.std() > 10  # not blank
    for _ in range(10):
        env.step(env.action_space.high)
    f1 = env.render()
    assert np.mean(f0 != f1) > 0.001  # the arm moved in the picture
    env.close()


def test_goal_marker_is_drawn():
    env = gym.make("robokit/ServoArmReach-v0", render_mode="rgb_array", render_width=160, render_height=120)
    env.reset(seed=0)
    frame = env.render().astype(int)
    green = (frame[:, :, 1] > 150) & (frame[:, :, 0] < 100) & (frame[:, :, 2] < 100)
    assert green.sum() > 2
    env.close()


def test_human_mode_without_display_raises(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(NoDisplayError, match="needs a display"):
        gym.make("robokit/ServoArmReach-v0", render_mode="human")


def test_panda_goals_mirror_panda_gym():
    env = gym.make("robokit/PandaReach-v0")
    u = env.unwrapped
    goals = np.array([env.reset(seed=s)[0]["desired_goal"] for s in range(200)])
    # panda-gym: x, y in +-0.15 m, z in [0, 0.3] m around a world origin 0.6 m ahead of the Panda's base
    low, high = np.array([0.45, -0.15, 0.0]), np.array([0.75, 0.15, 0.3])
    assert np.all(goals >= low - 1e-6) and np.all(goals <= high + 1e-6)
    assert np.all(goals.min(axis=0) < low + 0.03) and np.all(goals.max(axis=0) > high - 0.03)  # all of it
    assert u.task.distance_threshold_m == 0.05 and u.robot.ee_delta_scale_m == 0.05
    env.close()


@pytest.mark.parametrize(
    "env_id,threshold", [("robokit/ServoArmReach-v0", 0.9), ("robokit/PandaReach-v0", 0.9)]
)
def test_goals_are_reachable_by_a_greedy_policy(env_id, threshold):
    env = gym.make(env_id)
    scale = env.unwrapped.robot.ee_delta_scale_m
    wins = 0
    for ep in range(20):
        obs, _ = env.reset(seed=ep)
        for _ in range(50):
            obs, r, term, trunc, info = env.step(
                np.clip((obs["desired_goal"] - obs["achieved_goal"]) / scale, -1, 1)
            )
            if term or trunc:
                break
        wins += info["is_success"]
        assert r == 0.0 if info["is_success"] else r == -1.0
    assert wins / 20 >= threshold
    env.close()


@pytest.mark.parametrize("env_id", ["robokit/PandaReach-v0", "robokit/ServoArmReach-v0"])
def test_observed_end_effector_is_the_kinematics_fk(env_id):
    """The env may take the FK of a measured q from the simulator's own bodies; it must be
    bit-identical to what a host's Kinematics computes from the same q (as on hardware)."""
    from robokit.core.kinematics import Kinematics

    env = gym.make(env_id)
    kin = Kinematics(env.unwrapped.robot)
    env.action_space.seed(1)
    env.reset(seed=1)
    for _ in range(60):
        obs, *_ = env.step(env.action_space.sample())
        q = env.unwrapped._state.q
        np.testing.assert_array_equal(obs["achieved_goal"], kin.fk(q).astype(np.float32))
        # the controller's next target uses the same FK: its cache must hold exactly fk(q)
        np.testing.assert_array_equal(env.unwrapped.kin.fk(q), kin.fk(q))
    kin.close()
    env.close()


def test_a_reach_start_pose_is_drawn_when_the_robot_asks_for_it_and_only_then():
    """The SO-101's Reach starts each episode up to start_noise_rad from home (a deploy chains goals from
    wherever the last one left the arm); the same seed gives the same pose; robots without the setting
    start at home and draw nothing (their goals are the same as before the setting existed)."""
    so = gym.make("robokit/So101Reach-v0")
    u = so.unwrapped
    noise = u.task.start_noise_rad
    home = np.asarray(u.robot.home_q)
    starts = []
    for seed in (0, 1, 0):
        so.reset(seed=seed)
        starts.append(u.arm.read().q.copy())
    so.close()
    assert noise > 0 and np.array_equal(starts[0], starts[2]) and not np.allclose(starts[0], starts[1])
    assert 0.01 < np.max(np.abs(starts[1] - home)) <= noise + 1e-9
    servo = gym.make("robokit/ServoArmReach-v0")
    servo.reset(seed=0)
    assert np.allclose(servo.unwrapped.arm.read().q, servo.unwrapped.robot.home_q)
    assert servo.unwrapped.task.start_q(np.random.default_rng(0)) is None
    servo.close()
