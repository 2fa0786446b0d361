"""The SO-101 end to end without the arm: `robokit emulate --robot so101` serves a virtual bus any client
opens, its options are checked, and a policy file deploys through `run_deploy` onto the virtual bus with
the reach error measured from the servos' reported positions and from the PyBullet arm's tip. The policy
here is the scripted IK policy written to a real policy file (the trained one is the slow test's)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from robokit.core.arm import ArmMode
from robokit.firmware_bridge.feetech.arm import FeetechArm
from robokit.runtime.bringup import bring_up
from robokit.runtime.camera import Camera, CameraSpec

ENV_ID = "robokit/So101Reach-v0"


def test_robokit_emulate_serves_the_so101_bus_and_records_the_arm(tmp_path):
    record = tmp_path / "arm.json"
    cmd = [sys.executable, "-m", "robokit", "emulate", "--robot", "so101", "--return-delay", "0"]
    proc = subprocess.Popen(
        [*cmd, "--record", str(record), "--camera"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line, camera_line = proc.stdout.readline(), proc.stdout.readline()
        assert line.startswith("PORT /dev/"), line
        assert camera_line.startswith("CAMERA http://127.0.0.1:"), camera_line
        camera = Camera(CameraSpec("front", camera_line.split()[1]))  # OpenCV reads it as an IP camera's
        before = camera.latest()[0]
        assert before.shape == (240, 320, 3)
        with FeetechArm(line.split()[1], "so101", on_close="release") as arm:
            assert bring_up(arm).state.mode is ArmMode.ENABLED
            assert np.allclose(arm.read().q, arm.spec.home_q, atol=0.01)
            target = np.asarray(arm.spec.home_q, dtype=float) + np.array([0.3, 0, 0, 0, 0, 0])
            for _ in range(25):  # 0.5 s
                arm.command(target)
                time.sleep(0.02)
            assert abs(arm.read().q[0] - 0.3) < 0.01
            after, age_s = camera.latest()
        camera.close()
        assert age_s < 0.2 and np.abs(after.astype(int) - before).mean() > 1.0  # the camera saw the arm turn
    finally:
        proc.send_signal(signal.SIGTERM)  # stops it as Ctrl-C does (a shell's background job ignores SIGINT)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    data = json.loads(record.read_text())
    assert data["joint_names"][0] == "shoulder_pan" and len(data["q"]) == len(data["t_s"]) > 5
    assert abs(data["q"][-1][0] - 0.3) < 0.01  # the recorded arm went where the servo said it went


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--robot", "panda"], "robot panda has no `bus` section"),
        (["--robot", "so101", "--silent", "9"], "no servo with id 9 on so101"),
        (["--robot", "so101", "--drop-rate", "1.5"], "drop rate must be in [0, 1]"),
        (["--robot", "so101", "--return-delay", "300"], "return delay must be 0..254"),
        (["--drop-rate", "0.1"], "--drop-rate needs --robot"),
        (["--robot", "so101", "--pulses"], "not with --robot"),
        (
            ["--robot", "so101", "--record", "/nonexistent/dir/run.json"],
            "folder /nonexistent/dir does not exist",
        ),
        (["--leader"], "--leader needs --robot"),
        (["--camera"], "--camera needs --robot"),
        (["--robot", "so101", "--camera", "--camera-size", "8x8"], "camera size 8x8 is outside 16..1280"),
        (["--robot", "so101", "--camera", "--camera-size", "big"], "--camera-size 'big': want WIDTHxHEIGHT"),
        (["--robot", "so101", "--camera-size", "320x240"], "--camera-size goes with --camera"),
        (["--robot", "so101", "--camera", "--camera-fps", "nan"], "camera rate nan is outside 1..60 fps"),
    ],
)
def test_bad_emulate_options_get_one_line_and_exit_2(args, message):
    done = subprocess.run([sys.executable, "-m", "robokit", "emulate", *args], capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_policy_file_deploys_on_the_virtual_bus_and_the_plant_confirms_the_reach(tmp_path: Path):
    from robokit.policies import scripted_policy
    from robokit.runtime.demo import demo_goals
    from robokit.runtime.virtual_deploy import deploy_on_virtual_bus, reach_errors

    policy = scripted_policy(ENV_ID).save(tmp_path / "scripted.safetensors")
    goals = demo_goals(ENV_ID, 0, 2)
    outcome = deploy_on_virtual_bus(policy, "so101", goals, 1.5, tmp_path / "deploy")
    errors = reach_errors(outcome)
    assert errors["goals"] == 2 and outcome.summary.exit_reason == "completed"
    assert errors["max_reach_error_m"] < 0.005 and errors["max_plant_reach_error_m"] < 0.005
    written = json.loads((tmp_path / "deploy" / "summary.json").read_text())
    assert all("plant_reach_error_m" in g for g in written["goals"])


@pytest.mark.slow
@pytest.mark.timeout(900)  # about 2-3 minutes: training (~7000 steps), 100 evaluation episodes, 10 goals
def test_the_trained_so101_reach_policy_reaches_ten_goals_within_1_5_cm_on_the_virtual_bus(tmp_path):
    """Issue 13's bar: `robokit train robokit/So101Reach-v0` with the defaults, >= 95% on 100 held-out
    episodes, then 10 chained goals on the virtual bus each within 1.5 cm, measured from the servos'
    reported positions and from the PyBullet arm's tip."""
    from robokit.policies import default_config, evaluate, train
    from robokit.runtime.demo import demo_goals
    from robokit.runtime.virtual_deploy import deploy_on_virtual_bus, reach_errors

    path = train(default_config(ENV_ID, out=str(tmp_path / "run"), progress=False))
    report = evaluate(path, episodes=100, video=False, workers=2, plot=False, progress=False)
    assert report["success_rate"] >= 0.95, report["aggregate"]
    outcome = deploy_on_virtual_bus(path, "so101", demo_goals(ENV_ID, 0, 10), 2.0, tmp_path / "deploy")
    errors = reach_errors(outcome)
    assert errors["goals"] == 10 and errors["max_reach_error_m"] <= 0.015, errors
    assert errors["max_plant_reach_error_m"] <= 0.015, errors
