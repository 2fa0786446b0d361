"""Teleoperation: a leader arm (torque off, read only) drives a follower through the shared Safety layer,
on absolute deadlines at the rate asked for; episodes can be recorded as LeRobotDataset v3.0
(``robokit teleop``, docs/hardware.md "Teleoperation and recording").

Each tick: read the leader (its joint angles are the target), read the follower, ``Safety.apply`` (the
follower's own envelope: limits, max step per tick, floor), command the follower, and record the
follower's measured angles (``observation.state``), the target sent (``action``) and the tick's wall-clock
time since the episode began (``wall_time_s``; ``timestamp`` is ``frame_index / fps`` as LeRobot wants).
A tick that starts more than one period late is counted; an episode with more than ``MAX_LATE_FRACTION``
of them is not kept and recording stops (``TeleopTooSlow``): its timestamps would not be the times.
``replay_on_arm`` sends a recorded episode's actions to an arm at the dataset's rate and measures how
closely the arm's angles follow the recorded ones.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robokit.core.arm import Arm, ArmError, ArmMode
from robokit.core.kinematics import Kinematics
from robokit.core.safety import Safety, SafetySettings
from robokit.robots import RobotSpec
from robokit.runtime.bringup import slew_to
from robokit.runtime.ticks import sleep_until

MAX_LATE_FRACTION = 0.05  # more late ticks than this in an episode: it is not kept, recording stops
HZ_RANGE = (1.0, 200.0)
SETTLE_TOLERANCE_RAD = 0.003

__all__ = ["MAX_LATE_FRACTION", "Teleop", "TeleopEpisode", "TeleopStopped", "TeleopTooSlow", "replay_on_arm"]


class TeleopTooSlow(RuntimeError):
    """The loop could not hold the recording rate (late ticks beyond MAX_LATE_FRACTION of an episode)."""


class TeleopStopped(ArmError):
    """An arm stopped doing its part mid-episode (the follower no longer follows, the leader's reads
    failed): the episode is not kept."""


def safety_at(robot: RobotSpec, hz: float, kin: Kinematics) -> Safety:
    """The robot's Safety with its per-tick step limit scaled from the robot's control rate to ``hz``, so
    the joints' top speed (rad/s) is the same at any rate."""
    settings = SafetySettings.from_spec(robot)
    step = settings.max_target_step * robot.control_hz / hz
    return Safety(dataclasses.replace(settings, max_target_step=step), kin)


@dataclass
class TeleopEpisode:
    """One episode: state (L, n) follower rad, action (L, n) targets sent rad, wall_s (L,) s since its
    first tick, late_ticks: ticks that started more than a period late; images per camera, and the ticks
    whose newest frame was more than two periods old (``stale_frames``)."""

    state: np.ndarray
    action: np.ndarray
    wall_s: np.ndarray
    late_ticks: int
    images: dict[str, np.ndarray] = field(default_factory=dict)  # camera -> (L, H, W, 3) uint8 RGB
    stale_frames: dict[str, int] = field(default_factory=dict)  # camera -> ticks its newest frame was old

    def frames(self) -> dict[str, np.ndarray]:
        """The dataset columns (float32 angles, float64 times)."""
        return {
            "observation.state": self.state.astype(np.float32),
            "action": self.action.astype(np.float32),
            "wall_time_s": self.wall_s.astype(np.float64),
        }


