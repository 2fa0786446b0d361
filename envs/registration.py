"""Gymnasium ids, registered on ``import robokit.envs``."""

from __future__ import annotations

import gymnasium as gym

EPISODE_STEPS = 50  # 2 s at 25 Hz, as panda-gym
MAX_RENDER_SIDE = 4096  # pixels: the largest render_width / render_height (TinyRenderer's buffers)

ENV_SPECS: dict[str, dict] = {
    "robokit/ServoArmReach-v0": {
        "robot": "servo_arm",
        "task": "reach",
        "control_mode": "ee_delta",
        "reward_type": "sparse",
    },
    "robokit/ServoArmReachDense-v0": {
        "robot": "servo_arm",
        "task": "reach",
        "control_mode": "ee_delta",
        "reward_type": "dense",
    },
    "robokit/ServoArmReachJoints-v0": {
        "robot": "servo_arm",
        "task": "reach",
        "control_mode": "joint_delta",
        "reward_type": "sparse",
    },
    "robokit/PandaReach-v0": {
        "robot": "panda",
        "task": "reach",
        "control_mode": "ee_delta",
        "reward_type": "sparse",
    },
    "robokit/PandaReachDense-v0": {
        "robot": "panda",
        "task": "reach",
        "control_mode": "ee_delta",
        "reward_type": "dense",
    },
}


def register_envs() -> None:
    for env_id, kwargs in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(
                env_id,
                entry_point="robokit.envs.robot_env:RobotTaskEnv",
                kwargs=dict(kwargs),
                max_episode_steps=EPISODE_STEPS,
            )
