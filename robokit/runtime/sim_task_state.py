"""A task-state source for dry runs: the task's objects simulated next to the realtime simulated arm.

``robokit deploy --dry-run`` drives a ``RealtimeSimArm``. An object task reads its bodies (the cube, the
puck) through task-state sources, as on a real arm; here the source builds the task's scene (the robot's
table, the task's objects) in the simulated arm's own PyBullet client, so the arm pushes and grasps them
as in training, and ``read()`` gives their states as a camera tracking them would. On a real arm a real
source (a camera) takes its place; the deploy loop cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from robokit.runtime.task_state import BodyState

if TYPE_CHECKING:
    from robokit.envs.sim_arm import SimArm
    from robokit.envs.tasks import Task
    from robokit.robots import RobotSpec


class SimulatedTaskState:
    """The state of ``task``'s bodies (its ``state_bodies``), simulated in a SimArm's client once
    ``attach(arm)`` has built the scene there (objects placed as the task's ``reset`` places them, with
    ``seed``). ``read()`` before ``attach`` raises RuntimeError."""

    def __init__(self, task: Task, seed: int = 0) -> None:
        self.task, self.seed = task, seed
        self.bodies: tuple[str, ...] = tuple(task.state_bodies)
        self._bullet: Any = None

    def attach(self, arm: SimArm) -> None:
        """Build the task's scene in ``arm``'s PyBullet client (the robot folder's static boxes, then the
        task's bodies, no visual markers) and place the objects for an episode seeded with ``seed``."""
        from robokit.robots import robot_folder

        boxes = robot_folder(arm.spec.name).boxes
        self.task.setup_scene(arm.bullet, boxes, visuals=False)
        self.task.reset(np.random.default_rng(self.seed))
        self._bullet = arm.bullet

    def read(self) -> Mapping[str, BodyState]:
        """{body name: BodyState} in the base frame (the simulated arm's base sits at the origin)."""
        if self._bullet is None:
            raise RuntimeError("the simulated task state is not attached to a simulated arm yet")
        return {name: BodyState(*self._bullet.body_state(name)) for name in self.bodies}

    def close(self) -> None:
        """Close the kinematics client the source's own task holds."""
        self.task.kin.close()


def simulated_sources(spec: Mapping[str, Any], robot: RobotSpec) -> list[SimulatedTaskState]:
    """For a dry run of the policy ``spec`` on ``robot``: one SimulatedTaskState when its task reads
    bodies (an object task), none for Reach. Raises PolicyMismatchError for an env id robokit does not
    know (as the deploy itself would)."""
    from robokit.core.kinematics import Kinematics
    from robokit.runtime.task_state import deploy_task

    kin = Kinematics(robot)
    task, _ = deploy_task(spec, robot, kin)
    if not task.state_bodies:
        kin.close()
        return []
    return [SimulatedTaskState(task)]
