"""A scripted reach policy behind the Policy interface: baselines, tests, and hardware dry runs.

For ``ee_delta`` envs it is exactly a linear map, ``a = clip((desired_goal - achieved_goal) / ee_delta_scale_m,
-1, 1)``, so it is stored as a ``Policy`` with no hidden layers and ``output="clip"``: it saves to and loads
from a policy file like any trained network. Joint-space modes would need IK inside the policy, which a
policy file cannot hold, so they are refused.
"""

from __future__ import annotations

import torch

from robokit.policies.policy_file import Policy, spec_from_env


def scripted_policy(env_id: str = "robokit/ServoArmReach-v0", gain: float = 1.0) -> Policy:
    """The IK (ee_delta) reach policy for ``env_id`` as a Policy; ``gain`` scales the step (1 = full)."""
    import gymnasium as gym

    import robokit.envs  # noqa: F401  (registers the ids)

    env = gym.make(env_id)
    try:
        spec = spec_from_env(env, env_id)
        scale_m = float(env.unwrapped.robot.ee_delta_scale_m)
    finally:
        env.close()
    if spec["control_mode"] != "ee_delta":
        raise ValueError(
            f"the scripted reach policy needs an ee_delta env; {env_id} is {spec['control_mode']}"
        )
    spec.update(
        algo="scripted_ik",
        network={"hidden": [], "activation": "relu", "output": "clip"},
        training_steps=0,
        seed=None,
        hyperparameters={"gain": gain, "ee_delta_scale_m": scale_m},
    )
    offsets, dim = {}, 0
    for key in spec["obs_keys"]:
        offsets[key] = dim
        dim += spec["obs_spaces"][key]["shape"][0]
    weight = torch.zeros(spec["action_dim"], dim)
    for i in range(3):  # a[i] = gain * (desired[i] - achieved[i]) / scale
        weight[i, offsets["desired_goal"] + i] = gain / scale_m
        weight[i, offsets["achieved_goal"] + i] = -gain / scale_m
    return Policy(spec, {"net.0.weight": weight, "net.0.bias": torch.zeros(spec["action_dim"])})
