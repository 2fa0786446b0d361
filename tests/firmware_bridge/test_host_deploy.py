"""Deploy over a real pty to the real firmware in simavr: reaching, and every fault the issue names."""

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from robokit.core.arm import ArmDisconnected
from robokit.core.kinematics import Kinematics
from robokit.firmware_bridge.hardware_arm import HardwareArm
from robokit.policies import load_policy
from robokit.robots import get_robot
from robokit.runtime.bringup import bring_up
from robokit.runtime.loop import DeployAborted, DeployLoop, PolicyMismatch

from .host_helpers import Emulator, NanAfter, needs_emulator, pulse_angles, scripted_policy_file

pytestmark = needs_emulator
GOAL = np.array([0.20, 0.05, 0.15])


def _settled_arm(emu: Emulator, **kw) -> HardwareArm:
    arm = HardwareArm(emu.port, "servo_arm", **kw)
    bring_up(arm, min_frame=10)
    return arm


def _ready(emu: Emulator, policy, log_dir, **kw) -> tuple[HardwareArm, DeployLoop]:
    """As `robokit deploy` does it: the loop first (every check, the warm-up and the full garbage
    collection, before the arm is touched), then the arm brought up, so the first tick follows ENABLE
    well inside the firmware's 500 ms watchdog."""
    loop = DeployLoop(policy, None, log_dir=log_dir)
    loop.arm = _settled_arm(emu, **kw)
    return loop.arm, loop


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    return load_policy(scripted_policy_file(tmp_path_factory.mktemp("policy")))


def test_scripted_policy_reaches_the_goal_measured_from_pulses(tmp_path, scripted):
    spec = get_robot("servo_arm")
    with Emulator() as emu:
        arm, loop = _ready(emu, scripted, tmp_path)
        summary = loop.run([GOAL], seconds_per_goal=2.0)
        frame = arm.read().frame
        pf = emu.pulses.wait_for(frame)
        q = pulse_angles(pf, arm.info)
        arm.close()
    kin = Kinematics(spec)
    ee = kin.fk(q)
    kin.close()
    assert np.linalg.norm(ee - GOAL) < 0.005  # m, from the pulse widths the servos are sent
    assert summary.exit_reason == "completed" and summary.ticks == 50
    rows = (tmp_path / "ticks.jsonl").read_text().splitlines()
    assert len(rows) == 50 and json.loads(rows[-1])["frame"] is not None
    assert json.loads((tmp_path / "summary.json").read_text())["goals"][0]["reach_error_m"] < 0.005


class _FaultAt:
    """Wraps a loaded policy; at its ``n``-th call it starts ``fault`` in a thread (the link dies mid-run)."""

    def __init__(self, policy, n: int, fault) -> None:
        self.policy, self.n, self.fault, self.calls, self.spec = policy, n, fault, 0, policy.spec

    def act(self, obs: dict) -> np.ndarray:
        self.calls += 1
        if self.calls == self.n:
            threading.Thread(target=self.fault).start()
        return self.policy.act(obs)


@pytest.mark.parametrize("how", ["kill", "freeze"])
def test_link_loss_raises_within_three_periods(tmp_path, how, scripted):
    with Emulator() as emu:
        arm, loop = _ready(emu, scripted, tmp_path, control_period_s=0.04)
        t_fault = []

        def fault():
            t_fault.append(time.monotonic())
            os.kill(emu._proc.pid, signal.SIGKILL if how == "kill" else signal.SIGSTOP)

        loop.policy = _FaultAt(scripted, 10, fault)  # at tick 10, whatever the start-up took on a loaded host
        t_detected = []  # when the loop gave up on the link and began its summary
        summarise = loop._summary
        loop._summary = lambda *a, **k: (t_detected.append(time.monotonic()), summarise(*a, **k))[1]
        with pytest.raises(DeployAborted) as exc:
            loop.run([GOAL], seconds_per_goal=5.0)
        t_raised = time.monotonic()
        if how == "freeze":
            os.kill(emu._proc.pid, signal.SIGKILL)
        arm.close()
    assert exc.value.reason.startswith("link lost")
    assert t_detected[0] - t_fault[0] < 3 * 0.04 + 0.1  # three control periods, plus one tick of slack
    assert t_raised - t_detected[0] < 2.0  # then the summary and log are written (fsync; slow on a busy host)
    summary = json.loads((tmp_path / "summary.json").read_text())
    rows = (tmp_path / "ticks.jsonl").read_text().splitlines()
    assert summary["exit_reason"].startswith("link lost") and len(rows) == summary["ticks"] > 5
    json.loads(rows[-1])  # the log is whole up to the fault


