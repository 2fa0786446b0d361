"""Shared helpers for the host-bridge tests (real emulator, real pty, real pyserial)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robokit.firmware_bridge.emulator import Emulator, PulseFrame, missing_tools
from robokit.firmware_bridge.fixedpoint import pulse_to_rad
from robokit.firmware_bridge.protocol import Info

needs_emulator = pytest.mark.skipif(
    missing_tools() is not None, reason=f"emulator toolchain: {missing_tools()}"
)


def pulse_angles(pf: PulseFrame, info: Info) -> np.ndarray:
    """Joint angles (rad) from measured pulse widths, through the firmware's calibration: the ground
    truth of what the servos are told, independent of what STATE reports."""
    return np.asarray([pulse_to_rad(w_us, j) for w_us, j in zip(pf.widths_us, info.joints)])


__all__ = ["Emulator", "needs_emulator", "pulse_angles"]


def scripted_policy_file(folder: Path, env_id: str = "robokit/ServoArmReach-v0") -> Path:
    """The scripted IK reach policy written to a real policy file."""
    from robokit.policies import scripted_policy

    return scripted_policy(env_id).save(folder / f"scripted-{env_id.split('/')[-1]}.safetensors")


def tiny_policy_file(folder: Path, hidden: tuple[int, ...] = (16, 16), fill: float | None = None) -> Path:
    """An untrained MLP policy for ServoArmReach as a real policy file (``fill``: set every weight)."""
    import torch

    from robokit.policies import scripted_policy
    from robokit.policies.policy_file import Policy

    spec = dict(scripted_policy().spec)
    spec.update(algo="untrained", network={"hidden": list(hidden), "activation": "relu", "output": "tanh"})
    torch.manual_seed(0)
    policy = Policy(spec)
    if fill is not None:
        with torch.no_grad():
            for t in policy.net.parameters():
                t.fill_(fill)
    return write_unchecked(policy, folder / f"tiny-{fill}.safetensors")


def write_unchecked(policy, path: Path) -> Path:
    """Write a policy file as an outside program could (robokit's own save refuses, e.g., NaN weights):
    the policy's tensors and spec with a matching sha256, nothing validated."""
    import json

    from safetensors.torch import save_file

    from robokit.policies.policy_file import METADATA_KEY, content_digest

    tensors = policy.weight_tensors()
    spec = {**json.loads(json.dumps(policy.spec)), "format_version": 1}
    spec.pop("sha256", None)
    spec["sha256"] = content_digest(spec, tensors)
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(spec)})
    return path


class NanAfter:
    """Wraps a loaded policy; from tick ``n`` on its action is NaN (a diverged network)."""

    def __init__(self, policy, n: int) -> None:
        self.policy, self.n, self.tick, self.spec = policy, n, 0, policy.spec

    def act(self, obs: dict) -> np.ndarray:
        self.tick += 1
        return np.full(3, np.nan) if self.tick > self.n else self.policy.act(obs)
