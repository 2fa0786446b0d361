"""`robokit demo --fast` end to end: train, evaluate with videos, deploy on the emulated arm."""

import json
import subprocess
import sys

import imageio.v2 as imageio
import pytest

from robokit.cli import main
from robokit.firmware_bridge.emulator import missing_tools


@pytest.mark.skipif(missing_tools() is not None, reason=f"emulator toolchain: {missing_tools()}")
def test_demo_fast_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    run = subprocess.run(  # piped, as in a CI log: no carriage returns, no progress-bar redraws
        [sys.executable, "-m", "robokit.cli", "demo", "--fast", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    text = run.stdout
    assert "sim success rate" in text and "reach error" in text and "control loop" in text
    assert "holding in sim" in text and "holding on arm" in text
    assert "\r" not in run.stdout + run.stderr and "\x1b[" not in run.stdout + run.stderr
    assert "pybullet build time" not in run.stdout + run.stderr

    summary = json.loads((out / "summary.json").read_text())
    agg = summary["eval"]["aggregate"]
    assert 0.0 <= agg["success_rate"] <= 1.0 and agg["episodes"] == 20
    assert (out / "train-fast" / "policy.safetensors").is_file()
    assert json.loads((out / "train-fast" / "demo-train.json").read_text())["fast"] is True
    assert not (out / "train").exists()  # a full demo in the same folder will not reuse the CI policy

    eval_dir = out / "eval"
    assert (
        json.loads((eval_dir / "eval.json").read_text())["aggregate"]["success_rate"] == agg["success_rate"]
    )
    grid = eval_dir / "videos" / "grid.mp4"
    reader = imageio.get_reader(grid, format="FFMPEG")
    frames = [f for f in reader]
    assert len(frames) > 5 and frames[0].ndim == 3 and frames[0].std() > 5
    for png in summary["eval"]["plots"]:
        assert (eval_dir / png).stat().st_size > 1000

    deploy = summary["deploy"]["summary"]
    assert deploy["exit_reason"] == "completed" and deploy["ticks"] == 100
    assert len(deploy["goals"]) == 2
    for g in deploy["goals"]:
        # the servos' pulses put the tip where the firmware says it is, whatever training reached
        assert abs(g["pulse_reach_error_m"] - g["reach_error_m"]) < 0.005
        assert g["pulse_reach_error_m"] < 0.1  # and it moved toward the goal (the arm's reach is ~0.35 m)
    assert (out / "deploy" / "joints.png").is_file() and (out / "deploy" / "ticks.jsonl").is_file()

    # a second run reuses the trained policy and deploys again, keeping the first run's deploy log
    # (it used to refuse the deploy folder after enabling the arm)
    first_ticks = (out / "deploy" / "ticks.jsonl").read_bytes()
    assert main(["demo", "--fast", "--out", str(out)]) == 0
    assert "reusing" in capsys.readouterr().out
    kept = [p for p in out.glob("deploy-*") if p.is_dir()]
    assert len(kept) == 1 and (kept[0] / "ticks.jsonl").read_bytes() == first_ticks
    assert json.loads((out / "summary.json").read_text())["deploy"]["summary"]["exit_reason"] == "completed"


def test_deploy_hint_names_the_toolchain_only_when_it_is_missing(monkeypatch):
    """A watchdog trip or a refused log folder is not a missing toolchain (the old hint said it was)."""
    from robokit.firmware_bridge import emulator
    from robokit.runtime import demo

    assert "install gcc-avr" not in demo._deploy_hint(RuntimeError("firmware watchdog tripped"))
    monkeypatch.setattr(emulator, "missing_tools", lambda: "missing avr-gcc")
    assert "install gcc-avr" in demo._deploy_hint(emulator.EmulatorError("could not build"))


def test_demo_out_naming_a_file_is_a_usage_error(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("keep")
    assert main(["demo", "--fast", "--out", str(f)]) == 2
    assert "existing file" in capsys.readouterr().err and f.read_text() == "keep"


@pytest.mark.slow  # ~35 s; the default suite keeps its margin to 10 minutes (the SO-101 tests joined it)
def test_demo_push_fast_trains_a_clone_evaluates_and_deploys_it_on_a_simulated_arm(tmp_path, capsys):
    """`robokit demo --task push --fast`: a bc clone of the Push expert (CI-sized), 20 evaluation episodes
    with videos, and the deploy loop on a real-time simulated arm with the cube beside it."""
    from robokit.policies import read_spec

    out = tmp_path / "demo"
    assert main(["demo", "--task", "push", "--fast", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "behaviour cloning" in text and "push error (object to goal)" in text and "control loop" in text
    assert "still at the goal" in text and ("reached after" in text or "NOT reached" in text)
    policy = out / "train-push-fast" / "policy.safetensors"
    assert read_spec(policy)["env_id"] == "robokit/ServoArmPush-v0" and read_spec(policy)["algo"] == "bc"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task"] == "push" and summary["eval"]["aggregate"]["episodes"] == 20
    assert (out / "eval" / "videos" / "grid.mp4").stat().st_size > 1000
    deploy = summary["deploy"]["summary"]
    assert deploy["task"] == "push" and deploy["exit_reason"] == "completed" and len(deploy["goals"]) == 2
    assert deploy["missed_deadlines"] <= 3 and all(g["reach_error_m"] < 0.5 for g in deploy["goals"])
    assert (out / "deploy" / "ticks.jsonl").is_file()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_demo_for_the_so101_trains_evaluates_and_deploys_on_its_virtual_bus(tmp_path):
    """`robokit demo --robot so101 --fast` (about 70 s): a So101Reach policy, its evaluation with videos,
    and a deploy on the virtual Feetech bus whose reach errors come from the servos and the plant's tip."""
    out = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, "-m", "robokit.cli", "demo", "--robot", "so101", "--fast", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=800,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "virtual bus goal 1" in run.stdout and "from the simulated arm's tip" in run.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert (
        summary["env_id"] == "robokit/So101Reach-v0"
        and (out / "train-so101-fast" / "policy.safetensors").is_file()
    )
    goals = summary["deploy"]["summary"]["goals"]
    assert len(goals) == 2 and all("plant_reach_error_m" in g for g in goals)
    assert any(p.endswith("grid.mp4") for p in summary["eval"]["videos"])
