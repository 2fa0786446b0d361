"""What a policy file must agree with before a deploy touches the arm, and the settings it gives the run.

Every setting of a run comes from the policy spec (read through ``robokit.policies.policy_spec``): control
mode and rate, whether the gripper is actuated, the success threshold (``distance_threshold_m``; a spec
without one leaves the robot's task setting), the safety block (which can only narrow the robot's own
envelope), and the observation layout, whose task entries must match the task's ``obs_dim``
(``robokit.runtime.task_state``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from robokit.core.control import action_dim_for
from robokit.core.safety import SafetySettings, tightened
from robokit.policies.compat import PolicyMismatchError, check_fits_robot
from robokit.policies.policy_spec import PolicyFileError, PolicySpec, validate_spec
from robokit.robots import GoalOutsideWorkspace, RobotSpec

MIN_CONTROL_HZ, MAX_CONTROL_HZ = 1.0, 1000.0  # above 1 kHz a tick cannot even read the arm (wire ~0.7 ms)

# The policy file was made for another robot, control mode or observation layout: one exception type
# for it across robokit (a ValueError).
PolicyMismatch = PolicyMismatchError


@dataclass(frozen=True)
class DeploySettings:
    """A run's settings, all from the policy spec. distance_threshold_m: success distance (m; None: the
    spec records none); task_dim: observation entries the task appends; goal_dim: size of desired/achieved
    goal."""

    control_mode: str
    control_hz: float
    action_dim: int
    gripper_actuated: bool
    distance_threshold_m: float | None
    task_dim: int
    goal_dim: int


def check_policy_for_robot(
    spec: dict[str, Any],
    robot: RobotSpec,
    task_dim: int = 0,
    goal_dim: int = 3,
    typed: PolicySpec | None = None,
) -> DeploySettings:
    """Refuse (PolicyMismatch), before the arm is touched, a policy trained for another robot, a control
    mode this robokit does not know, actions, observations or goals of other sizes than the deploy's task
    gives (``task_dim`` observation entries, goals of ``goal_dim`` numbers), or an invalid spec. ``typed``:
    the spec already validated (a loaded Policy's ``typed_spec``), so it is not validated again. Returns
    the run's settings."""
    invalid: PolicyFileError | None = None
    if typed is None:
        try:
            typed = validate_spec(spec, require_digest=False)
        except PolicyFileError as exc:  # the layout check below names the field more precisely
            invalid = exc
    check_fits_robot(spec, robot, task_dim, (goal_dim,))  # the one check (robokit.policies.compat)
    if typed is None:
        raise PolicyMismatch(f"{invalid}; refusing to deploy")
    threshold = typed.distance_threshold_m
    return DeploySettings(
        control_mode=typed.control_mode,
        control_hz=typed.control_hz,
        action_dim=action_dim_for(robot, typed.control_mode, typed.gripper_actuated),
        gripper_actuated=typed.gripper_actuated,
        distance_threshold_m=None if threshold is None else float(threshold),
        task_dim=task_dim,
        goal_dim=goal_dim,
    )


def check_rate_hz(hz: Any) -> float:
    """A control rate in Hz: a finite number in [MIN_CONTROL_HZ, MAX_CONTROL_HZ] (the policy file's own
    range); PolicyMismatch otherwise."""
    try:
        value = float(hz)
    except (TypeError, ValueError):
        raise PolicyMismatch(f"control rate {hz!r} is not a number") from None
    if not (MIN_CONTROL_HZ <= value <= MAX_CONTROL_HZ):
        raise PolicyMismatch(
            f"control rate {value:g} Hz is outside [{MIN_CONTROL_HZ:g}, {MAX_CONTROL_HZ:g}] Hz; refusing to deploy"
        )
    return value


def safety_for(spec: dict[str, Any], robot: RobotSpec) -> tuple[SafetySettings, list[str]]:
    """The envelope a deploy enforces: the robot's own, narrowed (never widened) by the policy file's
    recorded ``safety`` block. Returns (settings, notes); PolicyMismatch if the block is malformed."""
    try:
        return tightened(SafetySettings.from_spec(robot), spec.get("safety"))
    except ValueError as exc:
        raise PolicyMismatch(f"policy file's safety block: {exc}; refusing to deploy") from None


def check_goals(goals: Sequence[np.ndarray], robot: RobotSpec, floor_z_m: float | None = None) -> list[str]:
    """Refuse (GoalOutsideWorkspace, a ValueError) any end-effector goal the robot cannot reach, or below
    ``floor_z_m`` (the envelope actually enforced, which a policy file may have raised); return warnings
    for reachable goals outside the region training sampled from."""
    warnings: list[str] = []
    for goal in goals:
        if not np.all(np.isfinite(goal)):
            raise ValueError(f"goal {np.asarray(goal).tolist()} is not finite")
        warnings += robot.check_goal(goal)
        z = float(np.asarray(goal)[2])
        if floor_z_m is not None and z < floor_z_m:
            raise GoalOutsideWorkspace(
                f"goal z = {z:.3f} m is below the floor this run enforces ({floor_z_m:.3f} m, raised by the "
                "policy file's safety settings)"
            )
    return warnings


_COUNT = {1: "one number", 2: "two numbers", 3: "three numbers x,y,z", 4: "four numbers"}


def parse_goal(text: str, dim: int = 3) -> np.ndarray:
    """'x,y,z' in m (base frame; ``dim`` numbers for other goal sizes) -> (dim,) array; ValueError
    with a clear message otherwise."""
    what = _COUNT.get(dim, f"{dim} numbers")
    try:
        goal = np.array([float(v) for v in text.split(",")], dtype=np.float64)
    except ValueError:
        raise ValueError(f"goal must be {what} in metres, got {text!r}") from None
    if goal.shape != (dim,) or not np.all(np.isfinite(goal)):
        finite = what.replace("number", "finite number", 1) if dim != 1 else "one finite number"
        raise ValueError(f"goal must be {finite} in metres, got {text!r}")
    return goal
