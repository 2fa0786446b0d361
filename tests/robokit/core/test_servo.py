import numpy as np

from robokit.core.servo import servo_step, servo_trajectory
from robokit.core.units import SERVO_FRAME_S


def test_servo_step_slews_at_max_speed_then_stops_exactly():
    speed = np.array([3.0, 1.0])
    sp = np.zeros(2)
    target = np.array([0.5, -0.05])
    traj = servo_trajectory(sp, np.tile(target, (20, 1)), speed)
    steps = np.diff(np.vstack([sp, traj]), axis=0)
    assert np.all(np.abs(steps) <= speed * SERVO_FRAME_S + 1e-12)
    assert np.allclose(traj[0], [0.06, -0.02])
    assert np.array_equal(traj[-1], target)  # stops exactly on the target
    assert np.array_equal(servo_step(target, target, speed), target)


def test_lands_bit_exactly_on_awkward_targets():
    rng = np.random.default_rng(0)
    for _ in range(200):
        sp = rng.uniform(-1, 1, 6)
        target = sp + rng.uniform(-0.06, 0.06, 6) * (1 - 1e-9)
        assert np.array_equal(servo_step(sp, target, np.full(6, 3.0)), target)


def test_the_float_path_gives_the_same_bits_as_numpy():
    """SimArm's hot path runs the servo model in Python floats; it must land on the same bits."""
    from robokit.core.servo import servo_step_floats
    from robokit.core.units import SERVO_FRAME_S

    rng = np.random.default_rng(0)
    for _ in range(2000):
        sp = rng.uniform(-3, 3, 6)
        target = sp + rng.choice([0.0, 1e-12, 0.05, 0.3, -2.0]) * rng.uniform(-1, 1, 6)
        speed = rng.uniform(0.5, 6.0, 6)
        want = servo_step(sp, target, speed)
        got = servo_step_floats(sp.tolist(), target.tolist(), (speed * SERVO_FRAME_S).tolist())
        assert np.array(got).tobytes() == want.tobytes()
