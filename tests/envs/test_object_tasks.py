"""The object tasks (Push, Slide, PickAndPlace, Stack) on the Panda: panda-gym v3's settings, the
observation layout (per object: position, Euler XYZ, velocity, angular velocity, read from the scene by
name), success thresholds on the objects' positions, goal shapes, and settings checked per robot."""

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs  # noqa: F401  (registers the ids)
from robokit.core.bullet_client import p
from robokit.envs.tasks import TASKS
from robokit.envs.tasks.objects import euler_xyz

IDS = {
    "push": "robokit/PandaPush-v0",
    "slide": "robokit/PandaSlide-v0",
    "pick_and_place": "robokit/PandaPickAndPlace-v0",
    "stack": "robokit/PandaStack-v0",
}
# task -> (action dim, goal dim, object size m, threshold m, steps): panda-gym v3's values
PANDA_GYM = {
    "push": (3, 3, 0.04, 0.05, 50),
    "slide": (3, 3, 0.06, 0.05, 50),
    "pick_and_place": (4, 3, 0.04, 0.05, 50),
    "stack": (4, 6, 0.04, 0.1, 100),
}


@pytest.fixture(params=list(IDS))
def task_env(request):
    env = gym.make(IDS[request.param])
    yield request.param, env
    env.close()


def test_the_tasks_have_panda_gyms_sizes_thresholds_and_lengths(task_env):
    task, env = task_env
    action_dim, goal_dim, size, threshold, steps = PANDA_GYM[task]
    obs, _ = env.reset(seed=0)
    u = env.unwrapped
    assert env.action_space.shape == (action_dim,) and env.spec.max_episode_steps == steps
    assert obs["achieved_goal"].shape == obs["desired_goal"].shape == (goal_dim,)
    assert u.observation_space["desired_goal"].shape == (goal_dim,)
    assert u.task.object_size_m == size and u.task.distance_threshold_m == threshold
    n_objects = goal_dim // 3
    assert u.observer.layout()["task"][1] - u.observer.layout()["task"][0] == 12 * n_objects
    assert u.task.state_bodies == tuple(u.task.objects) and len(u.task.objects) == n_objects


def test_object_entries_are_the_bodies_pose_and_velocity(task_env):
    _, env = task_env
    u = env.unwrapped
    env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(5):
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape))
    start = u.observer.layout()["task"][0]
    for i, name in enumerate(u.task.objects):
        entries = obs["observation"][start + 12 * i : start + 12 * i + 12]
        b = u.bullet
        np.testing.assert_allclose(entries[:3], b.position(name), atol=1e-6)
        np.testing.assert_allclose(entries[3:6], p.getEulerFromQuaternion(b.orientation(name)), atol=1e-6)
        np.testing.assert_allclose(entries[6:9], b.velocity(name), atol=1e-6)
        np.testing.assert_allclose(entries[9:12], b.angular_velocity(name), atol=1e-6)
        np.testing.assert_allclose(obs["achieved_goal"][3 * i : 3 * i + 3], b.position(name), atol=1e-6)


def test_euler_angles_match_pybullets_convention():
    rng = np.random.default_rng(1)
    for _ in range(200):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        np.testing.assert_allclose(euler_xyz(q), p.getEulerFromQuaternion(q.tolist()), atol=1e-9)


def _place(env, positions):
    """Objects at rest at ``positions`` (n, 3); the next observation after one zero step."""
    u = env.unwrapped
    for name, pos in zip(u.task.objects, positions):
        u.bullet.move(name, list(pos))
    return env.step(np.zeros(env.action_space.shape))


@pytest.mark.parametrize("task", ["push", "pick_and_place"])
def test_success_is_within_5_cm_of_the_goal(task):
    env = gym.make(IDS[task])
    env.reset(seed=1, options={"goal": [0.6, 0.05, 0.02]})
    _, reward, terminated, _, info = _place(env, [[0.6, 0.05 + 0.046, 0.02]])
    assert info["is_success"] and terminated and reward == 0.0
    env.reset(seed=1, options={"goal": [0.6, 0.05, 0.02]})
    _, reward, terminated, _, info = _place(env, [[0.6, 0.05 + 0.054, 0.02]])
    assert not info["is_success"] and not terminated and reward == -1.0
    assert info["distance_m"] == pytest.approx(0.054, abs=2e-3)
    env.close()


