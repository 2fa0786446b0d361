"""The scripted experts: each reaches its success target over 100 seeded episodes on the Panda (Push
and PickAndPlace at least 95%, Slide and Stack at least 90%) and on the servo arm (Push and PickAndPlace
at least 95%), acts from the observation dict alone, and refuses an env it was not written for."""

import time

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs  # noqa: F401  (registers the ids)
from robokit.envs.robot_env import RobotTaskEnv
from robokit.envs.tasks import TASKS
from robokit.envs.tasks.reach import Reach
from robokit.policies.experts import EXPERTS, expert_for
from robokit.policies.experts.push import PushExpert

EPISODES = 100


def success_rate(env_id: str, episodes: int = EPISODES) -> float:
    """The expert's success rate over seeds 0..episodes-1 (success: the episode ends in success)."""
    env = gym.make(env_id)
    expert = expert_for(env)
    wins = 0
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        done, info = False, {}
        while not done:
            action = expert.act(obs)
            assert action.shape == env.action_space.shape and np.all(np.abs(action) <= 1.0)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        wins += info["is_success"]
    env.close()
    return wins / episodes


@pytest.mark.parametrize(
    ("env_id", "target"),
    [
        # 100 episodes each (5-10 s); the default suite checks each expert's success and holding on a few
        # episodes (test_the_expert_holds_still_once_the_task_is_done), these the 100-episode bars
        pytest.param("robokit/PandaPush-v0", 0.95, marks=pytest.mark.slow),
        pytest.param("robokit/PandaPickAndPlace-v0", 0.95, marks=pytest.mark.slow),
        pytest.param("robokit/PandaStack-v0", 0.90, marks=pytest.mark.slow),  # ~20 s quiet, 45 s loaded
        pytest.param("robokit/ServoArmPush-v0", 0.95, marks=pytest.mark.slow),
        pytest.param("robokit/ServoArmPickAndPlace-v0", 0.95, marks=pytest.mark.slow),
        pytest.param("robokit/PandaSlide-v0", 0.90, marks=pytest.mark.slow),  # ~20 s
    ],
)
def test_the_expert_reaches_its_success_target_over_100_seeded_episodes(env_id, target):
    start = time.perf_counter()
    rate = success_rate(env_id)
    print(f"{env_id}: {rate:.0%} over {EPISODES} episodes in {time.perf_counter() - start:.1f} s")
    assert rate >= target


def test_every_object_task_has_an_expert():
    assert set(EXPERTS) == {"reach", "push", "slide", "pick_and_place", "stack"}
    for task, cls in EXPERTS.items():
        env = RobotTaskEnv(robot="panda", task=task)
        assert type(expert_for(gym.wrappers.TimeLimit(env, 10))) is cls
        env.close()


@pytest.mark.parametrize(
    ("env_id", "steps"), [("robokit/PandaPickAndPlace-v0", 15), ("robokit/PandaSlide-v0", 30)]
)
def test_an_expert_acts_from_the_observation_alone(env_id, steps):
    """The same observation gives the same action, from a second env that never stepped: no hidden
    state and no simulator access (Slide's expert computes the hand's yaw from q in its own client)."""
    env, other = gym.make(env_id), gym.make(env_id)
    expert, fresh = expert_for(env), expert_for(other)
    obs, _ = env.reset(seed=7)
    for _ in range(steps):
        action = expert.act(obs)
        np.testing.assert_array_equal(action, fresh.act({k: v.copy() for k, v in obs.items()}))
        obs, *_ = env.step(action)
    env.close(), other.close()


class Unscripted(Reach):
    """A task no expert is written for."""


def test_an_expert_refuses_an_env_it_was_not_written_for(monkeypatch):
    joints = RobotTaskEnv(robot="panda", task="push", control_mode="joint_delta")
    with pytest.raises(ValueError, match="ee_delta"):
        PushExpert(joints)
    joints.close()
    monkeypatch.setitem(TASKS, "unscripted", Unscripted)
    reach = RobotTaskEnv(robot="panda", task="unscripted")
    with pytest.raises(ValueError, match="no scripted expert for task 'unscripted'"):
        expert_for(reach)
    with pytest.raises(ValueError, match="push"):
        PushExpert(RobotTaskEnv(robot="panda", task="stack"))
    reach.close()


