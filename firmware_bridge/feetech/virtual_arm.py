"""A whole virtual servo-bus arm: a robot folder's servos (its ``bus`` section: ids, drive directions) on a
``VirtualBus`` over a real pseudo-terminal, with the robot in PyBullet as their plant (``BulletPlant``).

``robokit emulate --robot so101`` serves one until Ctrl-C; tests and benchmarks use it in-process:

    with VirtualArm("so101", return_delay=0) as port:
        arm = FeetechArm(port, "so101")
        ...

Faults on demand (issue 13): ``drop_rate`` / ``corrupt_rate`` of status packets, ``silent`` servo ids,
the supply ``volts``; the plant's joint states are kept (``history``) so a run can be filmed afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from robokit.firmware_bridge.feetech.bullet_plant import BulletPlant
from robokit.firmware_bridge.feetech.virtual_bus import VirtualBus
from robokit.firmware_bridge.plant_view import PlantView
from robokit.robots import RobotSpec, robot_folder

CLEARANCE_M = 0.03  # the scripted person keeps the tip this far above the robot's floor


def human_motion(spec: RobotSpec, seed: int = 0) -> Callable[[float], dict[int, float]]:
    """A person moving a leader arm (torque off), for ``BulletPlant.hand``: every joint on its own slow
    sine (0.1-0.25 Hz, at most ~1.4 rad/s) over at most the middle 40% of its limits, starting at the
    robot's home pose and reaching full amplitude over the first 2 s. The joints that raise and lower the
    tip (more than 5 mm per 0.1 rad at home) have their amplitudes scaled down until the tip stays
    CLEARANCE_M above the floor (``floor_z_m``) over the first 5 minutes, checked by forward kinematics
    every 0.25 s: a person does not drive the gripper into the table. Returns hand(t_s) -> {joint index: q}."""
    from robokit.core.kinematics import Kinematics

    rng = np.random.default_rng(seed)
    lower, upper = np.asarray(spec.lower, float), np.asarray(spec.upper, float)
    home = np.clip(np.asarray(spec.home_q, float), lower, upper)
    freq, phase = rng.uniform(0.1, 0.25, spec.n_joints), rng.uniform(0, 2 * np.pi, spec.n_joints)
    kin = Kinematics(spec)
    try:
        z0 = kin.fk(home)[2]
        lifts = np.array([abs(kin.fk(home + 0.1 * np.eye(spec.n_joints)[j])[2] - z0) > 0.005
                          for j in range(spec.n_joints)])  # fmt: skip
        for scale in (1.0, 0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.0):
            q_at = _sines(
                home, lower, upper, np.where(lifts, scale, 1.0) * 0.2 * (upper - lower), freq, phase
            )
            if min(kin.fk(q_at(t))[2] for t in np.arange(0.0, 300.0, 0.25)) >= spec.floor_z_m + CLEARANCE_M:
                break
    finally:
        kin.close()
    return lambda t_s: dict(enumerate(q_at(t_s).tolist()))


def _sines(home, lower, upper, amp, freq, phase) -> Callable[[float], np.ndarray]:
    """q(t) (n,) rad: each joint on its sine about a centre kept ``amp`` inside its limits."""
    centre = np.clip(home, lower + amp, upper - amp)

    def q_at(t_s: float) -> np.ndarray:
        ramp = min(1.0, t_s / 2.0)
        q = home + ramp * (centre - home + amp * np.sin(2 * np.pi * freq * t_s + phase) - amp * np.sin(phase))
        return np.clip(q, lower, upper)

    return q_at


class VirtualArm:
    """Robot ``robot`` (its folder needs a ``bus`` section; ValueError otherwise) as virtual servos.

    return_delay: every servo's Return_Delay_Time (2 us units; None: the factory 250 = 500 us).
    drop_rate / corrupt_rate: fraction of status packets lost / with a bit flipped (0..1). silent: servo
    ids that do not answer. volts: the supply every servo measures (None: 12.0 V). encoder_at_zero: (n,) raw counts each joint
    reads at q = 0 before calibration (default 2048: an arm already homed; BulletPlant). leader: a
    scripted person moves the arm (``human_motion``), as a leader arm in teleoperation. Raises ValueError for
    a bad setting (nothing started)."""

    def __init__(
        self,
        robot: str,
        *,
        return_delay: int | None = None,
        drop_rate: float = 0.0,
        corrupt_rate: float = 0.0,
        silent: Iterable[int] = (),
        volts: float | None = None,
        seed: int = 0,
        encoder_at_zero: Iterable[float] | None = None,
        leader: bool = False,
    ) -> None:
        folder = robot_folder(robot)
        if folder.bus is None:
            raise ValueError(f"robot {robot} has no `bus` section: it is not a servo-bus arm")
        self.spec, self.settings = folder.spec, folder.bus
        self.silent = [int(i) for i in silent]
        unknown = [i for i in self.silent if i not in self.settings.ids]
        if unknown:
            raise ValueError(f"no servo with id {unknown[0]} on {robot} (ids {list(self.settings.ids)})")
        for name, rate in (("drop rate", drop_rate), ("corrupt rate", corrupt_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {rate}")
        if return_delay is not None and not 0 <= return_delay <= 254:
            raise ValueError(f"return delay must be 0..254 (2 us units), got {return_delay}")
        if volts is not None and not 0.0 <= volts <= 25.5:
            raise ValueError(f"volts must be 0..25.5, got {volts}")
        self.return_delay, self.drop_rate, self.corrupt_rate = return_delay, drop_rate, corrupt_rate
        self.volts, self.seed, self.leader = volts, seed, leader
        self.encoder_at_zero = None if encoder_at_zero is None else np.asarray(list(encoder_at_zero), float)
        if self.encoder_at_zero is not None and (
            self.encoder_at_zero.shape != (self.spec.n_joints,)
            or not np.all((self.encoder_at_zero >= 0) & (self.encoder_at_zero < 4096))
        ):
            raise ValueError(f"encoder_at_zero wants {self.spec.n_joints} counts in 0..4095")
        self.plant: BulletPlant | None = None
        self.bus: VirtualBus | None = None
        self.view: PlantView | None = None
        self.folder = folder

    def start(self) -> str:
        """Build the plant, start serving; returns the pty path a client opens."""
        self.plant = BulletPlant(
            self.spec, np.asarray(self.settings.signs), encoder_at_zero=self.encoder_at_zero
        )
        self.bus = VirtualBus(self.settings.ids, self.plant, baud=self.settings.baud, return_delay=self.return_delay,
                              seed=self.seed)  # fmt: skip
        self.bus.drop_rate, self.bus.corrupt_rate = self.drop_rate, self.corrupt_rate
        for servo_id in self.silent:
            self.bus.servo(servo_id).silent = True
        if self.volts is not None:
            for servo_id in self.settings.ids:
                self.bus.servo(servo_id).set_voltage(self.volts)
        if self.leader:  # a leader arm: a scripted person moves it (teleoperation in emulation)
            self.plant.hand = human_motion(self.spec, self.seed)
        return self.bus.start()

    def start_camera(self, width: int = 320, height: int = 240, fps: float = 30.0) -> str:
        """Serve a camera on the plant (``PlantView``: its rendered view as MJPEG over HTTP); returns the
        stream's URL. ValueError for a size or rate it does not take."""
        assert self.plant is not None and self.bus is not None, "start() first"
        self.view = PlantView(self.folder, self._plant_q, width, height, fps)
        return self.view.start()

    def _plant_q(self) -> np.ndarray:
        assert self.plant is not None and self.bus is not None
        with self.bus.lock:
            return self.plant.q()

    def stop(self) -> None:
        if self.view is not None:
            self.view.stop()
        if self.bus is not None:
            self.bus.stop()
        if self.plant is not None:
            self.plant.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def tip_m(self) -> np.ndarray:
        """The plant's end-effector position (3,) m, base frame."""
        assert self.plant is not None and self.bus is not None, "start() first"
        with self.bus.lock:
            return self.plant.tip_m()

    def q_at(self, t_monotonic: float) -> np.ndarray:
        """The plant's joint angles (n,) rad recorded nearest to ``time.monotonic()`` = ``t_monotonic``."""
        assert self.plant is not None and self.bus is not None, "start() first"
        with self.bus.lock:
            rows = list(self.plant.history)
        if not rows:
            return self.plant.q()
        k = int(np.argmin([abs(wall - t_monotonic) for _, wall, _ in rows]))
        return np.asarray(rows[k][2])

    def write_history(self, path: Path) -> int:
        """Write the plant's recorded joint states as JSON ({robot, joint_names, t_s, q}); returns rows."""
        assert self.plant is not None
        rows = list(self.plant.history)
        data = {
            "robot": self.spec.name,
            "joint_names": list(self.spec.joint_names),
            "t_s": [t for t, _, _ in rows],
            "q": [q for _, _, q in rows],
        }
        Path(path).write_text(json.dumps(data) + "\n")
        return len(rows)
