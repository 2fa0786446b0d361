"""The deploy loop's decisions, unit-tested on a FakeArm (a test double: no physics, no simavr; the same
paths against the real firmware are in tests/firmware_bridge/test_host_deploy.py)."""

from __future__ import annotations

import copy
import json
import time

import numpy as np
import pytest

from robokit.core.arm import ArmMode, ArmState
from robokit.core.kinematics import Kinematics
from robokit.policies import scripted_policy
from robokit.robots import get_robot
from robokit.runtime.fake_arm import FakeArm
from robokit.runtime.loop import DeployAborted, DeployLoop, PolicyMismatch
from robokit.runtime.policy_checks import check_policy_for_robot
from robokit.runtime.ticks import arm_stopped

GOAL = np.array([0.20, 0.05, 0.15])


class Scripted:
    """A policy (spec + act) whose action is given per call by ``fn(call_index, obs)``."""

    def __init__(self, spec: dict, fn) -> None:
        self.spec, self.fn, self.calls = spec, fn, 0

    def act(self, obs: dict) -> np.ndarray:
        self.calls += 1
        return self.fn(self.calls - 1, obs)


@pytest.fixture(scope="module")
def reach():
    return scripted_policy()


def _loop(policy, arm, tmp_path, **kw) -> DeployLoop:
    loop = DeployLoop(policy, None, robot=arm.spec, log_dir=tmp_path / "log", **kw)
    if hasattr(policy, "calls"):
        policy.calls = 0  # count the loop's ticks, not the warm-up call
    loop.arm = arm
    return loop


def _rows(tmp_path) -> list[dict]:
    return [json.loads(r) for r in (tmp_path / "log" / "ticks.jsonl").read_text().splitlines()]


def test_a_nan_action_sends_nothing_and_the_run_stops_with_the_log_whole(tmp_path, reach):
    policy = Scripted(reach.spec, lambda i, obs: np.full(3, np.nan) if i >= 10 else reach.act(obs))
    arm = FakeArm(enabled=True)
    loop = _loop(policy, arm, tmp_path)
    with pytest.raises(DeployAborted, match="bad action") as exc:
        loop.run([GOAL], seconds_per_goal=2.0)
    loop.close()
    rows = _rows(tmp_path)
    assert len(arm.commands) == 10 and len(rows) == 11  # ticks 0-9 sent; the NaN tick sent nothing
    assert rows[-1]["targets"] is None and "nan" in str(rows[-1]["action"]).lower()
    assert exc.value.summary.ticks == 10
    assert json.loads((tmp_path / "log" / "summary.json").read_text())["exit_reason"].startswith(
        "policy returned"
    )


@pytest.mark.parametrize(
    "fault, words",
    [
        (lambda arm: arm.estop(), "e-stop latched"),
        (lambda arm: arm.trip_watchdog(), "watchdog tripped"),
        (lambda arm: arm.release(), "servos released"),
    ],
)
def test_the_run_stops_when_the_arm_stops_following_targets(tmp_path, reach, fault, words):
    arm = FakeArm(enabled=True)
    arm.on_read[6] = fault  # before the 7th read: tick 6
    loop = _loop(reach, arm, tmp_path)
    with pytest.raises(DeployAborted, match=words):
        loop.run([GOAL], seconds_per_goal=2.0)
    loop.close()
    rows = _rows(tmp_path)
    assert len(arm.commands) == 6 and rows[-1]["targets"] is None and len(rows) == 7


def test_a_lost_link_ends_the_run_with_the_summary_written(tmp_path, reach):
    arm = FakeArm(enabled=True)
    arm.on_read[4] = lambda a: a.disconnect("cable pulled")
    loop = _loop(reach, arm, tmp_path)
    with pytest.raises(DeployAborted, match="link lost.*cable pulled"):
        loop.run([GOAL], seconds_per_goal=2.0)
    loop.close()
    summary = json.loads((tmp_path / "log" / "summary.json").read_text())
    assert summary["exit_reason"].startswith("link lost") and summary["ticks"] == 4 == len(_rows(tmp_path))


def test_a_policy_for_another_robot_is_refused_before_the_arm_is_touched(tmp_path):
    panda = scripted_policy("robokit/PandaReach-v0")
    arm = FakeArm("servo_arm")
    with pytest.raises(PolicyMismatch, match="trained for robot 'panda'"):
        DeployLoop(panda, arm, robot=arm.spec, log_dir=tmp_path / "log")
    assert arm.calls == ["connect"] and arm.reads == 0 and not (tmp_path / "log").exists()


def test_a_policy_with_another_observation_size_is_refused(reach):
    spec = copy.deepcopy(reach.spec)
    spec["obs_spaces"]["observation"]["shape"] = [13]
    with pytest.raises(PolicyMismatch, match="observation 'observation'"):
        check_policy_for_robot(spec, get_robot("servo_arm"))


def test_ticks_follow_absolute_deadlines_and_a_stall_is_counted_not_carried(tmp_path, reach):
    """At 50 Hz a 70 ms stall at tick 10 makes the next ticks late (missed deadlines) and then the
    loop is back on the original schedule: deadlines are absolute, not relative to the last tick."""

    def act(i, obs):
        if i == 10:
            time.sleep(0.07)
        return reach.act(obs)

    arm = FakeArm(enabled=True)
    loop = _loop(Scripted(reach.spec, act), arm, tmp_path, hz=50.0)
    summary = loop.run([GOAL], seconds_per_goal=1.0)
    loop.close()
    rows = _rows(tmp_path)
    t = np.array([r["t_s"] for r in rows])
    assert summary.ticks == 50 and summary.target_hz == 50.0
    assert summary.missed_deadlines >= 1 and summary.lateness_max_ms > 40.0
    # the last ticks are on the schedule set at the start: t0 + k / 50 s (a little read latency aside)
    late_tail = (t[40:] - t[0]) - np.arange(40, 50) / 50.0
    assert np.all(late_tail > -0.002) and np.median(late_tail) < 0.01
    assert all(r["lateness_ms"] >= 0 for r in rows)


