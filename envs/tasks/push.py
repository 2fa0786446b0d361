"""Push: push a cube along the table to a goal on the table, gripper blocked closed (panda-gym's Push).

Defaults (panda-gym v3 ``Push``): a 4 cm cube of 1 kg; cube and goal each uniform over a 0.3 m x 0.3 m
square centred 0.6 m ahead of the Panda's base; success within 5 cm; 50 steps.
"""

from __future__ import annotations

from robokit.envs.tasks.objects import ObjectTask


class Push(ObjectTask):
    """One cube (``object``) pushed to a goal (3,) on the table. Robot settings (robot.yaml
    ``tasks.push``): ``distance_threshold_m``, ``object_size_m``, ``object_mass_kg``, ``object_xy_m`` and
    ``goal_xy_m`` (xy ranges [[x, y] low, [x, y] high], m, base frame), and the cube's contact:
    ``lateral_friction`` (None: PyBullet's 0.5) and ``friction_anchor`` (true: a gripper can hold it)."""

    gripper_actuated = False
