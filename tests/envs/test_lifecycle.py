"""PyBullet clients and the process around them: finalizers, display checks, the import banner."""

import gc
import os
import shutil
import subprocess
import sys
import time

import gymnasium as gym
import pytest

import robokit.envs  # noqa: F401  (registers the ids)
from robokit.core.bullet_client import p
from robokit.core.kinematics import Kinematics
from robokit.envs.bullet import Bullet, NoDisplayError, display_problem
from robokit.robots import get_robot


def live_clients() -> list[int]:
    """Ids of the PyBullet clients connected in this process (ids are small and reused)."""
    return [i for i in range(256) if p.isConnected(i)]


def test_envs_dropped_without_close_release_their_clients():
    gc.collect()
    before = live_clients()
    for _ in range(20):
        env = gym.make("robokit/PandaReach-v0")
        env.reset(seed=0)
        del env
    gc.collect()
    assert live_clients() == before  # was 20 more (each env's Bullet; Kinematics had a __del__)


def test_a_bullet_and_a_kinematics_dropped_unclosed_disconnect():
    gc.collect()
    before = live_clients()
    b = Bullet(0.01)
    k = Kinematics(get_robot("servo_arm"))
    assert len(live_clients()) == len(before) + 2
    del b, k
    gc.collect()
    assert live_clients() == before


def test_close_is_idempotent_and_leaves_other_clients_alone():
    other = Bullet(0.01)
    env = gym.make("robokit/ServoArmReach-v0")
    env.reset(seed=0)
    env.close()
    env.close()  # again: nothing to do, and no error
    env.unwrapped.close()
    assert p.isConnected(other.client)
    other.close()
    other.close()
    assert other.client == -1


def test_a_failed_constructor_leaves_no_client():
    gc.collect()
    before = live_clients()
    with pytest.raises(ValueError, match="unknown control mode"):
        gym.make("robokit/ServoArmReach-v0", control_mode="teleport")
    with pytest.raises(ValueError, match="render_width"):
        gym.make("robokit/ServoArmReach-v0", render_mode="rgb_array", render_width=0)
    gc.collect()
    assert live_clients() == before


def test_an_unopenable_display_raises_instead_of_exiting():
    """PyBullet's GUI connect exits the interpreter when $DISPLAY names no X server; run it in a child
    process so the old behaviour (exit inside gym.make) fails this test instead of ending pytest."""
    code = (
        "import gymnasium as gym, robokit.envs\n"
        "from robokit.envs.bullet import NoDisplayError\n"
        "try:\n"
        "    gym.make('robokit/ServoArmReach-v0', render_mode='human')\n"
        "except NoDisplayError as exc:\n"
        "    print('raised:', exc)\n"
    )
    env = {**os.environ, "DISPLAY": ":99"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "raised: render_mode='human' needs a display (cannot open display ':99')" in out.stdout
    assert "rgb_array" in out.stdout and "xvfb-run" in out.stdout


def test_display_problem_names_the_cause(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    assert display_problem() == "$DISPLAY is not set"
    monkeypatch.setenv("DISPLAY", ":99")
    assert display_problem() == "cannot open display ':99'"
    with pytest.raises(NoDisplayError, match=r"cannot open display ':99'"):
        Bullet(0.01, gui=True)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_a_real_display_passes_the_check(monkeypatch, tmp_path):
    server = subprocess.Popen(["Xvfb", ":87", "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
    try:
        monkeypatch.setenv("DISPLAY", ":87")
        deadline = time.monotonic() + 10
        while display_problem() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert display_problem() is None
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.parametrize(
    "code",
    [
        "import robokit.core.bullet_client",
        "import robokit.core.kinematics",
        "import gymnasium as gym, robokit.envs; gym.make('robokit/PandaReach-v0').reset(seed=0)",
    ],
)
def test_pybullet_prints_no_build_banner(code):
    out = subprocess.run(
        [sys.executable, "-c", code + "; print('done')"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "done\n"
    assert "pybullet build time" not in out.stderr and out.stderr == ""


def test_output_around_the_quiet_import_survives():
    code = (
        "import sys; print('before'); print('err before', file=sys.stderr)\n"
        "from robokit.core.bullet_client import p\n"
        "print('after', p.isNumpyEnabled() in (0, 1)); print('err after', file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout == "before\nafter True\n"
    assert out.stderr == "err before\nerr after\n"
