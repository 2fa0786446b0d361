"""The SO-101 robot folder (issue 13): its model is the published kinematic chain (joint names and order as
LeRobot's, limits, the tool centre point where hand-composed transforms put it), its joint zero fits the
servos' single-turn encoder, its jaws hold the task cube, and its Reach env steps and trains.

The numbers below are /work/shared/facts/so101.md's, typed in again on purpose: the test compares the
model against them, not against itself."""

from __future__ import annotations

import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest

import robokit.envs  # noqa: F401  (registers the env ids)
from robokit.core.bullet_client import p
from robokit.core.kinematics import Kinematics, link_index
from robokit.envs.bullet import Bullet
from robokit.envs.sim_arm import SimArm
from robokit.robots import get_robot, robot_folder

JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
LIMITS = {  # rad
    "shoulder_pan": (-1.91986, 1.91986),
    "shoulder_lift": (-1.74533, 1.74533),
    "elbow_flex": (-1.69, 1.69),
    "wrist_flex": (-1.65806, 1.65806),
    "wrist_roll": (-2.74385, 2.84121),
    "gripper": (-0.174533, 1.74533),
}
# joint origins (xyz m, rpy rad) from base to the gripper link, then the fixed tool centre point
CHAIN = (
    ((0.0388353, 0.0, 0.0624), (3.14159, 0.0, -3.14159)),
    ((-0.0303992, -0.0182778, -0.0542), (-1.5708, -1.5708, 0.0)),
    ((-0.11257, -0.028, 0.0), (0.0, 0.0, 1.5708)),
    ((-0.1349, 0.0052, 0.0), (0.0, 0.0, -1.5708)),
    ((0.0, -0.0611, 0.0181), (1.5708, 0.0486795, 3.14159)),
)
TCP = ((-0.0079, -0.000218, -0.0981274), (0.0, 3.14159, 0.0))
COUNTS_PER_TURN, ZERO_COUNT = 4096, 2048  # STS3215 encoder; q = 0 at the middle count
CUBE_M, CUBE_KG, CUBE_X_M = 0.03, 0.02, 0.20


def _rot(axis: int, angle: float) -> np.ndarray:
    """The rotation by ``angle`` (rad) about x (0), y (1) or z (2)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array(
        [
            [[1, 0, 0], [0, c, -s], [0, s, c]],
            [[c, 0, s], [0, 1, 0], [-s, 0, c]],
            [[c, -s, 0], [s, c, 0], [0, 0, 1]],
        ][axis]
    )


def _frame(xyz: tuple, rpy: tuple) -> np.ndarray:
    """The URDF origin as a 4x4 transform: R = Rz(yaw) Ry(pitch) Rx(roll)."""
    t = np.eye(4)
    t[:3, :3] = _rot(2, rpy[2]) @ _rot(1, rpy[1]) @ _rot(0, rpy[0])
    t[:3, 3] = xyz
    return t


def hand_fk(q: np.ndarray) -> np.ndarray:
    """Tool centre point (3,) m for the five arm joints q: each joint turns about its frame's z."""
    t = np.eye(4)
    for (xyz, rpy), angle in zip(CHAIN, q):
        spin = np.eye(4)
        spin[:3, :3] = _rot(2, angle)
        t = t @ _frame(xyz, rpy) @ spin
    return (t @ _frame(*TCP))[:3, 3]


