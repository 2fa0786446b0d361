"""Gymnasium environments over PyBullet. Importing this registers the ``robokit/...`` ids."""

from robokit.envs.registration import ENV_SPECS, EPISODE_STEPS, register_envs
from robokit.envs.robot_env import RobotTaskEnv
from robokit.envs.sim_arm import SimArm

register_envs()

__all__ = ["ENV_SPECS", "EPISODE_STEPS", "RobotTaskEnv", "SimArm", "register_envs"]