def test_stack_succeeds_on_the_6d_distance_within_10_cm():
    env = gym.make(IDS["stack"])
    goal = [0.6, 0.0, 0.02, 0.6, 0.0, 0.06]
    env.reset(seed=2, options={"goal": goal})
    _, _, _, _, info = _place(env, [[0.6, 0.0, 0.02], [0.6, 0.09, 0.02]])  # 6-D distance ~0.094
    assert info["is_success"] and info["distance_m"] == pytest.approx(np.hypot(0.09, 0.04), abs=3e-3)
    env.reset(seed=2, options={"goal": goal})
    _, _, _, _, info = _place(env, [[0.6, 0.0, 0.02], [0.6, 0.11, 0.02]])  # one cube alone 11 cm off
    assert not info["is_success"]
    reward = env.unwrapped.compute_reward(np.zeros((5, 6)), np.full((5, 6), 0.1), None)
    assert reward.shape == (5,) and np.all(reward == -1.0)
    env.close()


def test_dense_rewards_are_minus_the_distance():
    env = gym.make("robokit/PandaStackDense-v0")
    obs, _ = env.reset(seed=4)
    obs, reward, *_ = env.step(np.zeros(4))
    assert reward == pytest.approx(-np.linalg.norm(obs["achieved_goal"] - obs["desired_goal"]), abs=1e-6)
    env.close()


def test_push_and_slide_keep_the_fingers_closed_pick_and_place_opens_them():
    push = gym.make(IDS["push"])
    push.reset(seed=0)
    for _ in range(5):
        obs, *_ = push.step(np.ones(3))
    assert np.all(np.abs(obs["observation"][10:12]) < 1e-3)  # panda_finger_joint1/2 (q 7, 8)
    pick = gym.make(IDS["pick_and_place"])
    pick.reset(seed=0)
    for _ in range(5):
        obs, *_ = pick.step(np.array([0.0, 0.0, 0.0, 1.0]))
    assert np.all(obs["observation"][10:12] > 0.035)
    push.close(), pick.close()


def test_goals_follow_panda_gyms_ranges_in_the_base_frame():
    for task, env_id in IDS.items():
        env = gym.make(env_id)
        resets = [env.reset(seed=s)[0] for s in range(60)]
        goals = np.array([obs["desired_goal"][:3] for obs in resets])
        starts = np.array([obs["achieved_goal"] for obs in resets]).reshape(-1, 3)  # every object
        lo_x, hi_x = (0.85, 1.15) if task == "slide" else (0.45, 0.75)
        assert np.all((goals[:, 0] >= lo_x) & (goals[:, 0] <= hi_x)) and np.all(np.abs(goals[:, 1]) <= 0.15)
        assert np.all((starts[:, 0] >= 0.45) & (starts[:, 0] <= 0.75)) and np.all(
            np.abs(starts[:, 1]) <= 0.15
        )
        np.testing.assert_allclose(starts[:, 2], env.unwrapped.task.object_height_m / 2)  # resting
        if task == "pick_and_place":  # in the air with probability 0.7, up to 0.2 m above the cube
            in_air = goals[:, 2] > 0.021
            assert 0.45 < in_air.mean() < 0.9 and goals[:, 2].max() <= 0.22
        env.close()


def test_markers_show_the_goals_when_rendering():
    env = gym.make(IDS["stack"], render_mode="rgb_array", render_width=64, render_height=48)
    obs, _ = env.reset(seed=5)
    b = env.unwrapped.bullet
    np.testing.assert_allclose(b.position("object1_goal"), obs["desired_goal"][:3], atol=1e-6)
    np.testing.assert_allclose(b.position("object2_goal"), obs["desired_goal"][3:], atol=1e-6)
    assert p.getCollisionShapeData(b.bodies["object1_goal"], -1, physicsClientId=b.client) == ()
    assert env.render().shape == (48, 64, 3)
    # TinyRenderer ignores alpha: a goal must differ from its object in shape and shade to be seen
    for name in ("object1", "object2"):
        obj = p.getVisualShapeData(b.bodies[name], physicsClientId=b.client)[0]
        goal = p.getVisualShapeData(b.bodies[f"{name}_goal"], physicsClientId=b.client)[0]
        assert obj[2] == p.GEOM_BOX and goal[2] == p.GEOM_SPHERE
        paler = [g - o for g, o in zip(goal[7][:3], obj[7][:3])]
        assert min(paler) >= 0.0 and sum(paler) > 0.5
    env.close()


