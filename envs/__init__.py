"""Gymnasium environments over PyBullet. Importing this registers the ``robokit/...`` ids.

Registration needs only gymnasium; ``RobotTaskEnv`` and ``SimArm`` (which import PyBullet) load on first
use, so ``robokit envs --help`` and friends start without importing PyBullet.
"""

from typing import Any

from robokit.envs.registration import ENV_SPECS, EPISODE_STEPS, register_envs

register_envs()

__all__ = ["ENV_SPECS", "EPISODE_STEPS", "RobotTaskEnv", "SimArm", "register_envs"]


def __getattr__(name: str) -> Any:
    if name == "RobotTaskEnv":
        from robokit.envs.robot_env import RobotTaskEnv

        return RobotTaskEnv
    if name == "SimArm":
        from robokit.envs.sim_arm import SimArm

        return SimArm
    raise AttributeError(f"module 'robokit.envs' has no attribute {name!r}")
