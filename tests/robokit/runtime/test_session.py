"""``run_deploy`` (the library behind ``robokit deploy``) and ``bring_up`` on a FakeArm (a test double for
the logic; the same paths on the real firmware are in tests/firmware_bridge): after the arm is connected,
every way out closes it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robokit.core.arm import ArmMode
from robokit.policies import scripted_policy
from robokit.runtime.bringup import ArmNotReady, bring_up
from robokit.runtime.fake_arm import FakeArm
from robokit.runtime.session import DeployRefused, DeployRequest, run_deploy

GOAL = "0.20,0.05,0.15"


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory) -> Path:
    return scripted_policy().save(tmp_path_factory.mktemp("p") / "reach.safetensors")


def _request(policy_file: Path, tmp_path: Path, **kw) -> DeployRequest:
    return DeployRequest(
        policy=policy_file, goals=[GOAL], duration_s=0.5, port="fake", log_dir=tmp_path / "log", **kw
    )


def _run(request, arm: FakeArm, lines: list[str] | None = None):
    out = [] if lines is None else lines
    return run_deploy(request, say=out.append, warn=out.append, connect=lambda req, loop, say: arm)


def test_a_released_arm_is_brought_up_and_driven(tmp_path, policy_file):
    arm, lines = FakeArm(), []
    outcome = _run(_request(policy_file, tmp_path), arm, lines)
    assert outcome.aborted is None and outcome.summary.ticks == 12
    assert arm.calls[:2] == ["connect", "enable"] and arm.calls[-1] == "close"
    assert any(line.startswith("enabling") for line in lines) and len(arm.commands) == 12
    assert json.loads((tmp_path / "log" / "summary.json").read_text())["exit_reason"] == "completed"


def test_a_latched_estop_is_refused_and_the_arm_closed_with_nothing_sent(tmp_path, policy_file):
    arm = FakeArm()
    arm.estop()
    with pytest.raises(DeployRefused, match="e-stop is latched"):
        _run(_request(policy_file, tmp_path), arm)
    assert arm.closed and arm.commands == [] and "enable" not in arm.calls
    assert not (tmp_path / "log").exists()  # a refused run leaves no log folder


@pytest.mark.parametrize("error", [KeyboardInterrupt("Ctrl-C"), RuntimeError("driver bug")])
def test_an_interrupt_or_error_during_bring_up_still_closes_the_arm(tmp_path, policy_file, error):
    arm = FakeArm()

    def enable(pose=None):
        raise error

    arm.enable = enable
    with pytest.raises(type(error)):
        _run(_request(policy_file, tmp_path), arm)
    assert arm.closed and arm.commands == [] and not (tmp_path / "log").exists()


def test_a_refused_policy_never_connects_an_arm(tmp_path):
    panda = scripted_policy("robokit/PandaReach-v0").save(tmp_path / "panda.safetensors")
    connected = []
    with pytest.raises(DeployRefused, match="trained for robot 'panda'"):
        run_deploy(_request(panda, tmp_path), say=print, connect=lambda *a: connected.append(1))
    assert connected == []


def test_an_aborted_run_closes_the_arm_and_reports_why(tmp_path, policy_file):
    arm = FakeArm()
    arm.on_read[5] = lambda a: a.estop()
    outcome = _run(_request(policy_file, tmp_path), arm)
    assert outcome.aborted.startswith("the arm stopped following targets: e-stop") and arm.closed


def test_bring_up_clears_a_tripped_watchdog_then_enables(tmp_path):
    arm, lines = FakeArm(enabled=True), []
    arm.trip_watchdog()
    assert arm.read().mode is ArmMode.HOLDING
    ready = bring_up(arm, say=lines.append)
    assert ready.steps == ("cleared_watchdog",) and ready.state.mode is ArmMode.ENABLED
    assert lines == ["clearing the tripped watchdog (the arm keeps still)"]
    arm.release()
    assert bring_up(arm, pose=np.asarray(arm.spec.home_q)).steps == ("enabled",)
    arm.estop()
    with pytest.raises(ArmNotReady):
        bring_up(arm)
    assert arm.calls[-1] == "estop"  # nothing sent after the refusal
