"""``robokit replay DIR --episode K --port P``: a teleoperation recording replayed on an arm (its actions
through Safety at the dataset's rate); prints how far the arm's angles were from the recorded ones."""

from __future__ import annotations

import argparse
import contextlib
import sys

import numpy as np

from robokit.cli.parser import EXIT_USAGE

PROG = "robokit replay"
TOLERANCE_DEG = 1.0


def replay_on_port(args: argparse.Namespace) -> int:
    """Exit 0 when every joint stayed within TOLERANCE_DEG of the recording, 1 when not or the arm
    failed, 2 for a dataset that is not a teleoperation recording (or a bad file)."""
    from robokit.policies.datasets import DatasetError, read_dataset

    try:
        reader = read_dataset(args.dataset)
        robot, problem = _recorded_robot(reader, args.episode)
        if problem:
            raise DatasetError(problem)
        episode = reader.episode(args.episode)
        for key in ("observation.state", "action"):  # checked before anything moves
            if not np.all(np.isfinite(np.asarray(episode[key], dtype=np.float64))):
                raise DatasetError(
                    f"{reader.root}: episode {args.episode}'s {key} has values that are not finite"
                )
    except DatasetError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from robokit.core.arm import ArmError
    from robokit.core.safety import UnsafeTarget
    from robokit.firmware_bridge.feetech.arm import ArmMismatch, FeetechArm
    from robokit.firmware_bridge.feetech.calibration import CalibrationError, read_calibration
    from robokit.robots import get_robot
    from robokit.runtime.bringup import bring_up
    from robokit.runtime.session import stop_on_signals
    from robokit.runtime.teleop import replay_on_arm

    try:
        cal = None if args.calibration is None else read_calibration(args.calibration, robot)
    except CalibrationError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    spec = get_robot(robot)
    try:
        with FeetechArm(args.port, spec, calibration=cal) as arm, stop_on_signals():
            first = np.asarray(episode["observation.state"][0], dtype=float)  # measured: may be a count out
            bring_up(arm, pose=np.clip(first, spec.lower, spec.upper), say=print)
            try:
                result = replay_on_arm(episode, arm, spec, reader.info["fps"])
            finally:
                with contextlib.suppress(ArmError):
                    arm.hold()  # goals where the joints stand, not the recording's last target
    except ArmMismatch as exc:  # read before anything moved (a calibration file of another arm): a refusal
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ArmError, UnsafeTarget) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    if result["start_off_deg"] > 1.0:
        print(f"{PROG}: warning: the arm stood {result['start_off_deg']:.2f} deg from the episode's first pose "
              "when the replay began (it did not settle within 2 s)", file=sys.stderr)  # fmt: skip
    worst = " ".join(f"{n} {e:.2f}" for n, e in zip(spec.joint_names, result["max_error_deg"]))
    print(
        f"episode {args.episode}: {len(result['measured'])} ticks; largest difference per joint (deg): {worst}"
    )
    if max(result["max_error_deg"]) > TOLERANCE_DEG:
        print(f"{PROG}: the arm was more than {TOLERANCE_DEG:g} deg from the recording", file=sys.stderr)
        return 1
    return 0


def _recorded_robot(reader, episode: int) -> tuple[str, str | None]:
    """(robot, why the dataset cannot be replayed on an arm or None)."""
    from robokit.robots import list_robots, robot_folder

    extra = reader.info.get("robokit") or {}
    robot = extra.get("robot") if isinstance(extra, dict) else None
    if not isinstance(extra, dict) or extra.get("source") != "teleop":
        return (
            "",
            f"{reader.root} is not a teleoperation recording (robokit teleop --record): replay it in sim",
        )
    if robot not in list_robots() or robot_folder(robot).bus is None:
        return "", f"{reader.root} was recorded on robot {robot!r}, not a servo-bus arm robokit knows"
    if not 0 <= episode < len(reader.episodes):
        return "", f"episode {episode} is not in {reader.root} (it has {len(reader.episodes)})"
    n = robot_folder(robot).spec.n_joints
    for key in ("observation.state", "action"):
        shape = (reader.info.get("features") or {}).get(key, {}).get("shape")
        if shape != [n]:
            return "", f"{reader.root}: {key} has shape {shape}, {robot} has {n} joints"
    return robot, None
