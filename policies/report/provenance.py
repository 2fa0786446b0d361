"""Where an evaluated policy came from: what eval.json records, and, when the policy file is still where
eval.json says, its full spec (read and validated as any untrusted policy file; a missing or changed file
is noted on the page, never an error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robokit.policies.report.page import fmt

SPEC_FIELDS = (
    "env_id",
    "robot",
    "control_mode",
    "control_hz",
    "algo",
    "training_steps",
    "train_time_s",
    "seed",
    "robokit_version",
    "distance_threshold_m",
    "action_deadband",
)


def provenance_pairs(data: dict[str, Any], problems: list[str]) -> list[tuple[str, str]]:
    """(label, text) rows: the policy, the evaluation's settings, the spec eval.json recorded, and the
    policy file's own spec and training record when the file can be read."""
    pairs = [
        ("policy", fmt(data.get("policy"))),
        ("env id", fmt(data.get("env_id"))),
        ("evaluation seed (episode 0)", fmt(data.get("seed"))),
        ("worker processes", fmt(data.get("workers"))),
        ("wall time (s)", fmt(data.get("wall_time_s"))),
    ]
    spec = data.get("spec")
    if isinstance(spec, dict):
        pairs += [(f"spec: {k}", fmt(v)) for k, v in spec.items()]
    elif data:
        problems.append("eval.json records no policy spec")
    return pairs + policy_file_pairs(data.get("policy"), problems)


def policy_file_pairs(policy: Any, problems: list[str]) -> list[tuple[str, str]]:
    """The policy file's spec fields (training: algo, steps, time, seed, robokit version; network,
    hyperparameters), or [] with a problem noted when the file is gone or cannot be read."""
    if not isinstance(policy, str) or policy.startswith("expert:") or not policy:
        return []
    try:
        path = Path(policy)
        if not path.is_file():
            problems.append(
                f"the policy file {policy} is not there any more: the spec eval.json recorded is shown"
            )
            return []
        from robokit.policies.policy_file import read_policy_spec

        spec = read_policy_spec(path)
    except Exception as exc:  # noqa: BLE001  (an untrusted file: whatever is wrong with it is a note)
        problems.append(f"the policy file {policy} could not be read: {' '.join(str(exc).split())[:300]}")
        return []
    pairs = [(f"policy file: {k}", fmt(getattr(spec, k, None))) for k in SPEC_FIELDS]
    pairs.append(("policy file: network", fmt(spec.network.to_json())))
    if spec.hyperparameters:
        pairs.append(("policy file: hyperparameters", fmt(spec.hyperparameters)))
    return pairs
