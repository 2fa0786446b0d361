"""Object-task policies through `robokit deploy`: a dry run simulates the task's objects beside the
realtime simulated arm (SimulatedTaskState) and runs end to end; on a port the same policy is refused
before any arm is touched, since no object-pose source exists for hardware yet."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest
import torch

import robokit.envs  # noqa: F401
from robokit.cli import main
from robokit.core.run_files import SUMMARY_FILE, TICKS_FILE
from robokit.policies.policy_file import Policy, spec_from_env


def untrained_policy_file(folder: Path, env_id: str) -> Path:
    """A small untrained MLP for ``env_id`` saved as a real policy file (its actions are arbitrary)."""
    env = gym.make(env_id)
    spec = spec_from_env(env, env_id)
    env.close()
    spec.update(
        algo="untrained",
        network={"hidden": [16], "activation": "relu", "output": "tanh"},
        training_steps=0,
        seed=None,
        hyperparameters={},
    )
    torch.manual_seed(0)
    return Policy(spec).save(folder / f"{env_id.split('/')[-1]}.safetensors")


@pytest.mark.parametrize(
    "env_id, goal",
    [
        ("robokit/PandaPush-v0", "0.6,0.1,0.02"),
        ("robokit/PandaPickAndPlace-v0", "0.6,0.1,0.02"),
        ("robokit/PandaStack-v0", "0.6,0.1,0.02,0.6,0.1,0.06"),  # two objects: a 6-D goal
    ],
)
def test_a_dry_run_simulates_the_objects_and_runs_the_object_policy_end_to_end(
    tmp_path, capsys, env_id, goal
):
    policy = untrained_policy_file(tmp_path, env_id)
    log = tmp_path / "log"
    code = main(["deploy", str(policy), "--dry-run", "--goal", goal, "--duration", "1", "--quiet",
                 "--log", str(log)])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "simulated beside the arm" in out.out
    ticks = [json.loads(line) for line in (log / TICKS_FILE).read_text().splitlines()]
    assert len(ticks) >= 20
    env = gym.make(env_id)
    task_slice = slice(*env.unwrapped.observer.layout()["task"])
    env.close()
    first = ticks[0]["obs"][task_slice]
    # the object's entries come from the simulated scene: it rests on the table (z = half its 4 cm side)
    assert abs(first[2] - 0.02) < 2e-3 and first[:2] != [0.0, 0.0]
    assert ticks[0]["achieved_goal"][:3] == pytest.approx(first[:3], abs=1e-6)  # the (first) object
    summary = json.loads((log / SUMMARY_FILE).read_text())
    assert summary["exit_reason"] == "completed"


def test_on_a_port_an_object_policy_is_refused_before_the_arm_is_touched(tmp_path, capsys):
    policy = untrained_policy_file(tmp_path, "robokit/PandaPush-v0")
    missing_port = tmp_path / "no-such-port"
    code = main(["deploy", str(policy), "--port", str(missing_port), "--robot", "panda",
                 "--goal", "0.6,0.1,0.02", "--duration", "1", "--quiet", "--log", str(tmp_path / "log")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "needs task state (object)" in err and "refusing to deploy" in err
    assert "no-such-port" not in err  # refused before any port was opened
    assert not (tmp_path / "log").exists()


def test_info_says_an_object_policy_deploys_in_a_dry_run_and_what_an_arm_would_need(tmp_path):
    """`robokit info` named a confusing shape mismatch ([27] vs [15]) for an object-task policy: it
    checked against Reach's layout, not the policy's task."""
    from robokit.cli.info import fits_robot
    from robokit.policies import scripted_policy
    from robokit.policies.policy_file import read_policy_spec

    stack = read_policy_spec(untrained_policy_file(tmp_path, "robokit/PandaStack-v0"))
    line = fits_robot(stack)
    assert line.startswith("dry run only") and "object1, object2" in line
    reach = scripted_policy("robokit/ServoArmReach-v0").typed_spec
    assert fits_robot(reach).startswith("yes")


def test_deploying_an_expert_reference_says_what_deploy_takes(tmp_path, capsys, monkeypatch):
    """`expert:ENV` works with `robokit eval`; deploy names the difference instead of "no such file"."""
    monkeypatch.chdir(tmp_path)
    code = main(["deploy", "expert:robokit/PandaPush-v0", "--dry-run", "--goal", "0.6,0,0.02"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "not a scripted expert" in err and "robokit train" in err
    assert not any(tmp_path.iterdir())  # no log folder
