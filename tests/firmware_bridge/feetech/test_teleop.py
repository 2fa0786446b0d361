"""robokit teleop on two virtual SO-101 buses (the leader moved by a scripted person): 3 recorded episodes
that LeRobot's loader reads, with the wall-clock column; replayed on the virtual follower within 1 degree
per joint; and the refusals."""

from __future__ import annotations

import os

import numpy as np
import pytest

from robokit.firmware_bridge.feetech.virtual_arm import VirtualArm
from robokit.policies.datasets import read_dataset

FPS, SECONDS = 30, 1.5


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from robokit.cli.teleop import main

    root = tmp_path_factory.mktemp("teleop") / "data"
    with (
        VirtualArm("so101", return_delay=0, leader=True) as leader,
        VirtualArm("so101", return_delay=0) as follower,
    ):
        code = main(["--leader", leader, "--follower", follower, "--record", str(root), "--episodes", "3",
                     "--seconds", str(SECONDS), "--fps", str(FPS), "--reset-s", "0.3"])  # fmt: skip
    assert code == 0
    return root


def test_teleop_records_episodes_lerobot_reads_and_the_follower_followed(recorded, lerobot_loader):
    ours = read_dataset(recorded)
    assert len(ours.episodes) == 3 and ours.info["robot_type"] == "so101" and ours.info["fps"] == FPS
    n = int(SECONDS * FPS)
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
        # within 6 deg: the shoulder sags a little under the arm's weight where its torque nears the servo's
        # limit. The gripper's jaws meet below q = 0, so it does not reach a target that squeezes them.
        follow = min(np.abs(state[d:, :5] - action[:-d, :5]).max() for d in (1, 2, 3))
        assert follow < 0.1, follow
        item = ds[k * n + 5]
        np.testing.assert_allclose(item["observation.state"].numpy(), state[5], atol=1e-6)
        np.testing.assert_allclose(item["action"].numpy(), action[5], atol=1e-6)


def test_a_recorded_episode_replays_on_the_follower_within_a_degree(recorded, capsys):
    from robokit.cli.replay import main

    with VirtualArm("so101", return_delay=0) as follower:
        code = main([str(recorded), "--episode", "1", "--port", follower])
    out = capsys.readouterr()
    assert code == 0, out.err
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


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
