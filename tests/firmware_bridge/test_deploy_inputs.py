"""Deploy validates every outside input before the arm is touched, and nothing from a policy file widens
the robot's own safety envelope (issue 9 items 1, 2, 5)."""

import json

import numpy as np
import pytest

from robokit.cli import main
from robokit.core.kinematics import Kinematics
from robokit.core.safety import SafetySettings
from robokit.policies import load_policy, scripted_policy
from robokit.robots import get_robot
from robokit.runtime.deploy_log import SUMMARY_RESERVE_BYTES, LogSetupError
from robokit.runtime.loop import DeployAborted, DeployLoop, PolicyMismatch

from .host_helpers import Emulator, needs_emulator, pulse_angles, scripted_policy_file

GOAL = "0.20,0.05,0.15"
LOW_GOAL = np.array([0.20, 0.0, 0.015])  # reachable, just above the servo arm's 1 cm floor


def _policy_with(tmp_path, name: str, **spec_changes) -> str:
    """The scripted reach policy written with spec fields replaced and a matching digest: a crafted file,
    as an outside program would write it (robokit's own save refuses specs it would not load)."""
    from safetensors.torch import save_file

    from robokit.policies.policy_file import METADATA_KEY, content_digest

    policy = scripted_policy()
    tensors = policy.weight_tensors()
    spec = {**json.loads(json.dumps(policy.spec)), **spec_changes, "format_version": 1}
    spec["sha256"] = content_digest(spec, tensors)
    path = tmp_path / f"{name}.safetensors"
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(spec)})
    return str(path)


def _widening(tmp_path) -> str:
    n = get_robot("servo_arm").n_joints
    return _policy_with(
        tmp_path,
        "widening",
        safety={"lower": [-10.0] * n, "upper": [10.0] * n, "max_target_step": 10.0, "floor_z_m": -1.0},
    )


def test_a_policy_files_safety_block_cannot_widen_the_robots_envelope(tmp_path):
    robot = get_robot("servo_arm")
    loop = DeployLoop(load_policy(_widening(tmp_path)), None, robot=robot)
    try:
        assert loop.safety.settings == SafetySettings.from_spec(robot)
        assert any("floor_z_m: wider than the arm's own, ignored" in n for n in loop.safety_notes)
    finally:
        loop.close()


def test_a_policy_files_safety_block_may_narrow_the_envelope(tmp_path):
    robot = get_robot("servo_arm")
    own = SafetySettings.from_spec(robot)
    narrow = {**own.to_dict(), "floor_z_m": 0.05, "max_target_step": 0.1}
    loop = DeployLoop(load_policy(_policy_with(tmp_path, "narrow", safety=narrow)), None, robot=robot)
    try:
        assert loop.safety.settings.floor_z_m == 0.05 and loop.safety.settings.max_target_step == 0.1
        assert any("floor_z_m: narrower than the arm's own, applied" in n for n in loop.safety_notes)
    finally:
        loop.close()