class Teleop:
    """``leader`` (connected, torque off) drives ``follower`` (connected and following targets) of robot
    ``robot`` at ``hz`` (1..200; ValueError otherwise). Safety's step limit is scaled to ``hz``."""

    def __init__(self, leader: Arm, follower: Arm, robot: RobotSpec, hz: float) -> None:
        if not HZ_RANGE[0] <= hz <= HZ_RANGE[1]:
            raise ValueError(f"rate {hz} Hz is outside {HZ_RANGE[0]:g}..{HZ_RANGE[1]:g}")
        self.leader, self.follower, self.robot, self.hz = leader, follower, robot, float(hz)
        self.kin = Kinematics(robot)
        self.safety = safety_at(robot, self.hz, self.kin)

    def run(
        self, seconds: float, stop: Callable[[], bool] = lambda: False, cameras: dict[str, Any] | None = None
    ) -> TeleopEpisode:
        """Follow the leader for ``seconds`` (or until ``stop()``); returns the episode's ticks, with each
        camera's newest frame per tick (``cameras``: name -> robokit.runtime.camera.Camera). Raises
        TeleopTooSlow as soon as the episode has more late ticks than MAX_LATE_FRACTION allows,
        TeleopStopped when the follower stops following or the leader's reads fail, ArmError from either
        arm, UnsafeTarget for a non-finite leader reading, CameraError for a camera that stops."""
        period, n = 1.0 / self.hz, max(1, int(round(seconds * self.hz)))
        states, actions, walls, late = (
            np.empty((n, self.robot.n_joints)),
            np.empty((n, self.robot.n_joints)),
            [],
            0,
        )
        recorder = _FrameRecorder(cameras or {}, n, 2 * period)
        t0 = time.monotonic()
        for k in range(n):
            deadline = t0 + k * period
            sleep_until(deadline)
            started = time.monotonic()
            late += started - deadline > period
            target, now = self._read_both()  # an arm that failed is named before any lateness it caused
            if late > MAX_LATE_FRACTION * n:
                raise TeleopTooSlow(self._too_slow(late, k + 1))
            sent = self.safety.apply(target, now)
            self.follower.command(sent)
            recorder.take(k)  # after the command: a frame costs the tick no latency
            states[k], actions[k] = now, sent
            walls.append(started - t0)
            if stop():
                break
        m = len(walls)
        return TeleopEpisode(states[:m], actions[:m], np.array(walls), int(late), *recorder.result(m))

    def _read_both(self) -> tuple[np.ndarray, np.ndarray]:
        """(the leader's angles, the follower's); TeleopStopped if either no longer does its part."""
        lead, follow = self.leader.read(), self.follower.read()
        if lead.held_by or lead.extra.get("stale"):
            raise TeleopStopped(
                f"leader: its reads failed ({lead.held_by or lead.extra.get('error', 'stale')})"
            )
        if follow.mode is not ArmMode.ENABLED:
            why = follow.held_by or ", ".join(follow.faults) or follow.mode.value
            raise TeleopStopped(f"follower: it no longer follows targets ({why})")
        if follow.extra.get("stale"):  # its state this tick is the last one read: not what it did
            raise TeleopStopped(f"follower: a read failed ({follow.extra.get('error', 'no reply')})")
        return lead.q, follow.q

    def _too_slow(self, late: int, ticks: int) -> str:
        return (
            f"{late} of the first {ticks} ticks started more than one period late at {self.hz:g} Hz: the "
            "recording's timestamps would not be the times; record at a lower --fps (or with fewer programs "
            "running, or check the bus: retries on a bad link make ticks late)"
        )

    def check_rate(self, episode: TeleopEpisode) -> None:
        """Raise TeleopTooSlow if ``episode`` had more ticks with a stale camera frame than
        MAX_LATE_FRACTION (late ticks stop ``run`` itself)."""
        ticks = len(episode.wall_s)
        for name, count in episode.stale_frames.items():
            if count > MAX_LATE_FRACTION * ticks:
                raise TeleopTooSlow(
                    f"camera {name}: in {count} of {ticks} ticks its newest frame was more than two periods old "
                    f"at {self.hz:g} Hz: the camera delivers fewer frames than that; record at a lower --fps"
                )

    def close(self) -> None:
        self.kin.close()


class _FrameRecorder:
    """Each camera's newest frame per tick into arrays allocated once per episode ((n, H, W, 3) uint8),
    and how many ticks' frames were older than ``stale_s``."""

    def __init__(self, cameras: dict[str, Any], n: int, stale_s: float) -> None:
        self.cameras, self.stale_s = cameras, stale_s
        self.frames = {name: np.empty((n, *cam.shape, 3), dtype=np.uint8) for name, cam in cameras.items()}
        self.stale = dict.fromkeys(cameras, 0)

    def take(self, k: int) -> None:
        for name, camera in self.cameras.items():
            frame, age_s = camera.latest()
            self.frames[name][k] = frame
            self.stale[name] += age_s > self.stale_s

    def result(self, m: int) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        return {name: frames[:m] for name, frames in self.frames.items()}, self.stale


def replay_on_arm(episode: dict[str, np.ndarray], arm: Arm, robot: RobotSpec, fps: float) -> dict[str, Any]:
    """Send ``episode['action']`` (L, n) rad to ``arm`` (enabled) at ``fps`` through Safety (its step
    limit scaled to ``fps``), once the arm has slewed at 1 rad/s to the episode's first state and settled
    there; returns the arm's angles (L, n) measured each tick, the largest difference per joint from
    ``episode['observation.state']`` in degrees (``max_error_deg``), Safety's counts and how far from the
    first state the arm stood when it started (``start_off_deg``). Raises ArmError, UnsafeTarget."""
    kin = Kinematics(robot)
    try:
        safety = safety_at(robot, fps, kin)
        actions = np.asarray(episode["action"], dtype=np.float64)
        recorded = np.asarray(episode["observation.state"], dtype=np.float64)
        first = np.clip(recorded[0], robot.lower, robot.upper)  # a measured angle may be a count out
        start_off = slew_to(arm, first, fps, tolerance_rad=SETTLE_TOLERANCE_RAD)
        measured = []
        t0, period = time.monotonic(), 1.0 / fps
        for k, action in enumerate(actions):
            sleep_until(t0 + k * period)
            now = arm.read().q
            measured.append(now)
            arm.command(safety.apply(action, now))
        got = np.array(measured)
        error = np.degrees(np.max(np.abs(got - recorded), axis=0))
        return {"measured": got, "max_error_deg": error.tolist(), "safety": dict(safety.counts),
                "start_off_deg": float(np.degrees(start_off))}  # fmt: skip
    finally:
        kin.close()
