"""Code shape (issue 10, point 7): in robokit/, envs/, policies/ and firmware_bridge/ (tests and
benchmarks excluded) no module is over 400 lines and no function over 60 lines. Complexity (ruff's C901,
max 12) is checked by ruff in CI (pyproject.toml)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("robokit", "envs", "policies", "firmware_bridge")
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def too_long(root: Path = ROOT) -> list[str]:
    """Every module over MAX_MODULE_LINES and function over MAX_FUNCTION_LINES under the packages."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            text = path.read_text()
            if text.count("\n") > MAX_MODULE_LINES:
                found.append(f"{rel}: {text.count(chr(10))} lines")
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    n = node.end_lineno - node.lineno + 1
                    if n > MAX_FUNCTION_LINES:
                        found.append(f"{rel}:{node.lineno} {node.name}: {n} lines")
    return found


def test_no_module_or_function_is_too_long():
    assert not too_long(), "\n".join(too_long())


def test_the_check_finds_a_long_module_and_a_long_function(tmp_path):
    pkg = tmp_path / "envs"
    pkg.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    (pkg / "long_function.py").write_text(f"def f():\n{body}\n")
    (pkg / "long_module.py").write_text("\n".join(f"y{i} = {i}" for i in range(401)) + "\n")
    found = too_long(tmp_path)
    assert any("long_function.py:1 f: 62 lines" in f for f in found)
    assert any(f.startswith("envs/long_module.py: 401 lines") for f in found)