def test_dry_run_with_a_widening_file_stays_above_the_floor_and_says_so(tmp_path, capsys):
    log = tmp_path / "log"
    goal = ",".join(str(v) for v in LOW_GOAL)
    code = main(
        [
            "deploy",
            _widening(tmp_path),
            "--dry-run",
            "--goal",
            goal,
            "--duration",
            "2",
            "--log",
            str(log),
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "wider than the arm's own, ignored" in out
    rows = [json.loads(r) for r in (log / "ticks.jsonl").read_text().splitlines()]
    kin = Kinematics(get_robot("servo_arm"))
    try:
        lowest = min(kin.fk(np.asarray(r["targets"]))[2] for r in rows)
    finally:
        kin.close()
    assert lowest >= get_robot("servo_arm").floor_z_m - 1e-6
    summary = json.loads((log / "summary.json").read_text())
    assert summary["safety"]["floor_z_m"] == get_robot("servo_arm").floor_z_m
    assert any("ignored" in n for n in summary["safety"]["notes"])


@needs_emulator
def test_on_the_emulated_arm_the_widening_file_keeps_the_tip_above_the_floor(tmp_path):
    robot = get_robot("servo_arm")
    with Emulator() as emu:
        code = main(
            [
                "deploy",
                _widening(tmp_path),
                "--port",
                emu.port,
                "--goal",
                ",".join(map(str, LOW_GOAL)),
                "--duration",
                "2",
                "--log",
                str(tmp_path / "log"),
                "--quiet",
            ]
        )
        from robokit.firmware_bridge.hardware_arm import HardwareArm

        with HardwareArm(emu.port, robot) as arm:
            state = arm.read()
            q = pulse_angles(emu.pulses.wait_for(state.frame), arm.info)
    kin = Kinematics(robot)
    try:
        z = kin.fk(q)[2]
    finally:
        kin.close()
    assert code == 0 and z >= robot.floor_z_m - 0.002  # measured from the pulse widths


@pytest.mark.parametrize(
    "goal, words",
    [("10,10,10", "beyond the reach"), ("0,0,-1", "below the floor"), ("1e308,0,0.2", "beyond the reach")],
)
def test_goals_outside_the_workspace_are_refused_before_anything(tmp_path, capsys, goal, words):
    log = tmp_path / "log"
    code = main(
        ["deploy", str(scripted_policy_file(tmp_path)), "--dry-run", "--goal", goal, "--log", str(log)]
    )
    err = capsys.readouterr().err
    assert code == 2 and words in err and "servo_arm workspace: reachable" in err
    assert err.count("\n") == 1 and not log.exists()


def test_a_reachable_goal_outside_the_training_region_warns_and_runs(tmp_path, capsys):
    goal = ",".join(map(str, LOW_GOAL))
    code = main(
        [
            "deploy",
            str(scripted_policy_file(tmp_path)),
            "--dry-run",
            "--goal",
            goal,
            "--duration",
            "0.5",
            "--log",
            str(tmp_path / "log"),
            "--quiet",
        ]
    )
    assert code == 0 and "warning: goal" in capsys.readouterr().err


def test_log_naming_an_existing_file_is_refused_and_the_file_kept(tmp_path, capsys):
    log = tmp_path / "notes.txt"
    log.write_text("keep me")
    code = main(
        ["deploy", str(scripted_policy_file(tmp_path)), "--dry-run", "--goal", GOAL, "--log", str(log)]
    )
    assert code == 2 and "is a file; name a folder" in capsys.readouterr().err
    assert log.read_text() == "keep me"


@pytest.mark.parametrize("hz", [0.0, 1e12, -25.0])
def test_a_policy_with_a_nonsense_control_rate_is_refused(tmp_path, capsys, hz):
    path = _policy_with(tmp_path, f"hz{hz}", control_hz=hz)
    code = main(
        ["deploy", path, "--dry-run", "--goal", GOAL, "--duration", "1", "--log", str(tmp_path / "l")]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and not (tmp_path / "l").exists()


def test_a_policy_that_answers_the_home_pose_with_nan_is_refused_before_the_arm(tmp_path):
    class NanPolicy:
        spec = scripted_policy().spec

        def act(self, obs):
            return np.full(3, np.nan)

    with pytest.raises(PolicyMismatch, match="bad action"):
        DeployLoop(NanPolicy(), None, robot=get_robot("servo_arm"))


def test_an_unusable_log_folder_is_a_setup_error_before_the_arm(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a folder cannot be made inside a file, not even by root
    with pytest.raises(LogSetupError, match="a part of it is a file"):
        DeployLoop(scripted_policy(), None, log_dir=blocker / "log")
    path = str(scripted_policy_file(tmp_path))
    assert main(["deploy", path, "--dry-run", "--goal", GOAL, "--log", str(blocker / "log")]) == 2
    assert "a part of it is a file" in capsys.readouterr().err


def test_a_log_write_failure_stops_the_run_and_summary_json_is_written_from_reserved_space(tmp_path):
    from robokit.envs.sim_arm import RealtimeSimArm
    from robokit.runtime.deploy_log import LogWriteFailed

    robot = get_robot("servo_arm")
    loop = DeployLoop(scripted_policy(), None, robot=robot, log_dir=tmp_path / "log")
    assert (tmp_path / "log" / "summary.json").stat().st_size == SUMMARY_RESERVE_BYTES
    real = loop.log.write_tick

    calls = []

    def failing(row):
        calls.append(1)
        if len(calls) >= 8:
            raise LogWriteFailed("writing ticks.jsonl failed: [Errno 28] No space left on device")
        real(row)

    loop.log.write_tick = failing
    arm = RealtimeSimArm(robot)
    loop.arm = arm
    sent = []
    command = arm.command
    arm.command = lambda q: (sent.append(q), command(q))[1]
    try:
        with pytest.raises(DeployAborted, match="log write failed") as exc:
            loop.run([np.array([0.2, 0.05, 0.15])], seconds_per_goal=2.0)
    finally:
        loop.close()
        arm.close()
    assert len(sent) == 8  # the tick whose log line failed had sent; nothing after it
    summary = json.loads((tmp_path / "log" / "summary.json").read_text())
    assert (
        summary["exit_reason"].startswith("log write failed") and summary["ticks"] == exc.value.summary.ticks
    )
    assert len((tmp_path / "log" / "ticks.jsonl").read_text().splitlines()) == 7


def test_deploy_summary_reports_holding_per_goal_as_measured_from_the_ticks(tmp_path):
    from robokit.envs.sim_arm import RealtimeSimArm
    from robokit.policies.holding import HOLD_SETTLE_S, holding_after_success, holding_metrics

    robot = get_robot("servo_arm")
    goal = np.array([0.2, 0.05, 0.15])
    loop = DeployLoop(scripted_policy(), None, robot=robot, log_dir=tmp_path / "log")
    loop.arm = RealtimeSimArm(robot)
    try:
        summary = loop.run([goal], seconds_per_goal=2.0)
    finally:
        loop.close()
        loop.arm.close()
    rows = [json.loads(r) for r in (tmp_path / "log" / "ticks.jsonl").read_text().splitlines()]
    first = next(
        i for i, r in enumerate(rows) if np.linalg.norm(np.subtract(r["ee_m"], goal)) < loop.tolerance_m
    )
    ee, q = [r["ee_m"] for r in rows], [r["q"] for r in rows]
    want = holding_metrics(ee[first:], q[first:], robot.control_hz)
    hold = summary.goals[0]["holding_from_first_success"]
    assert hold["holding_s"] == pytest.approx(want["holding_s"]) and hold["holding_s"] > 0.5
    assert hold["tip_path_cm_per_s"] == pytest.approx(want["tip_path_cm_per_s"], rel=1e-5)
    settled = summary.goals[0]["holding"]
    want = holding_after_success(ee, q, first, robot.control_hz, HOLD_SETTLE_S)
    assert settled["tip_path_cm_per_s"] == pytest.approx(want["tip_path_cm_per_s"], rel=1e-5)
    assert settled["tip_path_cm_per_s"] < 0.5 and settled["q_std_max_rad"] < 0.003  # scripted IK holds still
    saved = json.loads((tmp_path / "log" / "summary.json").read_text())["holding"]["from_settle"]
    assert saved["episodes"] == 1
    assert saved["median_tip_path_cm_per_s"] == pytest.approx(settled["tip_path_cm_per_s"])


@needs_emulator
@pytest.mark.parametrize("value", [4.0, -3.3, float("nan")])
def test_hardware_arm_refuses_targets_outside_the_joint_limits_before_sending(value):
    """A target the codec cannot even encode (|q| > 3.2767 rad) or the firmware would clamp is the host's
    error: ValueError, nothing sent, the arm as it was."""
    from robokit.firmware_bridge.hardware_arm import HardwareArm

    with Emulator() as emu, HardwareArm(emu.port, "servo_arm") as arm:
        q = np.asarray(arm.spec.home_q, dtype=float)
        q[1] = value
        with pytest.raises(ValueError, match="nothing sent"):
            arm.command(q)
        with pytest.raises(ValueError, match="nothing sent"):
            arm.enable(q)
        state = arm.read()
        assert arm.stats["targets"] == 0 and state.released


def test_sigterm_mid_run_ends_like_ctrl_c_with_a_readable_summary(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "robokit", "deploy", str(scripted_policy_file(tmp_path)), "--dry-run",
         "--goal", GOAL, "--duration", "30", "--log", str(log), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (log / "ticks.jsonl").is_file():
        time.sleep(0.1)
    time.sleep(1.0)  # some ticks run
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "interrupted (SIGTERM)" in err and "Traceback" not in err
    summary = json.loads((log / "summary.json").read_text())
    assert summary["exit_reason"] == "interrupted (SIGTERM)" and summary["ticks"] > 5


def test_summary_json_is_valid_json_from_the_start(tmp_path):
    from robokit.runtime.deploy_log import DeployLog

    log = DeployLog(tmp_path / "log")
    try:  # what a SIGKILLed run leaves
        assert "did not finish" in json.loads((tmp_path / "log" / "summary.json").read_text())["exit_reason"]
    finally:
        log.write_summary({"exit_reason": "completed"})
        log.close()


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--hz", "0.5"], "outside [1, 1000] Hz"),
        (["--duration", "1", *["--goal", GOAL] * 30], "less than one tick per goal"),
        (["--calibration", "cal.json"], "no meaning with --dry-run"),
    ],
)
def test_more_nonsense_deploy_arguments_are_refused(tmp_path, capsys, extra, words):
    (tmp_path / "cal.json").write_text("{}")
    args = [
        "deploy",
        str(scripted_policy_file(tmp_path)),
        "--dry-run",
        "--goal",
        GOAL,
        "--log",
        str(tmp_path / "l"),
    ]
    extra = [str(tmp_path / e) if e == "cal.json" else e for e in extra]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and not (tmp_path / "l").exists()


def test_a_log_folder_holding_an_earlier_run_is_not_overwritten(tmp_path, capsys):
    log = tmp_path / "log"
    log.mkdir()
    (log / "summary.json").write_text('{"exit_reason": "completed"}')
    code = main(
        ["deploy", str(scripted_policy_file(tmp_path)), "--dry-run", "--goal", GOAL, "--log", str(log)]
    )
    assert code == 2 and "earlier run" in capsys.readouterr().err
    assert (log / "summary.json").read_text() == '{"exit_reason": "completed"}'


def test_a_goal_below_a_floor_the_policy_file_raised_is_refused(tmp_path, capsys):
    own = SafetySettings.from_spec(get_robot("servo_arm")).to_dict()
    path = _policy_with(tmp_path, "highfloor", safety={**own, "floor_z_m": 0.5})
    assert main(["deploy", path, "--dry-run", "--goal", GOAL, "--log", str(tmp_path / "l")]) == 2
    assert "below the floor this run enforces (0.500 m" in capsys.readouterr().err
