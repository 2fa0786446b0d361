import numpy as np
import pytest

from robokit.envs.sim_arm import SimArm
from robokit.kinematics import Kinematics, link_index
from robokit.robots import get_robot


@pytest.fixture(scope="module", params=["servo_arm", "panda"])
def kin(request):
    k = Kinematics(get_robot(request.param))
    yield k
    k.close()


def test_fk_matches_the_simulator(kin):
    import pybullet as p

    spec = kin.spec
    rng = np.random.default_rng(0)
    lo, hi = spec.arrays()
    with SimArm(spec) as arm:
        ee = link_index(arm.body, spec.ee_link, arm.bullet.client)
        for _ in range(5):
            q = rng.uniform(lo, hi)
            for j, v in zip(arm._joints, q):
                p.resetJointState(arm.body, j, v, physicsClientId=arm.bullet.client)
            sim = p.getLinkState(arm.body, ee, computeForwardKinematics=1, physicsClientId=arm.bullet.client)[
                4
            ]
            assert np.allclose(kin.fk(q), sim, atol=1e-9)


def test_jacobian_matches_finite_differences(kin):
    q = np.asarray(kin.spec.home_q) + 0.1
    q = np.clip(q, *kin.spec.arrays())
    jac = kin.jacobian(q)
    eps = 1e-4  # PyBullet reports link positions with float32 precision
    num = np.stack([(kin.fk(q + eps * e) - kin.fk(q - eps * e)) / (2 * eps) for e in np.eye(len(q))], axis=1)
    assert np.allclose(jac, num, atol=1e-3)


def test_ik_reaches_a_nearby_point(kin):
    home = np.asarray(kin.spec.home_q)
    target = kin.fk(home) + np.array([0.04, 0.03, -0.03])
    q = kin.ik(target)
    assert np.linalg.norm(kin.fk(q) - target) < 1e-3
    lo, hi = kin.spec.arrays()
    assert np.all(q >= lo) and np.all(q <= hi)
