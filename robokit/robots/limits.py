"""The physical ranges a robot folder's spec must keep to, and its joints checked against the model file."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robokit.robots.folder import _Checker

TWO_PI = 2 * math.pi
# spec field -> (low, high, low_open): the physical range robot.yaml must keep to (per joint for lists).
# Angles rad (m for a prismatic joint), speeds rad/s, forces N*m, rates Hz, times s, lengths m.
SPEC_RANGES: dict[str, tuple[float, float, bool]] = {
    "lower": (-TWO_PI, TWO_PI, False),
    "upper": (-TWO_PI, TWO_PI, False),
    "max_speed": (0.0, 50.0, True),
    "joint_force": (0.0, 10_000.0, True),
    "control_hz": (1.0, 1000.0, False),  # as policy files
    "sim_timestep_s": (1e-5, 0.1, False),
    "sim_substeps": (1, 1000, False),
    "max_target_step": (0.0, TWO_PI, True),
    "ee_delta_scale_m": (0.0, 1.0, True),
    "joint_delta_scale": (0.0, math.pi, True),
}
MAX_REACH_M = 5.0  # workspace: reach, shoulder and goal box corners within this of the base
URDF_SLACK = 1e-6  # rad: a spec limit may pass the model's by this much (the URDF rounds pi/2 to 6 places)


def in_ranges(check: _Checker, kw: dict[str, Any]) -> None:
    """Every numeric spec field inside SPEC_RANGES, the floor within the workspace's reach, the gripper's
    open and closed positions within its joints' limits, and the joints against the model file."""
    for key, (low, high, low_open) in SPEC_RANGES.items():
        values = kw[key] if isinstance(kw[key], tuple) else (kw[key],)
        for i, v in enumerate(values):
            where = f"spec.{key}[{i}]" if isinstance(kw[key], tuple) else f"spec.{key}"
            check.ranged(v, where, low, high, low_open)
    ws = kw["workspace"]
    z, r = ws.shoulder_m[2], ws.reach_m
    check.ranged(kw["floor_z_m"], "spec.floor_z_m", z - r, z + r)
    if kw["gripper"] is not None:
        g = kw["gripper"]
        for i, name in enumerate(g.joint_names):
            j = kw["joint_names"].index(name)
            for key in ("open_q", "closed_q"):
                check.ranged(getattr(g, key)[i], f"spec.gripper.{key}[{i}]", kw["lower"][j], kw["upper"][j])
    _against_model(check, kw)


def _against_model(check: _Checker, kw: dict[str, Any]) -> None:
    """Joint names unique, each a movable joint of the model with the spec's range inside the model's;
    ee_link one of the model's links."""
    from robokit.robots.urdf import MOVABLE, read_urdf

    names = kw["joint_names"]
    if len(set(names)) != len(names):
        raise check.fail("spec.joint_names", f"a name is listed twice: {list(names)}")
    try:
        joints, links = read_urdf(kw["urdf"])
    except (ValueError, OSError) as exc:
        raise check.fail("spec.urdf", str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    for i, name in enumerate(names):
        joint = joints.get(name)
        if joint is None or joint.type not in MOVABLE:
            movable = sorted(n for n, j in joints.items() if j.type in MOVABLE)
            raise check.fail(
                f"spec.joint_names[{i}]", f"{name!r} is not a movable joint of the model: {movable}"
            )
        lo, hi = kw["lower"][i], kw["upper"][i]
        if lo < joint.lower - URDF_SLACK or hi > joint.upper + URDF_SLACK:
            raise check.fail(
                f"spec.lower/upper[{i}]",
                f"[{lo:g}, {hi:g}] for {name!r} is not inside the model's [{joint.lower:g}, {joint.upper:g}]",
            )
    if kw["ee_link"] not in links:
        raise check.fail("spec.ee_link", f"{kw['ee_link']!r} is not a link of the model")