@pytest.mark.parametrize(
    ("env_id", "episodes", "measured"),
    [
        ("robokit/PandaPush-v0", 10, 8),
        ("robokit/ServoArmPush-v0", 10, 8),
        ("robokit/PandaSlide-v0", 16, 6),  # a puck past the goal before 0.5 s leaves no holding window
        ("robokit/PandaStack-v0", 4, 4),
    ],
)
def test_the_expert_holds_still_once_the_task_is_done(env_id, episodes, measured):
    """Issue 9's holding measure (from 0.5 s after the first success) under its thresholds, median over
    the episodes. Push's expert used to go round the cube again for the last centimetres (7.2 cm/s median
    tip path); Slide's chased the puck it had sent past the goal (122 cm/s); Stack's released object2
    3 cm off object1's top, where it slid off and was stacked again (3.7 cm/s), and before that held
    object1 forever 5 cm from its goal (15% success)."""
    from robokit.policies.evaluation import run_episode

    env = gym.make(env_id, terminate_on_success=False)
    expert = expert_for(env)
    results = [run_episode(env, expert, seed)[0] for seed in range(episodes)]
    env.close()
    assert sum(r.success for r in results) >= measured
    held = [r.holding for r in results if r.holding and r.holding["tip_path_cm_per_s"] is not None]
    assert len(held) >= measured
    assert np.median([h["tip_path_cm_per_s"] for h in held]) < 0.5
    assert np.median([h["q_std_max_rad"] for h in held]) < 0.003


@pytest.mark.parametrize("env_id", ["robokit/PandaPickAndPlace-v0", "robokit/ServoArmPickAndPlace-v0"])
def test_the_pick_and_place_expert_grips_gently_and_lets_go_on_the_table(env_id):
    """The squeeze (RobotTaskEnv.grip_squeeze) from 0.5 s after the first success stays small: the expert
    commands the jaws just inside the cube, not shut (shut, the median was 0.47 on the Panda and 0.40 on
    the servo arm: a servo stalled for as long as it held); a cube placed on a goal on the table is let go."""
    env = gym.make(env_id, terminate_on_success=False)
    u, expert = env.unwrapped, expert_for(env)
    squeezes, released = [], []
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        first, window = None, []
        for step in range(50):
            obs, _, _, _, info = env.step(expert.act(obs))
            first = step if first is None and info["is_success"] else first
            if first is not None and step >= first + 12:  # 0.5 s at 25 Hz
                window.append(u.grip_squeeze())
        if window:
            squeezes.append(float(np.median(window)))
        if obs["desired_goal"][2] < u.task.object_size_m / 2 + 1e-6 and info["is_success"]:
            released.append(expert.opening(obs))
    env.close()
    assert len(squeezes) >= 8
    assert np.median(squeezes) < 0.15 and max(squeezes) < 0.45, squeezes
    assert released and min(released) > 0.9, released


@pytest.mark.slow  # the default suite stays under 10 minutes; `pytest -m slow` runs it
def test_the_pick_and_place_expert_holds_still_with_the_cube_at_a_goal_in_the_air():
    """Holding a cube at an air goal it used to chase the swaying cube's last millimetres: 4.6-7.4 cm/s tip
    path in the holding window (10 worst of 30 episodes); now it holds still once within half the radius."""
    from robokit.policies.evaluation import run_episode

    env = gym.make("robokit/PandaPickAndPlace-v0", terminate_on_success=False)
    expert = expert_for(env)
    tips = []
    for seed in range(30):
        result = run_episode(env, expert, seed)[0]
        obs, _ = env.reset(seed=seed)
        in_air = obs["desired_goal"][2] > env.unwrapped.task.object_size_m / 2 + 0.01
        if in_air and result.holding and result.holding["tip_path_cm_per_s"] is not None:
            tips.append(result.holding["tip_path_cm_per_s"])
    env.close()
    assert len(tips) >= 10
    assert np.percentile(tips, 80) < 1.0, sorted(tips)