def test_joint_names_order_and_limits_are_the_published_ones():
    spec = get_robot("so101")
    assert spec.joint_names == JOINTS  # LeRobot's names, bus ids 1..6 in this order
    assert spec.gripper_indices == (5,) and spec.arm_indices == (0, 1, 2, 3, 4)
    np.testing.assert_allclose(spec.lower, [LIMITS[j][0] for j in JOINTS])
    np.testing.assert_allclose(spec.upper, [LIMITS[j][1] for j in JOINTS])
    assert spec.ee_link == "gripper_frame" and not spec.servo_driven
    np.testing.assert_allclose(spec.max_speed, 4.7)  # STS3215, 12 V, no load
    assert spec.joint_force[:5] == (2.9,) * 5 and spec.joint_force[5] < 2.9
    cid = p.connect(p.DIRECT)
    try:
        body = p.loadURDF(spec.urdf, useFixedBase=True, physicsClientId=cid)
        infos = [
            p.getJointInfo(body, j, physicsClientId=cid)
            for j in range(p.getNumJoints(body, physicsClientId=cid))
        ]
        movable = [(i[1].decode(), i[8], i[9]) for i in infos if i[2] == p.JOINT_REVOLUTE]
        assert [m[0] for m in movable] == list(JOINTS)
        for name, lo, hi in movable:
            assert (lo, hi) == pytest.approx(LIMITS[name], abs=1e-9)
        masses = {
            i[12].decode(): p.getDynamicsInfo(body, k, physicsClientId=cid)[0] for k, i in enumerate(infos)
        }
        assert masses["moving_jaw"] == pytest.approx(0.012) and masses["upper_arm"] == pytest.approx(0.103)
    finally:
        p.disconnect(cid)


def test_only_wrist_roll_and_gripper_have_limits_off_centre_and_all_fit_one_encoder_turn():
    off_centre = [j for j, (lo, hi) in LIMITS.items() if not math.isclose(lo, -hi)]
    assert off_centre == ["wrist_roll", "gripper"]
    for lo, hi in LIMITS.values():  # q = (count - 2048) * 2 pi / 4096: no limit crosses the 0/4095 seam
        counts = [ZERO_COUNT + v * COUNTS_PER_TURN / (2 * math.pi) for v in (lo, hi)]
        assert 0 < counts[0] < ZERO_COUNT < counts[1] < COUNTS_PER_TURN - 1
    extra = get_robot("so101").extra
    assert (extra["servo_counts_per_turn"], extra["servo_zero_count"]) == (COUNTS_PER_TURN, ZERO_COUNT)


@pytest.mark.parametrize("seed", [None, 0, 1, 2])
def test_the_tip_is_where_the_published_chain_puts_it(seed):
    spec = get_robot("so101")
    lo, hi = spec.arrays()
    q = np.zeros(6) if seed is None else np.random.default_rng(seed).uniform(lo, hi)
    kin = Kinematics(spec)
    try:
        np.testing.assert_allclose(kin.fk(q), hand_fk(q[:5]), atol=1e-5)
    finally:
        kin.close()
    if seed is None:  # at q = 0 the arm points forward: the tip ~0.39 m ahead, 0.23 m up
        np.testing.assert_allclose(hand_fk(q[:5]), [0.3914, 0.0, 0.2265], atol=5e-4)


class CubeScene:
    """The SO-101, its table and a free 3 cm, 20 g cube at the object tasks' 2 ms physics step."""

    def __init__(self) -> None:
        self.spec = dataclasses.replace(get_robot("so101"), sim_timestep_s=0.002, sim_substeps=20)
        self.bullet = Bullet(self.spec.sim_timestep_s)
        self.arm = SimArm(self.spec, self.bullet)
        self.kin = Kinematics(self.spec)
        for box in robot_folder("so101").boxes:
            self.bullet.add_box(box.half_extents_m, box.position_m, box.rgba, name=box.name)
        self.cube = self.bullet.add_box(
            [CUBE_M / 2] * 3,
            [CUBE_X_M, 0.0, CUBE_M / 2],
            name="cube",
            mass_kg=CUBE_KG,
            lateral_friction=1.0,
            friction_anchor=True,
        )
        cid, body = self.bullet.client, self.arm.body
        self.jaws = {(body, link_index(body, n, cid)) for n in ("gripper", "moving_jaw")}

    def move(self, tip_m: tuple[float, float, float], gripper_q: float, duration_s: float) -> None:
        q = self.kin.ik(np.asarray(tip_m), q0=self.arm.measured_q(), iters=200)
        q[5] = gripper_q
        self.arm.command(q)
        self.arm.advance(duration_s)

    def line(self, x: float, z_from: float, z_to: float, gripper_q: float) -> None:
        for z in np.linspace(z_from, z_to, 11):
            self.move((x, 0.0, z), gripper_q, 0.04)

    def touching(self) -> set[tuple[int, int]]:
        return {(c[2], c[4]) for c in p.getContactPoints(bodyA=self.cube, physicsClientId=self.bullet.client)}

    def close(self) -> None:
        self.kin.close()
        self.bullet.close()


