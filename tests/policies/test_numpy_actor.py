"""Policy.numpy_actor (what the deploy loop's ticks run) gives Policy.act's actions: every activation and
output, with observation normalisation and clipping, and the deadband; and it is a snapshot."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robokit.policies import scripted_policy
from robokit.policies.policy_file import Policy

ENV = "robokit/So101Reach-v0"


def _policy(activation: str, output: str, deadband: float = 0.0, norm: bool = False) -> Policy:
    spec = dict(scripted_policy(ENV).spec)
    spec.update(algo="untrained", network={"hidden": [64, 32], "activation": activation, "output": output})
    spec["action_deadband"] = deadband
    if norm:
        rng = np.random.default_rng(1)
        sizes = {k: spec["obs_spaces"][k]["shape"][0] for k in spec["obs_keys"]}
        spec["obs_norm"] = {
            "mean": {k: rng.normal(0, 0.1, n).tolist() for k, n in sizes.items()},
            "var": {k: rng.uniform(0.01, 2.0, n).tolist() for k, n in sizes.items()},
            "clip": 3.0,
            "epsilon": 1e-8,
        }
    torch.manual_seed(0)
    policy = Policy(spec)
    with torch.no_grad():  # outputs spread over the action range, some beyond tanh/clip saturation
        for m in policy.net:
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(3.0)
    return policy


def _observations(policy: Policy, n: int = 50) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    sizes = dict(zip(policy.obs_keys, policy.typed_spec.obs_sizes))
    return [{k: rng.normal(0, 1.5, s) for k, s in sizes.items()} for _ in range(n)]


@pytest.mark.parametrize("activation", ["relu", "tanh", "elu"])
@pytest.mark.parametrize("output", ["tanh", "clip"])
def test_the_numpy_actor_gives_the_torch_actions(activation, output):
    policy = _policy(activation, output, norm=True)
    actor = policy.numpy_actor()
    actions = []
    for obs in _observations(policy):
        want, got = policy.act(obs), actor.act(obs)
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=2e-6)
        actions.append(got)
    assert np.ptp(np.array(actions), axis=0).min() > 0.1  # the inputs exercised the network


def test_the_deadband_zeroes_small_motion_elements_as_act_does():
    policy = _policy("relu", "tanh", deadband=0.2)
    actor = policy.numpy_actor()
    zeroed = 0
    for obs in _observations(policy, 200):
        want, got = policy.act(obs), actor.act(obs)
        np.testing.assert_array_equal(got == 0.0, want == 0.0)
        zeroed += int(np.sum(got == 0.0))
    assert zeroed > 0


def test_it_is_a_snapshot_and_names_a_missing_or_misshapen_entry():
    policy = _policy("relu", "tanh")
    actor = policy.numpy_actor()
    obs = _observations(policy, 1)[0]
    before = actor.act(obs)
    with torch.no_grad():
        policy.net[0].weight.zero_()
    np.testing.assert_array_equal(actor.act(obs), before)
    assert not np.allclose(policy.numpy_actor().act(obs), before)
    with pytest.raises(KeyError, match="desired_goal"):
        actor.act({k: v for k, v in obs.items() if k != "desired_goal"})
    with pytest.raises(ValueError, match="observation 'observation' has 5 numbers"):
        actor.act({**obs, "observation": np.zeros(5)})
