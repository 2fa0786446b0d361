"""The dry run's task-state source: a task's objects simulated in the realtime simulated arm's own
PyBullet client (real physics), read as a camera would give them."""

from __future__ import annotations

import time

import numpy as np
import pytest

from robokit.core.kinematics import Kinematics
from robokit.envs.sim_arm import RealtimeSimArm
from robokit.envs.tasks.reach import Reach
from robokit.robots import get_robot
from robokit.runtime.sim_task_state import SimulatedTaskState, simulated_sources
from robokit.runtime.task_state import BodyState


class Cube(Reach):
    """A 4 cm cube placed 25 cm up at reset: it falls onto the table."""

    state_bodies = ("cube",)
    obs_dim = 3

    def add_bodies(self, bullet, visuals: bool) -> None:
        bullet.add_box([0.02, 0.02, 0.02], (0.15, 0.1, 0.25), name="cube", mass_kg=0.05)
        self.own("cube")

    def reset(self, np_random):
        self.bullet.move("cube", (0.15, 0.1 + np_random.uniform(0.0, 0.01), 0.25))
        return super().reset(np_random)

    def achieved_goal(self, state):
        return self.position("cube").astype(np.float32)

    def observation(self):
        return self.position("cube").astype(np.float32)


def test_the_objects_are_simulated_beside_the_realtime_arm_and_read_as_body_states():
    robot = get_robot("servo_arm")
    source = SimulatedTaskState(Cube(robot, Kinematics(robot)), seed=3)
    with pytest.raises(RuntimeError, match="not attached"):
        source.read()
    arm = RealtimeSimArm(robot)
    try:
        source.attach(arm)
        first = source.read()
        assert set(first) == {"cube"} and isinstance(first["cube"], BodyState)
        assert abs(first["cube"].position_m[2] - 0.25) < 1e-9  # placed by the task's reset
        arm.read()  # starts the arm's clock
        time.sleep(0.4)
        arm.read()  # catches up ~0.4 s of physics: the cube has fallen onto the table
        later = source.read()["cube"]
        assert later.position_m[2] < 0.1 and abs(later.position_m[0] - 0.15) < 0.02
    finally:
        arm.close()
        source.close()


def test_reach_needs_no_simulated_source():
    from robokit.policies import scripted_policy

    assert simulated_sources(scripted_policy().spec, get_robot("servo_arm")) == []