def test_the_jaws_pick_up_the_cube_carry_it_and_let_it_go():
    scene = CubeScene()
    try:
        start = scene.bullet.position("cube")
        scene.move((CUBE_X_M, 0.0, 0.07), 1.0, 1.0)  # open, above the cube
        scene.line(CUBE_X_M, 0.07, 0.02, 1.0)  # down around it
        scene.arm.advance(0.2)
        assert np.linalg.norm(scene.bullet.position("cube") - start) < 0.003  # the open jaws cleared it
        scene.move((CUBE_X_M, 0.0, 0.02), 0.0, 0.6)  # commanded shut: the jaw stalls on the cube
        assert 0.3 < scene.arm.measured_q()[5] < 0.5  # 0.4: the moving jaw parallel to the fixed one
        scene.line(CUBE_X_M, 0.02, 0.15, 0.0)
        scene.move((0.15, 0.15, 0.2), 0.0, 1.0)  # carried up and sideways
        tip = scene.kin.fk(scene.arm.measured_q())
        assert np.linalg.norm(scene.bullet.position("cube") - tip) < 0.01
        assert scene.touching() == scene.jaws  # held by the two jaws alone
        scene.move((0.15, 0.15, 0.2), 1.0, 1.0)  # open: it falls onto the table
        assert not scene.touching() & scene.jaws
        assert scene.bullet.position("cube")[2] == pytest.approx(CUBE_M / 2, abs=0.002)
    finally:
        scene.close()


def test_reach_env_steps_toward_its_goal_with_measured_positions():
    env = gym.make("robokit/So101Reach-v0")
    try:
        obs, _ = env.reset(seed=0)
        assert env.unwrapped.arm.read().q_is_measured
        start = np.linalg.norm(obs["desired_goal"] - obs["achieved_goal"])
        for _ in range(10):
            move = np.clip((obs["desired_goal"] - obs["achieved_goal"]) / 0.025, -1.0, 1.0)
            obs, reward, terminated, _, info = env.step(move.astype(np.float32))
            if terminated:
                break
        assert info["distance_m"] < start / 2 and reward in (-1.0, 0.0)
    finally:
        env.close()


def test_the_env_ids_come_from_the_folder():
    ids = [i for i in robokit.envs.ENV_SPECS if robokit.envs.ENV_SPECS[i]["robot"] == "so101"]
    assert ids == [
        "robokit/So101Reach-v0",
        "robokit/So101ReachDense-v0",
        "robokit/So101ReachJoints-v0",
        "robokit/So101ReachJointsAbsolute-v0",
        "robokit/So101Push-v0",
        "robokit/So101PushDense-v0",
        "robokit/So101PickAndPlace-v0",
        "robokit/So101PickAndPlaceDense-v0",
    ]


def test_a_short_training_run_writes_an_so101_policy(tmp_path):
    from robokit.policies import default_config, train
    from robokit.policies.policy_file import load_policy

    out = tmp_path / "run"
    small = {"steps": 60, "eval_every": 60, "eval_episodes": 1, "checkpoint_every": 60, "progress": False}
    policy = load_policy(train(default_config("robokit/So101Reach-v0", out=str(out), **small)))
    assert policy.spec["robot"] == "so101" and policy.spec["env_id"] == "robokit/So101Reach-v0"
