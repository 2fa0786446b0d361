"""``robokit info`` (issue 9, items 8, 11 and 17): every bad argument or file is one line and exit code 2;
text from the file is shown, never interpreted; ``info | head`` ends without a BrokenPipeError."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from robokit.policies import cli_info, load_policy
from robokit.policies.policy_file import METADATA_KEY, content_digest


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    try:
        code = cli_info.main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def _write(path: Path, spec, tensors) -> Path:
    from safetensors.torch import save_file

    if isinstance(spec, dict):
        spec = {**spec, "sha256": content_digest(spec, tensors)}
    save_file(
        tensors, str(path), metadata={METADATA_KEY: spec if isinstance(spec, str) else json.dumps(spec)}
    )
    return path


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "the following arguments are required: policy"),
        (["--bogus", "x.safetensors"], "unrecognized arguments: --bogus"),
        (["{missing}"], "{missing}: no such policy file"),
        (["{dir}"], "{dir}: is a directory, not a policy file"),
        (["{list}"], "{list}: invalid spec: the spec: want a JSON object, got list [1, 2, 3]"),
        (["{list}", "--json"], "{list}: invalid spec: the spec: want a JSON object"),
        (["{shape}"], "{shape}: invalid spec: obs_spaces.observation.shape: want 1 to 4 positive integers"),
        (["{garbage}"], "{garbage}: not a readable safetensors policy file"),
    ],
)
def test_bad_arguments_and_files_are_one_line_and_exit_2(
    argv: list[str], fragment: str, scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    policy = load_policy(scripted_file)
    tensors = policy.weight_tensors()
    shape = json.loads(json.dumps(policy.spec))
    shape["obs_spaces"]["observation"]["shape"] = [-12]
    (tmp_path / "garbage.safetensors").write_bytes(b"\xff" * 100)
    names = {
        "missing": tmp_path / "missing.safetensors",
        "dir": tmp_path,
        "list": _write(tmp_path / "list.safetensors", "[1, 2, 3]", tensors),
        "shape": _write(tmp_path / "shape.safetensors", shape, tensors),
        "garbage": tmp_path / "garbage.safetensors",
    }
    argv = [a.format(**names) for a in argv]
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("robokit info: ") and "Traceback" not in err, err
    assert fragment.format(**names) in err, err


def test_text_from_the_file_is_shown_not_interpreted(
    scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spec strings are untrusted: rich markup in them (an unbalanced "[/x]" used to raise) is printed as is."""
    monkeypatch.setenv("COLUMNS", "400")  # no wrapping inside the strings checked below
    policy = load_policy(scripted_file)
    spec = json.loads(json.dumps(policy.spec))
    spec.update(robot="[/oops]", algo="[bold red]evil[/bold red]", env_id="robokit/[x]-v0")
    path = _write(tmp_path / "[markup].safetensors", spec, policy.weight_tensors())
    code, out, err = _run([str(path)], capsys)
    assert code == 0 and err == "", err
    assert "[/oops]" in out and "[bold red]evil[/bold red]" in out and "[markup].safetensors" in out
    assert load_policy(path).spec["sha256"] in out  # shown whole, not cut with an ellipsis


def _big_policy(scripted_file: Path, tmp_path: Path) -> Path:
    """A valid policy whose info output is far larger than a pipe's buffer (64 KiB)."""
    policy = load_policy(scripted_file)
    spec = json.loads(json.dumps(policy.spec))
    spec["obs_layout"] = {f"part{i}": [0, 1 + i % 12] for i in range(4000)}
    spec["hyperparameters"] = {"notes": ["padding"] * 20000}
    return _write(tmp_path / "big.safetensors", spec, policy.weight_tensors())


@pytest.mark.parametrize("json_flag", [True, False], ids=["json", "table"])
def test_info_piped_into_head_ends_cleanly(json_flag: bool, scripted_file: Path, tmp_path: Path) -> None:
    """Item 17: `robokit info --json POLICY | head` ended in a BrokenPipeError traceback. The reader takes
    one line and closes the pipe while info is blocked writing the rest."""
    path = _big_policy(scripted_file, tmp_path)
    argv = [sys.executable, "-m", "robokit.cli", "info", str(path)] + (["--json"] if json_flag else [])
    # (with PYTHONUNBUFFERED, CPython's raw stdout may drop the rest of a partial write without an error)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    proc.stdout.close()  # like `head -1` exiting
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert first.strip(), "info printed nothing"
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert proc.returncode == 141  # as if killed by SIGPIPE, like any Unix filter