@pytest.mark.parametrize(
    ("task", "settings", "match"),
    [
        ("push", {"object_xy_m": [[0.7, 0.0], [0.5, 0.1]]}, "object_xy_m"),
        ("slide", {"lateral_friction": -1.0}, "lateral_friction"),
        ("pick_and_place", {"goal_on_table_probability": 2}, "goal_on_table_probability"),
        ("stack", {"object_mass_kg": [1.0]}, "object_mass_kg"),
        ("push", {"colour": "red"}, "unknown robot setting"),
    ],
)
def test_bad_robot_settings_are_refused_by_name(task, settings, match):
    with pytest.raises(ValueError, match=match):
        TASKS[task].robot_settings(settings)


def test_a_goal_below_the_floor_is_refused():
    env = gym.make(IDS["push"])
    with pytest.raises(ValueError, match="below the floor"):
        env.reset(options={"goal": [0.6, 0.0, -0.1]})
    with pytest.raises(ValueError, match="shape"):
        env.reset(options={"goal": [0.6, 0.0, 0.02, 0.0]})
    env.close()


def test_object_goals_are_checked_against_the_arm_and_the_tasks_region():
    """A goal the arm cannot carry or push an object to is refused; Slide's (the puck travels alone)
    must lie on its table; goals outside what training samples give a warning (the attack on issue 11:
    Push took [5, 5, 5] silently, and deploy ran it)."""
    import warnings

    push = gym.make("robokit/PandaPush-v0")
    with pytest.raises(ValueError, match="beyond the reach"):
        push.reset(seed=0, options={"goal": [5.0, 5.0, 5.0]})
    with pytest.warns(UserWarning, match="outside the region training sampled"):
        push.reset(seed=0, options={"goal": [0.6, 0.0, 0.3]})  # Push cannot lift the cube there
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        push.reset(seed=0, options={"goal": [0.6, 0.0, 0.02]})  # in the region: no warning
    push.close()
    slide = gym.make("robokit/PandaSlide-v0")
    slide.reset(seed=0, options={"goal": [1.0, 0.0, 0.03]})  # beyond the arm's reach, on Slide's table
    with pytest.raises(ValueError, match="off the task's table"):
        slide.reset(seed=0, options={"goal": [2.0, 0.0, 0.03]})
    slide.close()
    stack = gym.make("robokit/PandaStack-v0")
    with pytest.warns(UserWarning, match="object 'object2' is outside"):
        stack.reset(seed=0, options={"goal": [0.6, 0.0, 0.02, 0.2, 0.3, 0.5]})
    stack.close()


class _Readers:
    """The simulator seen only through SceneReader's four methods (as a task-state source's scene is)."""

    def __init__(self, bullet):
        self.position, self.orientation = bullet.position, bullet.orientation
        self.velocity, self.angular_velocity = bullet.velocity, bullet.angular_velocity


def test_one_scene_read_gives_the_same_bits_as_the_separate_readers(task_env):
    """Task.observe (the env's hot path: one body_state read per object) against observation() and
    achieved_goal(), and against a scene that has only the four readers: bit for bit."""
    _, env = task_env
    u = env.unwrapped
    env.reset(seed=5)
    rng = np.random.default_rng(2)
    for _ in range(8):
        obs, *_ = env.step(rng.uniform(-1, 1, env.action_space.shape))
        entries, achieved = u.task.observe(u._state)
        assert entries.dtype == achieved.dtype == np.float32
        assert entries.tobytes() == u.task.observation().tobytes()
        assert (
            achieved.tobytes() == u.task.achieved_goal(u._state).tobytes() == obs["achieved_goal"].tobytes()
        )
        u.task.read_scene_from(_Readers(u.bullet))
        assert u.task.observe(u._state)[0].tobytes() == entries.tobytes()
        u.task.read_scene_from(u.bullet)