def _zero_policy(spec: dict) -> Scripted:
    return Scripted(spec, lambda i, obs: np.zeros(3, dtype=np.float32))


def test_the_success_threshold_is_the_policy_specs_distance_threshold(tmp_path):
    """A goal 3 cm from where the Panda's tip stays counts as reached with the Panda's 0.05 m threshold,
    and not with 0.02 m: the run uses the spec's distance_threshold_m, not a fixed tolerance."""
    panda = scripted_policy("robokit/PandaReach-v0")
    assert panda.spec["distance_threshold_m"] == 0.05
    robot = get_robot("panda")
    kin = Kinematics(robot)
    goal = kin.fk(np.asarray(robot.home_q)) + np.array([0.0, 0.0, 0.03])
    kin.close()
    results = {}
    for threshold in (0.05, 0.02):
        spec = {**copy.deepcopy(panda.spec), "distance_threshold_m": threshold}
        arm = FakeArm("panda", enabled=True, q_is_measured=True)
        loop = _loop(_zero_policy(spec), arm, tmp_path / str(threshold))
        assert loop.tolerance_m == threshold
        summary = loop.run([goal], seconds_per_goal=0.2)
        loop.close()
        results[threshold] = summary.goals[0]
        assert summary.success_threshold_m == threshold
    assert results[0.05]["reached"] and results[0.05]["time_to_reach_s"] is not None
    assert not results[0.02]["reached"] and results[0.02]["time_to_reach_s"] is None


def test_gripper_actuated_is_read_from_the_validated_spec(reach):
    servo = get_robot("servo_arm")
    assert check_policy_for_robot(reach.spec, servo).gripper_actuated is False
    with pytest.raises(PolicyMismatch, match="action_dim"):  # a gripper adds an action: 3 != 4
        check_policy_for_robot({**reach.spec, "gripper_actuated": True}, servo)
    with pytest.raises(PolicyMismatch, match="gripper_actuated"):  # not a bool: refused, not truthy
        check_policy_for_robot({**reach.spec, "gripper_actuated": "no"}, servo)


@pytest.mark.parametrize(
    "flags, words, absent",
    [
        ({}, None, None),
        ({"estop_latched": True, "released": True, "watchdog_tripped": True}, "e-stop latched", "watchdog"),
        ({"released": True, "watchdog_tripped": True}, "servos released", None),
        ({"released": True}, "servos released", "watchdog"),
        ({"watchdog_tripped": True}, "watchdog tripped", "released"),
    ],
)
def test_arm_stopped_follows_the_states_mode_and_names_a_watchdog_release(flags, words, absent):
    """Pure logic on ArmState readings (no arm): the cause follows ArmState.mode's order, and a release
    the watchdog caused names the watchdog too."""
    state = ArmState(q=np.zeros(6), q_is_measured=False, t_s=0.0, **flags)
    why = arm_stopped(state)
    assert (why == "") == (state.mode is ArmMode.ENABLED)
    if words:
        assert words in why
    if absent:
        assert absent not in why
    if flags.get("released") and flags.get("watchdog_tripped") and not flags.get("estop_latched"):
        assert "watchdog tripped" in why


def test_a_second_ctrl_c_while_the_summary_is_written_does_not_lose_it(tmp_path, reach, monkeypatch):
    """Found by attack: two Ctrl-C 5 ms apart; the second landed in the wrap-up and summary.json was lost."""
    import os
    import signal

    import robokit.runtime.loop as loop_module

    arm = FakeArm(enabled=True)
    arm.on_read[5] = lambda a: os.kill(os.getpid(), signal.SIGINT)  # the first Ctrl-C, at tick 5
    real = loop_module.summarise

    def summarise_hit_again(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the second, while the summary is made
        time.sleep(0.01)  # the handler runs here
        return real(*args, **kwargs)

    monkeypatch.setattr(loop_module, "summarise", summarise_hit_again)
    loop = _loop(reach, arm, tmp_path)
    with pytest.raises(DeployAborted, match="interrupted"):
        loop.run([GOAL], seconds_per_goal=2.0)
    loop.close()
    summary = json.loads((tmp_path / "log" / "summary.json").read_text())
    assert summary["exit_reason"].startswith("interrupted") and summary["ticks"] == len(_rows(tmp_path))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works again after


def test_the_goal_a_run_ends_in_is_in_the_summary_up_to_its_last_tick(tmp_path, reach):
    """Found by attack: an aborted deploy dropped the goal it was driving toward from summary.json."""
    from robokit.cli.deploy import goal_verdict

    arm = FakeArm(enabled=True)
    arm.on_read[30] = lambda a: a.disconnect("cable pulled")  # in the second goal (25 ticks per goal)
    loop = _loop(reach, arm, tmp_path)
    second = GOAL + np.array([0.0, -0.1, 0.0])
    with pytest.raises(DeployAborted, match="link lost"):
        loop.run([GOAL, second, GOAL], seconds_per_goal=1.0)
    loop.close()
    goals = json.loads((tmp_path / "log" / "summary.json").read_text())["goals"]
    assert len(goals) == 2 and not goals[0].get("ended_early") and goals[1]["ended_early"]
    assert goals[1]["goal_m"] == pytest.approx(second.tolist())
    assert goals[1]["final_q"] == _rows(tmp_path)[-1]["q"]  # the last tick it saw
    assert "the run ended during this goal" in goal_verdict(goals[1], 0.02)
