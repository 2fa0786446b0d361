"""robokit teleop on two virtual SO-101 buses (the leader moved by a scripted person): 3 recorded episodes
that LeRobot's loader reads, with the wall-clock column; replayed on the virtual follower within 1 degree
per joint; and the refusals."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from robokit.firmware_bridge.feetech.virtual_arm import VirtualArm
from robokit.policies.datasets import read_dataset

FPS, SECONDS = 25, 1.5  # 25 Hz: the SO-101 envs' control rate, so the recording trains a clone


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from robokit.cli.teleop import main

    root = tmp_path_factory.mktemp("teleop") / "data"
    follower_arm = VirtualArm("so101", return_delay=0)
    with VirtualArm("so101", return_delay=0, leader=True) as leader, follower_arm as follower:
        camera = follower_arm.start_camera(160, 120, 30.0)  # the follower's plant, served as an MJPEG stream
        code = main(["--leader", leader, "--follower", follower, "--record", str(root), "--episodes", "3",
                     "--seconds", str(SECONDS), "--fps", str(FPS), "--reset-s", "0.3",
                     "--camera", f"front={camera}"])  # fmt: skip
    assert code == 0
    return root


def test_teleop_records_episodes_lerobot_reads_and_the_follower_followed(recorded, lerobot_loader):
    ours = read_dataset(recorded)
    assert len(ours.episodes) == 3 and ours.info["robot_type"] == "so101" and ours.info["fps"] == FPS
    n = round(SECONDS * FPS)
    ds = lerobot_loader(repo_id="robokit/teleop", root=recorded)
    assert len(ds) == 3 * n and ds.num_episodes == 3
    for k in range(3):
        ep = ours.episode(k)
        state, action, wall = ep["observation.state"], ep["action"], ep["wall_time_s"]
        assert state.shape == action.shape == (n, 6)
        np.testing.assert_allclose(ep["timestamp"], np.arange(n) / FPS, atol=1e-6)  # frame_index / fps
        assert np.all(np.abs(wall - np.arange(n) / FPS) < 1.0 / FPS)  # the measured times: on schedule
        assert np.ptp(action, axis=0).max() > 0.1  # the leader moved
        # the follower's arm stands where it was sent a tick or two later (a target is sent after each read),
        # within 9 deg: the shoulder sags a little under the arm's weight where its torque nears the servo's
        # limit. The gripper's jaws meet below q = 0, so it does not reach a target that squeezes them.
        follow = min(np.abs(state[d:, :5] - action[:-d, :5]).max() for d in (1, 2, 3))
        assert follow < 0.15, follow  # 0.03-0.07 rad typically; 0.11 once, the camera rendering in-process
        item = ds[k * n + 5]
        np.testing.assert_allclose(item["observation.state"].numpy(), state[5], atol=1e-6)
        np.testing.assert_allclose(item["action"].numpy(), action[5], atol=1e-6)
        assert tuple(item["observation.images.front"].shape) == (3, 120, 160)  # decoded by LeRobot


def test_the_camera_frames_show_the_follower_where_it_stood(recorded):
    """Each tick's frame is the plant's view then: nearer a render of the follower's recorded angles at
    that tick than a render of its angles a second away (OpenCV decodes the recorded mp4)."""
    import cv2

    from robokit.firmware_bridge.plant_view import Renderer
    from robokit.robots import robot_folder

    ours = read_dataset(recorded)
    assert ours.info["features"]["observation.images.front"]["shape"][:2] == [120, 160]
    state = ours.episode(2)["observation.state"].astype(np.float64)
    video = recorded / "videos/observation.images.front/chunk-000/file-000.mp4"
    capture, frames = cv2.VideoCapture(str(video)), []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(bgr[:, :, ::-1].astype(np.int16))
    capture.release()
    n = len(state)
    assert len(frames) == 3 * n  # one frame per tick, the episodes one after another
    view = Renderer(robot_folder("so101"), 160, 120)  # what the emulator's camera process renders
    try:
        closer = 0
        for k in range(5, n, 5):
            frame = frames[2 * n + k]
            same = np.abs(frame - view.render(state[k])).mean()
            other = np.abs(frame - view.render(state[(k + FPS) % n])).mean()
            closer += same < other
        assert closer >= 0.8 * len(range(5, n, 5)), closer
    finally:
        view.close()


def test_a_recorded_episode_replays_on_the_follower_within_a_degree(recorded, capsys):
    from robokit.cli.replay import main

    with VirtualArm("so101", return_delay=0) as follower:
        code = main([str(recorded), "--episode", "1", "--port", follower])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    worst = [float(v) for v in out.out.split("(deg):")[1].split()[1::2]]
    assert len(worst) == 6 and max(worst) <= 1.0


def test_the_same_port_under_two_names_is_refused(tmp_path, capsys):
    from robokit.cli.teleop import main

    master, slave = os.openpty()
    try:
        port = os.ttyname(slave)
        (tmp_path / "link").symlink_to(port)
        assert main(["--leader", str(tmp_path / "link"), "--follower", port]) == 2
        assert "are the same port" in capsys.readouterr().err
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--leader", "/dev/null", "--follower", "/dev/null"], "are the same port"),
        (["--leader", "a", "--follower", "b", "--robot", "panda"], "teleoperation drives servo-bus arms"),
        (["--leader", "a", "--follower", "b", "--fps", "0"], "0 is not in [1, 200]"),
    ],
)
def test_teleop_refuses_bad_arguments_in_one_line(argv, message, capsys):
    from robokit.cli.teleop import main

    with pytest.raises(SystemExit) if "--fps" in argv else _nothing():
        code = main(argv)
        assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_teleop_recording_replayed_without_a_port_says_to_give_one(recorded, capsys):
    from robokit.cli.replay import main

    assert main([str(recorded), "--episode", "0"]) == 2
    assert (
        "teleoperation recording has no sim episode; replay it on the arm with --port"
        in capsys.readouterr().err
    )


def test_replay_on_an_arm_refuses_a_sim_recording(tmp_path, capsys):
    from robokit.cli.replay import main
    from robokit.policies.datasets import record

    record("robokit/ServoArmReach-v0", tmp_path / "sim", 1, progress=False)
    assert main([str(tmp_path / "sim"), "--episode", "0", "--port", "/dev/null"]) == 2
    assert "not a teleoperation recording" in capsys.readouterr().err


ABSOLUTE = "robokit/So101ReachJointsAbsolute-v0"


def test_a_teleop_recording_is_rebuilt_in_the_joint_absolute_envs_terms(recorded):
    import gymnasium as gym

    from robokit.core.control import Controller
    from robokit.policies.datasets.joint_terms import teleop_arrays

    env = gym.make(ABSOLUTE)
    try:
        base = env.unwrapped
        obs, actions = teleop_arrays(read_dataset(recorded), env, ABSOLUTE)
        ep = read_dataset(recorded).episode(0)
        n = len(ep["action"])
        q, targets = ep["observation.state"].astype(np.float64), ep["action"].astype(np.float64)
        assert obs["observation"].shape == (3 * n, env.observation_space["observation"].shape[0])
        assert actions.shape == (3 * n, 5) and np.abs(actions).max() <= 1.0
        layout = base.observer.layout()
        first = obs["observation"][:n]
        np.testing.assert_allclose(first[:, slice(*layout["q"])], q, atol=1e-6)
        np.testing.assert_allclose(first[:, :3], [base.kin.fk(x) for x in q], atol=1e-6)  # the tip by FK
        np.testing.assert_allclose(first[1:, slice(*layout["last_action"])], actions[: n - 1], atol=1e-6)
        assert not first[0, slice(*layout["last_action"])].any()  # as after reset
        np.testing.assert_allclose(obs["desired_goal"][:n], np.repeat(first[-1:, :3], n, 0), atol=1e-6)
        # the env's own Controller turns each action back into the targets the leader sent (arm joints)
        control = Controller(base.robot, "joint_absolute", base.kin)
        back = np.array([control.targets(a, x)[:5] for a, x in zip(actions[:n], q)])
        np.testing.assert_allclose(back, targets[:, :5], atol=1e-5)
    finally:
        env.close()


def test_a_teleop_recording_trains_a_clone_with_bc(recorded, tmp_path, capsys):
    import torch

    from robokit.cli import main
    from robokit.policies.policy_file import load_policy

    run = tmp_path / "run"
    args = ["train", ABSOLUTE, "--algo", "bc", "--dataset", str(recorded), "--out", str(run)]
    assert (
        main([*args, "--steps", "300", "--eval-every", "300", "--eval-episodes", "1", "--no-progress"]) == 0
    )
    assert "is a teleoperation recording" in capsys.readouterr().err
    policy = load_policy(run / "policy.safetensors")
    assert policy.spec["env_id"] == ABSOLUTE and policy.spec["algo"] == "bc"
    import gymnasium as gym

    from robokit.policies.datasets.joint_terms import teleop_arrays

    env = gym.make(ABSOLUTE)
    obs, actions = teleop_arrays(read_dataset(recorded), env, ABSOLUTE)
    env.close()
    with torch.no_grad():
        got = policy(policy.flatten_obs(obs)).numpy()
    # the clone follows the recorded targets far better than always sending their mean would
    assert np.mean((got - actions) ** 2) < 0.25 * np.mean((actions - actions.mean(0)) ** 2)


@pytest.mark.parametrize(
    ("env_id", "message"),
    [
        (
            "robokit/So101Reach-v0",
            f"trains a Reach env with joint_absolute control, not robokit/So101Reach-v0; it trains {ABSOLUTE}",
        ),
        ("robokit/ServoArmReach-v0", "a teleoperation recording of 'so101', not servo_arm"),
    ],
)
def test_bc_refuses_a_teleop_recording_for_an_env_it_does_not_fit(
    recorded, env_id, message, tmp_path, capsys
):
    from robokit.cli import main

    out = tmp_path / "run"
    assert (
        main(
            ["train", env_id, "--algo", "bc", "--dataset", str(recorded), "--out", str(out), "--no-progress"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not out.exists()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _teleop_with_hook(tmp_path, monkeypatch, hook):
    """Teleop of 3 short episodes, ``hook(follower VirtualArm)`` run once the first episode is written;
    returns (exit code, the dataset folder)."""
    from robokit.cli.teleop import main
    from robokit.policies.datasets.writer import DatasetWriter

    root, follower_arm = tmp_path / "data", VirtualArm("so101", return_delay=0)
    real = DatasetWriter.add_episode

    def add_then_hook(self, *args, **kwargs):
        index = real(self, *args, **kwargs)
        hook(follower_arm)
        return index

    monkeypatch.setattr(DatasetWriter, "add_episode", add_then_hook)
    with VirtualArm("so101", return_delay=0, leader=True) as leader, follower_arm as follower:
        code = main(["--leader", leader, "--follower", follower, "--record", str(root), "--episodes", "3",
                     "--seconds", "0.6", "--fps", str(FPS), "--reset-s", "0"])  # fmt: skip
    return code, root


def test_a_follower_that_stops_answering_ends_the_recording_with_the_episodes_before(
    tmp_path, monkeypatch, capsys
):
    """Found by attack: a follower holding after failed reads was recorded as following, and exit 0."""

    def silence(follower_arm):
        follower_arm.bus.servo(3).silent = True

    code, root = _teleop_with_hook(tmp_path, monkeypatch, silence)
    err = capsys.readouterr().err
    assert code == 1 and "follower: a read failed (servo 3 does not answer" in err and err.count("\n") == 1, (
        err
    )
    assert len(read_dataset(root).episodes) == 1  # the episode before the fault, readable


def test_sigterm_mid_recording_keeps_the_finished_episodes_readable(tmp_path, monkeypatch, capsys):
    """Found by attack: SIGTERM (or a second Ctrl-C) left a parquet without its footer and no meta/."""
    import signal

    code, root = _teleop_with_hook(tmp_path, monkeypatch, lambda _: os.kill(os.getpid(), signal.SIGTERM))
    err = capsys.readouterr().err  # 128 + SIGTERM, as a shell reports a command SIGTERM stopped
    assert code == 143 and "stopped by SIGTERM; the episodes finished so far are kept" in err
    assert len(read_dataset(root).episodes) == 1


def test_replay_refuses_a_recording_with_an_infinite_action_before_the_arm_moves(recorded, tmp_path, capsys):
    import shutil

    import pyarrow.parquet as pq

    from robokit.cli.replay import main

    bad = tmp_path / "bad"
    shutil.copytree(recorded, bad)
    data = bad / "data/chunk-000/file-000.parquet"
    table = pq.read_table(data).to_pydict()
    table["action"][3][2] = float("inf")
    import pyarrow as pa

    pq.write_table(pa.table(table, schema=pq.read_schema(data)), data)
    assert main([str(bad), "--episode", "0", "--port", "/dev/null"]) == 2  # never opened
    err = capsys.readouterr().err
    assert "episode 0's action has values that are not finite" in err and err.count("\n") == 1


def test_replay_with_another_arms_calibration_is_refused_as_teleop_refuses_it(recorded, capsys):
    from robokit.cli.replay import main

    fixture = Path(__file__).parent / "data" / "lerobot_so101_follower.json"
    with VirtualArm("so101", return_delay=0) as follower:
        code = main([str(recorded), "--episode", "0", "--port", follower, "--calibration", str(fixture)])
    assert code == 2 and "the arm's EEPROM differs from the calibration" in capsys.readouterr().err
