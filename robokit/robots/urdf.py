"""A model file's joints and links, read as untrusted XML: size-limited, no DTD or entities."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

MAX_URDF_BYTES = 10_000_000
MOVABLE = ("revolute", "prismatic", "continuous")


@dataclass(frozen=True)
class UrdfJoint:
    """One ``<joint>``: its type and ``<limit lower upper>`` (rad or m; -inf/inf when it has none)."""

    name: str
    type: str
    lower: float
    upper: float


def read_urdf(path: str | Path) -> tuple[dict[str, UrdfJoint], frozenset[str]]:
    """The joints (by name) and link names of the URDF at ``path``; ValueError (one line) if it is too
    large, not XML, has a DTD, or is not a ``<robot>``."""
    data = Path(path).read_bytes()[: MAX_URDF_BYTES + 1]
    if len(data) > MAX_URDF_BYTES:
        raise ValueError(f"model file larger than {MAX_URDF_BYTES} bytes")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ValueError("model file has a DTD or entities; not read")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"model file is not a URDF (XML: {exc})") from None
    if root.tag != "robot":
        raise ValueError(f"model file is not a URDF (root <{root.tag}>, want <robot>)")
    links = frozenset(str(link.get("name")) for link in root.iter("link"))
    joints = {}
    for joint in root.iter("joint"):
        name, kind, limit = str(joint.get("name")), str(joint.get("type")), joint.find("limit")
        lower, upper = -math.inf, math.inf
        if kind in ("revolute", "prismatic") and limit is not None:
            try:
                lower, upper = float(limit.get("lower", "0")), float(limit.get("upper", "0"))
            except ValueError:
                raise ValueError(f"model file: joint {name!r} has a limit that is not a number") from None
        joints[name] = UrdfJoint(name, kind, lower, upper)
    return joints, links
