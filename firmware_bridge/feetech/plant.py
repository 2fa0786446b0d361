"""The physical plant behind a virtual servo bus: what the servos' motors move.

A plant takes each servo's goal (encoder counts) and whether its torque is on, advances ``dt_s`` seconds
and returns where the joints are. Counts are the encoder's raw counts *unwrapped* (a joint that turns
past the 0/4095 seam goes to 4100, not 4): the servo wraps them for Present_Position. Load is a signed
fraction of the servo's maximum torque (-1..1).

``KinematicPlant`` ships for tests: each joint moves toward its goal at a maximum speed unless it is
stalled. A PyBullet SO-101 (gravity, contact, real load) implements the same ``Plant`` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

# STS3215 at 12 V: about 45 rpm without load (facts page: 0.22 s per 60 deg) -> counts/s
NO_LOAD_SPEED_COUNTS_S = 45 / 60 * 4096
FREE_LOAD = 0.05  # fraction of max torque a freely moving joint shows (friction) (model)
STALL_LOAD = 1.0  # a stalled joint pushing at its goal shows full torque (model)


@dataclass
class PlantState:
    """Joint states, one entry per servo (in the bus's servo order).

    counts: (n,) unwrapped encoder counts; velocity_counts_s: (n,); load: (n,) fraction of max torque,
    -1..1, signed as the motion it resists; moving: (n,) bool."""

    counts: np.ndarray
    velocity_counts_s: np.ndarray
    load: np.ndarray
    moving: np.ndarray


class Plant(Protocol):
    """What a virtual bus drives. ``n_joints`` servos, indexed in the bus's servo order."""

    n_joints: int

    def state(self) -> PlantState:
        """The current joint states (no time passes)."""
        ...

    def step(self, goal_counts: np.ndarray, torque_enabled: np.ndarray, dt_s: float) -> PlantState:
        """Advance ``dt_s`` s with each servo driving toward ``goal_counts`` (n,) (unwrapped counts) where
        ``torque_enabled`` (n,) bool; a servo without torque is limp. Returns the new state."""
        ...


class KinematicPlant:
    """Joints that move straight toward their goal at ``speed_counts_s`` (no dynamics, no gravity).

    counts: settable (n,) positions, e.g. to move a limp joint by hand in a test. ``stalled``: joints that
    cannot move (an obstacle, a squeezed object): with torque on and the goal more than ``deadband``
    counts away they push at STALL_LOAD, which trips a servo's overload protection."""

    def __init__(
        self,
        n_joints: int = 6,
        start_counts: float | np.ndarray = 2048.0,
        speed_counts_s: float = NO_LOAD_SPEED_COUNTS_S,
        deadband_counts: float = 1.0,
    ) -> None:
        self.n_joints = n_joints
        self.counts = np.broadcast_to(np.asarray(start_counts, dtype=float), (n_joints,)).copy()
        self.speed_counts_s, self.deadband = speed_counts_s, deadband_counts
        self.stalled: set[int] = set()
        self._last = PlantState(
            self.counts.copy(), np.zeros(n_joints), np.zeros(n_joints), np.zeros(n_joints, bool)
        )

    def state(self) -> PlantState:
        return PlantState(
            self.counts.copy(),
            *(a.copy() for a in (self._last.velocity_counts_s, self._last.load, self._last.moving)),
        )

    def step(self, goal_counts: np.ndarray, torque_enabled: np.ndarray, dt_s: float) -> PlantState:
        goal = np.asarray(goal_counts, dtype=float)
        on = np.asarray(torque_enabled, dtype=bool)
        error = np.where(on, goal - self.counts, 0.0)
        pushing = np.abs(error) > self.deadband
        free = np.array([i not in self.stalled for i in range(self.n_joints)])
        step = np.clip(error, -self.speed_counts_s * dt_s, self.speed_counts_s * dt_s) * free
        self.counts = self.counts + step
        velocity = step / dt_s if dt_s > 0 else np.zeros(self.n_joints)
        load = np.where(pushing, np.sign(error) * np.where(free, FREE_LOAD, STALL_LOAD), 0.0)
        self._last = PlantState(self.counts.copy(), velocity, load, np.abs(step) > 0)
        return self.state()