def test_garbage_on_the_link_is_dropped_and_counted(tmp_path, scripted):
    with Emulator() as emu:
        arm, loop = _ready(emu, scripted, tmp_path)
        rng = np.random.default_rng(0)

        def inject():
            for _ in range(5):
                arm.link.ser.write(bytes(rng.integers(1, 256, 40, dtype=np.uint8)) + b"\x00")
                time.sleep(0.1)

        threading.Timer(0.3, inject).start()
        summary = loop.run([GOAL], seconds_per_goal=2.0)
        state = arm.read()
        arm.close()
    assert summary.exit_reason == "completed"
    assert state.extra["bad_crc"] + state.extra["bad_frame"] + state.extra["bad_msg"] >= 5
    assert summary.goals[0]["reach_error_m"] < 0.01


def test_nan_action_sends_nothing_and_the_arm_holds(tmp_path, scripted):
    with Emulator() as emu:
        arm, loop = _ready(emu, NanAfter(scripted, 10), tmp_path)
        with pytest.raises(DeployAborted, match="bad action"):
            loop.run([GOAL], seconds_per_goal=2.0)
        sent = arm.stats["targets"]
        held = arm.read()
        time.sleep(0.2)
        later = arm.read()
        pf = emu.pulses.wait_for(later.frame)
        arm.close()
    assert not later.released and np.array_equal(held.q, later.q)  # holding, pulses on
    assert all(w > 0 for w in pf.widths_us)
    rows = [json.loads(r) for r in (tmp_path / "ticks.jsonl").read_text().splitlines()]
    assert rows[-1]["targets"] is None and "nan" in str(rows[-1]["action"]).lower()
    assert sent == len(rows) - 1 >= 5  # every tick before the NaN sent TARGETS; the NaN tick sent nothing


def test_policy_for_another_robot_is_refused_before_anything_is_sent(tmp_path):
    panda = load_policy(scripted_policy_file(tmp_path, "robokit/PandaReach-v0"))
    with Emulator() as emu:
        arm = HardwareArm(emu.port, "servo_arm")
        with pytest.raises(PolicyMismatch, match="panda"):
            DeployLoop(panda, arm, robot=get_robot("servo_arm"))
        assert arm.stats["targets"] == 0
        arm.close()


def test_silent_host_trips_the_watchdog_and_the_next_connection_sees_it():
    with Emulator() as emu:
        arm = _settled_arm(emu)
        arm.command(np.asarray(arm.spec.home_q))
        arm.close()  # on_close="hold": the firmware keeps pulsing until its watchdog trips
        time.sleep(0.8)  # > the 500 ms default watchdog
        with HardwareArm(emu.port, "servo_arm") as again:
            s = again.read()
            assert s.watchdog_tripped and not s.released  # HOLD: pulses continue
            again.clear()
            assert not again.read().watchdog_tripped


def test_dead_port_raises_instead_of_hanging():
    with Emulator() as emu:
        port = emu.port
    t0 = time.monotonic()
    with pytest.raises(ArmDisconnected):
        HardwareArm(port, "servo_arm", hello_timeout_s=0.5)
    assert time.monotonic() - t0 < 2.0


