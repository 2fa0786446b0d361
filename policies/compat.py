"""The one compatibility check: does a policy spec fit a target (an env, or a robot a deploy drives)?

``check_compatible(spec, env, **expected)`` compares robot, control mode, control rate, action size,
gripper actuation, observation keys and shapes, and (optionally) the safety settings; ``robokit eval``
calls it with the env it builds, ``robokit info`` and deploy through ``check_fits_robot(spec, robot)``,
which derives the target from the robot and the spec's control mode. Specs may be ``PolicySpec`` or
plain (even unvalidated) dicts: the check reads them defensively. Nothing here imports torch or PyBullet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from robokit.policies.policy_spec import CONTROL_MODES, PolicyFileError, PolicySpec
from robokit.policies.spec_fields import jsonable

if TYPE_CHECKING:
    from robokit.robots import RobotSpec

__all__ = ["PolicyMismatchError", "check_compatible", "check_fits_robot", "env_description", "robot_target"]

GOAL_DIM = 3  # achieved/desired goal size of the Reach task a robot target describes


class PolicyMismatchError(PolicyFileError):
    """A valid policy file whose spec does not match the env/robot it is asked to drive. The message has
    one line per mismatch (other control characters are escaped)."""

    _keep = "\n"


def _as_dict(spec: PolicySpec | Mapping[str, Any]) -> Mapping[str, Any]:
    return spec.to_json() if isinstance(spec, PolicySpec) else spec


def spec_summary(spec: PolicySpec | Mapping[str, Any]) -> str:
    """One line naming the policy: env, robot, mode, algo, hidden layers."""
    spec = _as_dict(spec)
    net = spec.get("network")
    return (
        f"{spec.get('env_id')} robot={spec.get('robot')} mode={spec.get('control_mode')} "
        f"algo={spec.get('algo')} hidden={net.get('hidden') if isinstance(net, dict) else None}"
    )


def env_description(env: Any) -> dict[str, Any]:
    """What a policy must agree with, read from a robokit env (wrapped or not)."""
    u = env.unwrapped
    return {
        "robot": u.robot.name,
        "control_mode": u.controller.mode,
        "control_hz": float(u.robot.control_hz),
        "action_dim": int(u.controller.action_dim),
        "gripper_actuated": bool(u.controller.gripper_actuated),
        "obs_shapes": {k: list(s.shape) for k, s in u.observation_space.spaces.items()},
        "safety": jsonable(u.safety_settings.to_dict()),
    }


def _problems(spec: Mapping[str, Any], want: Mapping[str, Any], check_safety: bool) -> list[str]:
    problems = []
    for key in ("robot", "control_mode", "action_dim"):
        if key in want and spec.get(key) != want[key]:
            problems.append(f"{key}: policy has {spec.get(key)!r}, target has {want[key]!r}")
    if "gripper_actuated" in want and bool(spec.get("gripper_actuated", False)) != want["gripper_actuated"]:
        have = bool(spec.get("gripper_actuated", False))
        problems.append(f"gripper_actuated: policy has {have}, target has {want['gripper_actuated']}")
    if "control_hz" in want and abs(float(spec.get("control_hz", 0)) - float(want["control_hz"])) > 1e-9:
        problems.append(f"control_hz: policy has {spec.get('control_hz')}, target has {want['control_hz']}")
    keys = spec.get("obs_keys", [])
    for key, shape in want.get("obs_shapes", {}).items():
        have = (spec.get("obs_spaces") or {}).get(key, {}).get("shape")
        if key in keys and (have is None or list(have) != list(shape)):
            problems.append(f"observation {key!r}: policy expects shape {have}, target gives {list(shape)}")
    for key in keys:
        if "obs_shapes" in want and key not in want["obs_shapes"]:
            problems.append(f"observation {key!r}: the policy needs it, the target does not provide it")
    if check_safety and "safety" in want and spec.get("safety") and spec["safety"] != want["safety"]:
        problems.append(f"safety settings differ: policy {spec['safety']}, target {want['safety']}")
    return problems


def check_compatible(
    spec: PolicySpec | Mapping[str, Any], env: Any = None, *, check_safety: bool = True, **expected: Any
) -> None:
    """Raise PolicyMismatchError (one line per mismatch) unless ``spec`` fits ``env`` and the
    ``expected`` fields (which override the env's): robot, control_mode, control_hz, action_dim,
    gripper_actuated, obs_shapes {key: shape}, safety (compared only with ``check_safety``)."""
    want = {**(env_description(env) if env is not None else {}), **expected}
    spec = _as_dict(spec)
    problems = _problems(spec, want, check_safety)
    if problems:
        raise PolicyMismatchError(
            f"policy ({spec_summary(spec)}) does not fit this target: " + "; ".join(problems)
        )


def robot_target(
    robot: RobotSpec,
    control_mode: str,
    gripper_actuated: bool = False,
    task_dim: int = 0,
    goal_shape: Sequence[int] = (GOAL_DIM,),
) -> dict[str, Any]:
    """The ``expected`` fields of a deploy of ``robot`` in ``control_mode``: ``task_dim`` task entries in
    the observation, goals of ``goal_shape`` (Reach: no task entries, goals of GOAL_DIM)."""
    from robokit.core.control import action_dim_for
    from robokit.core.observer import observation_dim

    action_dim = action_dim_for(robot, control_mode, gripper_actuated)
    return {
        "robot": robot.name,
        "action_dim": action_dim,
        "obs_shapes": {
            "observation": [observation_dim(robot.n_joints, action_dim, task_dim)],
            "achieved_goal": list(goal_shape),
            "desired_goal": list(goal_shape),
        },
    }


def check_fits_robot(
    spec: PolicySpec | Mapping[str, Any],
    robot: RobotSpec,
    task_dim: int = 0,
    goal_shape: Sequence[int] | None = None,
) -> None:
    """Refuse (PolicyMismatchError), before an arm is touched, a policy trained for another robot, a
    control mode this robokit does not know, or actions/observations of other sizes than a deploy of
    ``robot`` would use (with ``task_dim`` task entries; goals of ``goal_shape``, default the spec's own
    ``desired_goal`` shape, else GOAL_DIM). The policy's own safety block is not compared (deploy applies it).
    The one check behind ``robokit info``'s "deployable" row and ``robokit deploy``."""
    spec = _as_dict(spec)
    for key in ("robot", "control_mode", "control_hz", "action_dim"):
        if key not in spec:
            raise PolicyMismatchError(f"policy spec has no {key!r}; was it written by `robokit train`?")
    if spec["robot"] != robot.name:
        raise PolicyMismatchError(
            f"policy was trained for robot {spec['robot']!r}, but this arm is {robot.name!r}; refusing to deploy"
        )
    if spec["control_mode"] not in CONTROL_MODES:
        raise PolicyMismatchError(
            f"policy uses control mode {spec['control_mode']!r}; deploy knows {', '.join(CONTROL_MODES)}"
        )
    gripper = spec.get("gripper_actuated", False)
    if not isinstance(gripper, bool) and gripper not in (0, 1):  # 0/1: version-1 files wrote those
        raise PolicyMismatchError(f"policy spec's gripper_actuated is {gripper!r}, not true or false")
    gripper = bool(gripper)
    if gripper and robot.gripper is None:
        raise PolicyMismatchError(f"policy actuates a gripper; robot {robot.name!r} has none")
    if goal_shape is None:
        spaces = spec.get("obs_spaces")
        goal = spaces.get("desired_goal") if isinstance(spaces, Mapping) else None
        shape = goal.get("shape") if isinstance(goal, Mapping) else None
        goal_shape = tuple(shape) if isinstance(shape, (list, tuple)) and shape else (GOAL_DIM,)
    target = robot_target(robot, spec["control_mode"], gripper, task_dim, goal_shape)
    check_compatible(spec, check_safety=False, **target)
