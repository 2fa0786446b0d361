"""``robokit info`` (issue 9, items 8, 11 and 17): every bad argument or file is one line and exit code 2;
text from the file is shown, never interpreted; ``info | head`` ends without a BrokenPipeError."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from robokit.cli import info as cli_info
from robokit.policies import load_policy
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
    spec.update(robokit_version="[/oops]", algo="[bold red]evil[/bold red]", env_id="robokit/[x]-v0")
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


PWNED = "\x1b[2J\x1b[31mpwned\r"  # clears the terminal, turns text red, returns the cursor


def _raw_controls(text: str) -> list[str]:
    """The non-printable characters in ``text`` other than the newlines that end lines."""
    return [c for c in text if not c.isprintable() and c != "\n"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("robokit_version", PWNED),
        ("env_id", "robokit/ServoArmReach-v0\u202e\x1b[31mRED"),
        ("algo", "td3\nfake"),
    ],
)
def test_control_characters_in_identifiers_are_refused_escaped(
    field: str, value: str, scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Issue 9: ``robokit_version="\\x1b[2J..."`` cleared the terminal. Identifiers with control
    characters are refused (exit 2), and the one-line message shows them escaped."""
    policy = load_policy(scripted_file)
    spec = {**json.loads(json.dumps(policy.spec)), field: value}
    path = _write(tmp_path / "ctrl.safetensors", spec, policy.weight_tensors())
    for argv in ([str(path)], [str(path), "--json"]):
        code, out, err = _run(argv, capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert f"invalid spec: {field}: " in err and "holds control characters" in err, err
        assert _raw_controls(err) == [] and repr(value)[1:-1] in err, err


def test_everything_info_prints_is_escaped(
    scripted_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file name (table title, the missing-sha256 warning) and free-text fields (hyperparameters,
    unknown keys) reach the terminal with every control character escaped, in the table and in --json."""
    monkeypatch.setenv("COLUMNS", "400")
    policy = load_policy(scripted_file)
    spec = json.loads(json.dumps(policy.spec))
    spec["hyperparameters"] = {"note": PWNED, "\x1b]0;title\x07": "\u202eevil"}
    spec["comment\x9b"] = "c1 \x85 next line"
    del spec["sha256"]
    tensors = policy.weight_tensors()
    path = tmp_path / f"x{PWNED}.safetensors"
    from safetensors.torch import save_file

    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(spec)})  # no sha256: a warning
    for argv in ([str(path)], [str(path), "--json"]):
        code, out, err = _run(argv, capsys)
        assert code == 0, err
        assert _raw_controls(out) == [] and _raw_controls(err) == [], (out, err)
        assert "warning: " in err and "x\\x1b[2J\\x1b[31mpwned\\r.safetensors" in err, err
    code, out, _ = _run([str(path), "--json"], capsys)
    assert json.loads(out)["hyperparameters"]["note"] == PWNED  # escaped as JSON, not altered
    code, out, _ = _run([str(path)], capsys)
    assert "x\\x1b[2J\\x1b[31mpwned\\r.safetensors" in "".join(out.split())  # the title (wrapped)


def test_a_missing_file_with_control_characters_in_its_name_is_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code, out, err = _run([str(tmp_path / f"{PWNED}.safetensors")], capsys)
    assert code == 2 and out == "" and _raw_controls(err) == [] and "\\x1b[2J" in err, err
