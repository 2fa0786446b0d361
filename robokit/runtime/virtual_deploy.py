"""Deploy a policy file on a virtual servo-bus arm (``VirtualArm``: virtual Feetech servos on a real pty
with the robot in PyBullet behind them) through the same ``run_deploy`` as ``robokit deploy --port``, and
measure each goal's reach error twice: from the servos' reported positions (the deploy summary's
``reach_error_m``) and from the plant's own tip (``plant_reach_error_m``), which no servo reading touches.

Used by ``robokit demo --robot so101``, the SO-101 deploy test and benchmarks/so101_bus.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robokit.core.run_files import SUMMARY_FILE
from robokit.runtime.session import DeployOutcome, DeployRequest, run_deploy


def deploy_on_virtual_bus(
    policy: Path,
    robot: str,
    goals: Sequence[np.ndarray],
    seconds_per_goal: float,
    log_dir: Path,
    *,
    return_delay: int | None = 0,
    hz: float | None = None,
    status: Callable[[str], None] | None = None,
) -> DeployOutcome:
    """Run the deploy; returns its outcome with ``plant_reach_error_m`` added to each goal of the summary.
    goals: (3,) m each, base frame. return_delay: the servos' Return_Delay_Time (2 us units; None: the
    factory 500 us). Raises RuntimeError when the deploy stops early (its reason) or writes no summary;
    DeployRefused for a refused input (nothing moved)."""
    from robokit.core.kinematics import Kinematics
    from robokit.firmware_bridge.feetech.virtual_arm import VirtualArm

    virtual = VirtualArm(robot, return_delay=return_delay)
    with virtual as port:
        request = DeployRequest(
            policy=Path(policy), goals=[",".join(f"{v:.5f}" for v in g) for g in goals],
            duration_s=seconds_per_goal * len(goals), port=port, robot=robot, log_dir=Path(log_dir), hz=hz,
        )  # fmt: skip
        outcome = run_deploy(request, status=status)
        if outcome.summary is None or outcome.aborted:
            raise RuntimeError(f"the deploy stopped: {outcome.aborted or 'no summary'}")
        kin = Kinematics(virtual.spec)
        try:
            for goal in outcome.summary.goals:
                tip = kin.fk(virtual.q_at(goal["t_s"]))
                goal["plant_reach_error_m"] = float(np.linalg.norm(tip - np.asarray(goal["goal_m"])))
        finally:
            kin.close()
    summary_file = Path(outcome.log_dir or log_dir) / SUMMARY_FILE
    summary_file.write_text(json.dumps(outcome.summary.to_dict(), indent=2))  # with the plant's errors
    return outcome


def reach_errors(outcome: DeployOutcome) -> dict[str, Any]:
    """The largest reach error over the goals (m), from the servos and from the plant's tip."""
    goals = outcome.summary.goals if outcome.summary is not None else []
    return {
        "goals": len(goals),
        "max_reach_error_m": max((g["reach_error_m"] for g in goals), default=None),
        "max_plant_reach_error_m": max((g.get("plant_reach_error_m", np.nan) for g in goals), default=None),
    }
