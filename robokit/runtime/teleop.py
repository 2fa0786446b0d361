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

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robokit.core.arm import Arm
from robokit.core.kinematics import Kinematics
from robokit.core.safety import Safety, SafetySettings
from robokit.robots import RobotSpec
from robokit.runtime.ticks import sleep_until

MAX_LATE_FRACTION = 0.05  # more late ticks than this in an episode: it is not kept, recording stops
HZ_RANGE = (1.0, 200.0)

__all__ = ["MAX_LATE_FRACTION", "Teleop", "TeleopEpisode", "TeleopTooSlow", "replay_on_arm"]


class TeleopTooSlow(RuntimeError):
    """The loop could not hold the recording rate (late ticks beyond MAX_LATE_FRACTION of an episode)."""


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
    ``robot`` at ``hz`` (1..200; ValueError otherwise). ``safety``: the counts of what Safety changed."""

    def __init__(self, leader: Arm, follower: Arm, robot: RobotSpec, hz: float) -> None:
        if not HZ_RANGE[0] <= hz <= HZ_RANGE[1]:
            raise ValueError(f"rate {hz} Hz is outside {HZ_RANGE[0]:g}..{HZ_RANGE[1]:g}")
        self.leader, self.follower, self.robot, self.hz = leader, follower, robot, float(hz)
        self.kin = Kinematics(robot)
        self.safety = Safety(SafetySettings.from_spec(robot), self.kin)

    def run(
        self, seconds: float, stop: Callable[[], bool] = lambda: False, cameras: dict[str, Any] | None = None
    ) -> TeleopEpisode:
        """Follow the leader for ``seconds`` (or until ``stop()``); returns the episode's ticks, with each
        camera's newest frame per tick (``cameras``: name -> robokit.runtime.camera.Camera). Raises ArmError
        from either arm, UnsafeTarget for a non-finite leader reading, CameraError for a camera that stops."""
        period, n = 1.0 / self.hz, max(1, int(round(seconds * self.hz)))
        states, actions, walls, late = [], [], [], 0
        cameras = cameras or {}
        images: dict[str, list[np.ndarray]] = {name: [] for name in cameras}
        stale = dict.fromkeys(cameras, 0)
        t0 = time.monotonic()
        for k in range(n):
            deadline = t0 + k * period
            sleep_until(deadline)
            started = time.monotonic()
            late += started - deadline > period
            target = self.leader.read().q
            now = self.follower.read().q
            sent = self.safety.apply(target, now)
            self.follower.command(sent)
            for name, camera in cameras.items():  # after the command: a frame costs the tick no latency
                frame, age_s = camera.latest()
                images[name].append(frame)
                stale[name] += age_s > 2 * period
            states.append(now)
            actions.append(sent)
            walls.append(started - t0)
            if stop():
                break
        pictures = {name: np.stack(frames) for name, frames in images.items()}
        return TeleopEpisode(np.array(states), np.array(actions), np.array(walls), int(late), pictures, stale)

    def check_rate(self, episode: TeleopEpisode) -> None:
        """Raise TeleopTooSlow if ``episode`` had more late ticks, or ticks with a stale camera frame, than
        MAX_LATE_FRACTION."""
        ticks = len(episode.wall_s)
        if episode.late_ticks > MAX_LATE_FRACTION * ticks:
            raise TeleopTooSlow(
                f"{episode.late_ticks} of {ticks} ticks started more than one period late at "
                f"{self.hz:g} Hz: the recording's timestamps would not be the times; record at a lower --fps "
                "(or with fewer programs running)"
            )
        for name, count in episode.stale_frames.items():
            if count > MAX_LATE_FRACTION * ticks:
                raise TeleopTooSlow(
                    f"camera {name}: in {count} of {ticks} ticks its newest frame was more than two periods old "
                    f"at {self.hz:g} Hz: the camera delivers fewer frames than that; record at a lower --fps"
                )

    def close(self) -> None:
        self.kin.close()


def replay_on_arm(episode: dict[str, np.ndarray], arm: Arm, robot: RobotSpec, fps: float) -> dict[str, Any]:
    """Send ``episode['action']`` (L, n) rad to ``arm`` at ``fps`` through Safety, once the arm has settled
    at the episode's first state (it must be following targets, near it: ``bring_up(pose=...)``); returns
    the arm's angles (L, n) measured each tick and the largest difference per joint from
    ``episode['observation.state']`` in degrees (``max_error_deg``)."""
    kin = Kinematics(robot)
    try:
        safety = Safety(SafetySettings.from_spec(robot), kin)
        actions = np.asarray(episode["action"], dtype=np.float64)
        recorded = np.asarray(episode["observation.state"], dtype=np.float64)
        _settle(
            arm, np.clip(recorded[0], robot.lower, robot.upper), fps
        )  # a measured angle may be a count out
        measured = []
        t0, period = time.monotonic(), 1.0 / fps
        for k, action in enumerate(actions):
            sleep_until(t0 + k * period)
            now = arm.read().q
            measured.append(now)
            arm.command(safety.apply(action, now))
        got = np.array(measured)
        error = np.degrees(np.max(np.abs(got - recorded), axis=0))
        return {"measured": got, "max_error_deg": error.tolist(), "safety": dict(safety.counts)}
    finally:
        kin.close()


def _settle(
    arm: Arm, pose: np.ndarray, fps: float, tolerance_rad: float = 0.003, timeout_s: float = 2.0
) -> None:
    """Hold ``pose`` as the target until the arm stands within ``tolerance_rad`` of it on every joint for
    three ticks (a slew ends with the joints still catching up), or ``timeout_s``."""
    period, still, end = 1.0 / fps, 0, time.monotonic() + timeout_s
    while still < 3 and time.monotonic() < end:
        q = arm.read().q
        still = still + 1 if np.max(np.abs(q - pose)) <= tolerance_rad else 0
        arm.command(pose)
        time.sleep(period)