class StallAt:
    """Wraps a loaded policy; at tick ``n`` its act() blocks ``stall_s`` (a hung host), or raises."""

    def __init__(self, policy, n: int, stall_s: float = 0.0, error: Exception | None = None) -> None:
        self.policy, self.n, self.stall_s, self.error, self.spec = policy, n, stall_s, error, policy.spec
        self.tick = 0

    def act(self, obs: dict) -> np.ndarray:
        self.tick += 1
        if self.tick == self.n:
            if self.error is not None:
                raise self.error
            time.sleep(self.stall_s)
        return self.policy.act(obs)


def test_host_stall_past_the_watchdog_stops_the_run_with_the_log_complete(tmp_path, scripted):
    """A host that stalls longer than the firmware's watchdog finds the arm no longer following
    targets: the next tick sees the flag, nothing more is sent, the run ends non-zero and says why."""
    with Emulator() as emu:
        policy = StallAt(scripted, 10, stall_s=0.8)
        arm, loop = _ready(emu, policy, tmp_path)
        policy.tick = 0  # count the loop's ticks, not the warm-up call
        with pytest.raises(DeployAborted, match="watchdog") as exc:
            loop.run([GOAL], seconds_per_goal=2.0)
        sent = arm.stats["targets"]
        arm.close()
    rows = [json.loads(r) for r in (tmp_path / "ticks.jsonl").read_text().splitlines()]
    assert rows[-1]["flags"]["watchdog"] and rows[-1]["targets"] is None
    # ticks 0-9 sent TARGETS (tick 9's after the stall, too late: the firmware had tripped); tick 10 saw
    # the flag and sent nothing
    assert sent == len(rows) - 1 == 10
    assert exc.value.summary.exit_reason.startswith("the arm stopped following targets")
    assert json.loads((tmp_path / "summary.json").read_text())["ticks"] == exc.value.summary.ticks


def test_an_exception_inside_the_loop_still_writes_the_summary(tmp_path, scripted):
    with Emulator() as emu:
        policy = StallAt(scripted, 6, error=RuntimeError("policy blew up"))
        arm, loop = _ready(emu, policy, tmp_path)
        policy.tick = 0  # count the loop's ticks, not the warm-up call
        with pytest.raises(DeployAborted, match="RuntimeError: policy blew up"):
            loop.run([GOAL], seconds_per_goal=2.0)
        held = arm.read()
        arm.close()
    assert not held.released  # holding its last target
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["exit_reason"] == "error: RuntimeError: policy blew up" and summary["ticks"] == 5
    assert len((tmp_path / "ticks.jsonl").read_text().splitlines()) == 5


def test_policy_with_another_observation_layout_or_mode_is_refused(tmp_path, scripted):
    import copy

    from robokit.runtime.policy_checks import check_policy_for_robot

    servo = get_robot("servo_arm")
    check_policy_for_robot(scripted.spec, servo)  # the real one fits
    wrong_obs = copy.deepcopy(scripted.spec)
    wrong_obs["obs_spaces"]["observation"]["shape"] = [7]
    with pytest.raises(PolicyMismatch, match="observation 'observation'"):
        check_policy_for_robot(wrong_obs, servo)
    wrong_mode = {**copy.deepcopy(scripted.spec), "control_mode": "torque"}
    with pytest.raises(PolicyMismatch, match="control mode 'torque'"):
        check_policy_for_robot(wrong_mode, servo)
    no_spaces = {k: v for k, v in copy.deepcopy(scripted.spec).items() if k != "obs_spaces"}
    with pytest.raises(PolicyMismatch, match="observation 'observation'"):
        check_policy_for_robot(no_spaces, servo)
    joints = {**copy.deepcopy(scripted.spec), "control_mode": "joint_delta"}  # 3 dims, joint_delta takes 5
    with pytest.raises(PolicyMismatch, match="action_dim"):
        check_policy_for_robot(joints, servo)
