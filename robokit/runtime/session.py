"""``run_deploy``: run a policy file on an arm, from untrusted inputs to the written log (the library
function behind ``robokit deploy``).

Order: every input is checked (paths, goals, the policy file, the policy against the robot and the task,
the goals against the workspace and the enforced floor, the log folder) before an arm is connected;
then the arm is connected and brought up (``bringup.bring_up``); then the loop runs. Whatever happens
after the arm is connected (a refusal during bring-up, Ctrl-C, an error), the arm is closed. A refusal
raises ``DeployRefused`` (nothing moved); a run that stopped early returns ``aborted`` set.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robokit.core.arm import Arm, ArmError
from robokit.firmware_bridge.link import BAUD
from robokit.runtime.bringup import bring_up
from robokit.runtime.loop import DeployAborted, DeployLoop
from robokit.runtime.summary import DeploySummary
from robokit.runtime.task_state import TaskStateSource


class DeployRefused(ValueError):
    """A reason to refuse the run before the arm moves (one line for the user)."""


@dataclass
class DeployRequest:
    """What to deploy where. goals: texts 'x,y,z' (m, base frame). port: serial port or pyserial URL;
    dry_run: a simulated arm in real time instead. hz: override the policy's rate (benchmarks only).
    robot: the arm's robot (default servo_arm on a port, the policy's with dry_run). on_exit: "hold" or
    "release". calibration: a calibration JSON the firmware (or a servo-bus arm's EEPROM) must match."""

    policy: Path
    goals: Sequence[str]
    duration_s: float = 10.0
    port: str | None = None
    dry_run: bool = False
    hz: float | None = None
    log_dir: Path | None = None
    robot: str | None = None
    baud: int = BAUD
    on_exit: str = "hold"
    calibration: Path | None = None
    sources: Sequence[TaskStateSource] = field(default_factory=tuple)


@dataclass
class DeployOutcome:
    """A run that started: its summary (None if none was made), log folder, and the abort reason."""

    summary: DeploySummary | None
    log_dir: Path | None
    robot: Any
    aborted: str | None = None
    notes: list[str] = field(default_factory=list)


Say = Callable[[str], None]


def run_deploy(
    request: DeployRequest,
    *,
    say: Say = print,
    warn: Say = print,
    status: Say | None = None,
    connect: Callable[[DeployRequest, DeployLoop, Say], Arm] | None = None,
) -> DeployOutcome:
    """Check, connect, bring up, run (see the module docstring). ``say``: progress lines; ``warn``:
    warnings; ``status``: the live status line; ``connect``: makes the arm (default ``connect_arm``;
    tests pass a FakeArm). Raises DeployRefused before anything moved."""
    loop, goals = prepare(request, say, warn, status)
    try:
        arm = (connect or connect_arm)(request, loop, say)
        with _closed_on_failure(arm):
            bring_up(arm, say=say)
    except BaseException:
        loop.close()  # removes the log folder it made: a refused run leaves nothing
        _close_simulated(request)
        raise
    loop.arm = arm
    try:
        with arm, stop_on_signals():  # SIGTERM/SIGHUP end the run like Ctrl-C: the arm holds
            summary, aborted = _run(loop, goals, request)
    finally:
        loop.close()
        _close_simulated(request)
    return DeployOutcome(summary, loop.log_dir, loop.robot, aborted)


def _close_simulated(request: DeployRequest) -> None:
    """Close the simulated task-state sources a dry run made (not sources the caller passed)."""
    from robokit.runtime.sim_task_state import SimulatedTaskState

    for source in request.sources:
        if isinstance(source, SimulatedTaskState):
            source.close()


def _run(loop: DeployLoop, goals: list, request: DeployRequest) -> tuple[DeploySummary | None, str | None]:
    try:
        return loop.run(goals, seconds_per_goal=request.duration_s / len(goals)), None
    except DeployAborted as exc:
        return exc.summary, exc.reason


def prepare(request: DeployRequest, say: Say, warn: Say, status: Say | None) -> tuple[DeployLoop, list]:
    """Every check that needs no arm; returns the loop (no arm yet) and the goals. Raises DeployRefused."""
    from robokit.paths import PathError, check_input_file, check_output_dir
    from robokit.policies.policy_file import load_policy, read_policy_spec
    from robokit.runtime.policy_checks import parse_goal

    try:
        log_dir = check_output_dir(request.log_dir, "--log") if request.log_dir is not None else None
        calibration = (
            check_input_file(request.calibration, "--calibration")
            if request.calibration is not None
            else None
        )
    except PathError as exc:
        raise DeployRefused(str(exc)) from None
    if calibration is not None and request.dry_run:
        raise DeployRefused("--calibration checks a real arm's firmware; it has no meaning with --dry-run")
    if calibration is not None and not calibration.is_file():
        raise DeployRefused(f"calibration file {calibration} does not exist")
    request.calibration = calibration
    if str(request.policy).startswith("expert:") and not Path(request.policy).exists():
        env_id = str(request.policy).removeprefix("expert:") or "ENV"
        raise DeployRefused(
            f"{request.policy}: deploy takes a policy file, not a scripted expert (`robokit eval` runs "
            f"those in simulation); train one with `robokit train {env_id} --out RUN`"
        )
    try:
        # the spec alone first, so a mistyped goal is named before the weights are read
        goal_dim = math.prod(read_policy_spec(request.policy).obs_shapes.get("desired_goal", (3,)))
    except (OSError, ValueError) as exc:
        raise DeployRefused(_about_policy(request.policy, exc)) from None
    try:
        goals = [parse_goal(g, goal_dim) for g in request.goals]
    except ValueError as exc:  # the goal's fault, not the policy file's
        raise DeployRefused(f"--goal: {exc}") from None
    try:
        policy = load_policy(request.policy)
    except (OSError, ValueError) as exc:
        raise DeployRefused(_about_policy(request.policy, exc)) from None
    log_dir = log_dir or Path("runs") / f"deploy-{time.strftime('%Y%m%d-%H%M%S')}"
    try:
        loop = _make_loop(request, policy, log_dir, status)
    except (KeyError, ValueError) as exc:
        raise DeployRefused(str(exc).strip("'\"")) from None
    try:
        _check_run(loop, goals, request, warn, say)
    except ValueError as exc:
        loop.close()
        raise DeployRefused(str(exc)) from None
    return loop, goals


def _make_loop(request: DeployRequest, policy: Any, log_dir: Path, status: Say | None) -> DeployLoop:
    """The DeployLoop for the request's robot (checked against the policy); KeyError/ValueError."""
    from robokit.robots import default_robot, get_robot

    robot = get_robot(request.robot or (policy.spec["robot"] if request.dry_run else default_robot()))
    wire = None
    if request.dry_run and not request.sources:  # an object task's objects, simulated beside the arm
        from robokit.runtime.sim_task_state import simulated_sources

        request.sources = simulated_sources(policy.spec, robot)
    if request.dry_run:
        wire = _wire_preview(robot)

    return DeployLoop(
        policy, None, robot=robot, hz=request.hz, log_dir=log_dir, wire_preview=wire, status=status,
        sources=request.sources,
    )  # fmt: skip


def _wire_preview(robot: Any) -> Callable[[Any], str]:
    """q -> the bytes a real arm would be sent for it, as hex: the firmware's TARGETS frame, or a
    servo-bus arm's SYNC_WRITE of Goal_Position."""
    from robokit.robots import robot_folder

    bus = robot_folder(robot.name).bus
    if bus is not None:
        from robokit.firmware_bridge.feetech.arm import goal_packet

        return lambda q: goal_packet(bus, q).hex(" ")
    from robokit.firmware_bridge import protocol as pr
    from robokit.firmware_bridge.fixedpoint import rad_to_100urad

    return lambda q: pr.encode_frame(pr.Targets(seq=0, targets_100urad=rad_to_100urad(q))).hex(" ")


def _check_run(loop: DeployLoop, goals: list, request: DeployRequest, warn: Say, say: Say) -> None:
    """Goals against the workspace and the floor actually enforced (a policy file may raise it), and at
    least one tick per goal; ValueError otherwise. Prints warnings and the safety notes."""
    warnings = loop.check_goals(goals)
    if request.duration_s / len(goals) * loop.hz < 1:
        raise ValueError(
            f"--duration {request.duration_s:g} s over {len(goals)} goals at {loop.hz:g} Hz is less than one "
            "tick per goal"
        )
    for warning in warnings:
        warn(f"warning: {warning}")
    for note in loop.safety_notes:
        say(f"safety: the policy file's settings: {note}")


def connect_arm(request: DeployRequest, loop: DeployLoop, say: Say) -> Arm:
    """The arm, connected and checked against the robot; DeployRefused (nothing moved) otherwise. Dry
    run: a RealtimeSimArm; else a HardwareArm on ``request.port``, or for a robot whose folder has a
    ``bus`` section (the SO-101) a FeetechArm."""
    robot = loop.robot
    if request.dry_run:
        from robokit.envs.sim_arm import RealtimeSimArm

        say(
            f"dry run: a simulated {robot.name} in real time; ticks.jsonl shows the TARGETS bytes that would be sent"
        )
        from robokit.runtime.sim_task_state import SimulatedTaskState

        arm = RealtimeSimArm(robot)
        for source in request.sources:
            if isinstance(source, SimulatedTaskState):  # the task's objects, in the arm's own sim
                source.attach(arm)
                say(f"dry run: {', '.join(source.bodies)} simulated beside the arm (seed {source.seed})")
        return arm
    from robokit.robots import robot_folder

    if robot_folder(robot.name).bus is not None:
        return _bus_arm(request, robot)
    from robokit.firmware_bridge.hardware_arm import HardwareArm

    try:
        return HardwareArm(
            request.port, robot, baud=request.baud, on_close=request.on_exit,
            calibration=request.calibration, control_period_s=1.0 / loop.hz,
        )  # fmt: skip
    except (ArmError, OSError, ValueError) as exc:
        raise DeployRefused(str(exc)) from None


def _bus_arm(request: DeployRequest, robot: Any) -> Arm:
    """The servo-bus arm on ``request.port`` (robokit.firmware_bridge.feetech); DeployRefused otherwise."""
    from robokit.firmware_bridge.feetech.arm import FeetechArm
    from robokit.firmware_bridge.feetech.calibration import read_calibration

    try:
        # its calibration file (robokit arm calibrate --robot NAME): refused at connect if the EEPROM differs
        cal = None if request.calibration is None else read_calibration(request.calibration, robot.name)
        return FeetechArm(request.port, robot, baud=request.baud, on_close=request.on_exit, calibration=cal)
    except (ArmError, OSError, ValueError) as exc:
        raise DeployRefused(str(exc)) from None


@contextlib.contextmanager
def _closed_on_failure(arm: Arm) -> Iterator[None]:
    """Close ``arm`` on any exception (Ctrl-C included); an ArmError becomes DeployRefused."""
    try:
        yield
    except ArmError as exc:
        arm.close()
        raise DeployRefused(str(exc)) from None
    except BaseException:
        arm.close()
        raise


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP (a closed terminal, `timeout`, a service manager) into KeyboardInterrupt
    named after the signal, which the deploy loop ends cleanly on; the previous handlers come back after.
    Outside the main thread (signals cannot be set there) nothing is changed."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _about_policy(policy: object, exc: Exception) -> str:
    """A policy file's fault in one line that names the file."""
    text = str(exc)
    return text if str(policy) in text else f"cannot use {policy}: {text}"
