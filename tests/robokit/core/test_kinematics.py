import numpy as np
import pytest

from robokit.core.kinematics import Kinematics, link_index
from robokit.envs.sim_arm import SimArm
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


def test_ee_z_lower_bound_holds_and_is_tight(kin):
    """The FK-free lower bound on the tip's height (Safety's floor shortcut) never exceeds the true
    height, with or without the Jacobian that ik_step caches, and is close for small steps."""
    from robokit.core.safety import FLOOR_SLACK_M

    rng = np.random.default_rng(1)
    lo, hi = kin.spec.arrays()
    sizes = (1e-8, 1e-6, 1e-4, 0.02, 0.1, 0.3, 1.0)
    gaps, worst_excess = [], 0.0
    for k in range(1400):
        q0 = rng.uniform(lo, hi)
        size = sizes[k % len(sizes)]
        q1 = np.clip(q0 + rng.uniform(-size, size, q0.shape), lo, hi)
        cached = (k // len(sizes)) % 2 == 1
        if cached:  # leave the Jacobian at q0 cached, as a tick's ee_delta IK step does
            kin.ik_step(q0, kin.fk(q0) + 0.01)
        bound = kin.ee_z_lower_bound_m(q0, q1)
        true_z = kin.fk(q1)[2]
        worst_excess = max(worst_excess, bound - true_z)
        if size == 0.02 and cached:
            gaps.append(true_z - bound)
    # exact in real arithmetic; PyBullet's float32 link transforms leave ~1e-7 m, which Safety's slack covers
    assert worst_excess < FLOOR_SLACK_M / 5
    assert max(gaps) < 0.01  # within 1 cm for 0.02 rad steps: the shortcut usually spares the FK


def test_ik_step_to_the_tip_itself_leaves_q_unchanged(kin):
    """A target at the current tip (a zero ee_delta action) moves no joint: the null-space pull toward
    home fades with the tip error. Before, a redundant arm holding still drifted toward home (fails on
    the old ik_step, whose pull did not depend on the error)."""
    rng = np.random.default_rng(7)
    lo, hi = kin.spec.arrays()
    arm = list(kin.spec.arm_indices)
    home = np.asarray(kin.spec.home_q)
    for _ in range(20):
        q = home.copy()
        q[arm] = rng.uniform(lo[arm] * 0.5, hi[arm] * 0.5)
        out = kin.ik_step(q, kin.fk(q))
        assert np.max(np.abs(out - q)) < 1e-9


def test_ik_step_pull_toward_home_acts_while_moving(kin):
    """Far from the target the null-space pull is at full strength: repeated steps along a path keep
    the redundant joints nearer home than the same steps without the pull."""
    home = np.asarray(kin.spec.home_q)
    arm = list(kin.spec.arm_indices)
    q_pull, q_free = home.copy(), home.copy()
    q_pull[arm[-1]] += 0.3
    q_free[arm[-1]] += 0.3
    start = kin.fk(q_pull)
    for k in range(60):
        target = start + np.array([0.0, 0.03 * np.sin(k / 10.0), 0.01])
        q_pull = kin.ik_step(q_pull, target)
        q_free = kin.ik_step(q_free, target, home_gain=0.0)
    assert np.linalg.norm((q_pull - home)[arm]) < np.linalg.norm((q_free - home)[arm])


@pytest.mark.parametrize(
    "bad", [{"hold_radius_m": -0.001}, {"hold_radius_m": float("nan")}, {"home_gain": -1.0}]
)
def test_ik_step_refuses_a_negative_or_nan_gain_or_radius(kin, bad):
    """A NaN or negative setting used to fall back silently to the full pull."""
    q = np.asarray(kin.spec.home_q)
    with pytest.raises(ValueError, match="must be >= 0"):
        kin.ik_step(q, kin.fk(q) + 0.01, **bad)
