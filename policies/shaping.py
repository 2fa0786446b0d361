"""The env a policy trains on: episodes that go on after success, and a penalty on changing the action.

Why (issue 9, item 16): with the sparse Reach reward every point inside the success radius is worth the
same, and with episodes that end at the first success training never sees what comes after it. Policies
trained that way reach the goal and then dither around it: the action flips sign every tick (a period-2
limit cycle, 20-40 cm/s of tip path on PandaReach). Two settings of ``TrainConfig`` fix it:

- ``terminate_on_success=False``: training episodes run to the time limit, so holding is trained;
- ``action_change_penalty`` c > 0: every step's reward loses ``c * |a_t - a_(t-1)|^2`` (actions clipped to
  [-1, 1]; a_(-1) = 0 after reset). Standing still costs nothing; flipping the action costs up to 4c per action dimension.

The penalty is part of every stored transition's reward. HER's relabelled transitions get the task's
reward for their new goal: SB3 passes the step's info to ``compute_reward`` only with ``copy_info_dict``
(a deep copy per sample), so this ``compute_reward`` subtracts the penalty only where an info carries
it. With 4 sampled goals, 1 in 5 training samples carries the penalty; that is the setting measured.
It applies to training only: evaluation, the success rate and the policy file are unchanged.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

PENALTY_KEY = "action_change_penalty"


class ActionChangePenalty(gym.Wrapper):
    """reward -= coef * |a_t - a_(t-1)|^2; the penalty is kept in ``info[PENALTY_KEY]`` for HER."""

    def __init__(self, env: gym.Env, coef: float) -> None:
        super().__init__(env)
        if not (isinstance(coef, (int, float)) and np.isfinite(coef) and coef >= 0):
            raise ValueError(f"action_change_penalty must be a finite number >= 0, not {coef!r}")
        self.coef = float(coef)
        self._prev = np.zeros(env.action_space.shape)

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        self._prev = np.zeros(self.env.action_space.shape)
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)  # the env validates the action
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        d = a - self._prev
        self._prev = a
        penalty = self.coef * float(d @ d)
        info = {**info, PENALTY_KEY: penalty}
        return obs, float(reward) - penalty, terminated, truncated, info

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any) -> Any:
        """The task's reward minus each transition's penalty; ``info``: one dict, or one per row (HER)."""
        base = self.env.unwrapped.compute_reward(achieved_goal, desired_goal, info)
        if isinstance(info, dict):
            return base - info.get(PENALTY_KEY, 0.0)
        return base - np.array([i.get(PENALTY_KEY, 0.0) for i in info], dtype=np.float64).reshape(
            np.shape(base)
        )


def make_train_env(config: Any) -> gym.Env:
    """The env for training from a ``TrainConfig``: ``config.env_id`` with its ``terminate_on_success``,
    wrapped in ``ActionChangePenalty`` when ``config.action_change_penalty`` > 0."""
    env = gym.make(config.env_id, terminate_on_success=config.terminate_on_success)
    if config.action_change_penalty:
        env = ActionChangePenalty(env, config.action_change_penalty)
    return env
