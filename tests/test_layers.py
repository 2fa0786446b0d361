"""Imports only point down the layers of docs/architecture.md: a test parses every module's imports (with
``ast``: imports inside functions and under TYPE_CHECKING count too) and fails when a module imports a
layer above its own.

    cli            robokit/cli/ (one module per command) and robokit/__main__.py
    runtime        robokit/runtime/
    policies       policies/
    envs | firmware_bridge    envs/ and firmware_bridge/: side by side, neither imports the other
    robots         robokit/robots/
    core           robokit/core/ (and robokit/console.py, robokit/paths.py, robokit/__init__.py)

Only robokit/cli/ (and robokit/__main__.py) is the command layer: a module elsewhere, whatever its name
(``cli_*.py``, ``gen_*.py``), is held to its own folder's layer.
"""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# import name prefix -> folder in the repository (setuptools package-dir)
PACKAGES = {
    "robokit.envs": ROOT / "envs",
    "robokit.policies": ROOT / "policies",
    "robokit.firmware_bridge": ROOT / "firmware_bridge",
    "robokit": ROOT / "robokit",
}
RANK = {"core": 0, "robots": 1, "envs": 2, "firmware_bridge": 2, "policies": 3, "runtime": 4, "cli": 5}
CLI_FILES: tuple[str, ...] = ()  # no file name makes a module a command module: only where it is
CLI_PATHS = ("robokit/__main__.py", "robokit/cli/*")
TOP_FOLDERS = {"envs": "envs", "policies": "policies", "firmware_bridge": "firmware_bridge"}
ROBOKIT_FOLDERS = {"core": "core", "robots": "robots", "runtime": "runtime", "cli": "cli"}


def layer_of(path: Path, root: Path = ROOT) -> str:
    """The layer of a source file, from where it is (see the module docstring)."""
    rel = path.relative_to(root).as_posix()
    if any(fnmatch.fnmatch(path.name, p) for p in CLI_FILES) or any(
        fnmatch.fnmatch(rel, p) for p in CLI_PATHS
    ):
        return "cli"
    top, *rest = rel.split("/")
    if top in TOP_FOLDERS:
        return TOP_FOLDERS[top]
    if top == "robokit" and len(rest) > 1 and rest[0] in ROBOKIT_FOLDERS:
        return ROBOKIT_FOLDERS[rest[0]]
    if top == "robokit":
        return "core"  # robokit/__init__.py, console.py, paths.py: plain helpers with no robokit imports
    raise ValueError(f"{rel} is in no layer")


def module_file(name: str, root: Path = ROOT) -> Path | None:
    """The file of a robokit module ``a.b.c`` (module or package), or None if there is none."""
    for prefix, folder in PACKAGES.items():
        if name == prefix or name.startswith(prefix + "."):
            base = (root / folder.relative_to(ROOT)).joinpath(*name[len(prefix) :].split(".")[1:])
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
            return None
    return None


def module_name(path: Path, root: Path = ROOT) -> str:
    """``envs/tasks/reach.py`` -> ``robokit.envs.tasks.reach``."""
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] != "robokit":
        parts.insert(0, "robokit")
    return ".".join(parts)


def imported_files(path: Path, root: Path = ROOT) -> list[tuple[int, str, Path]]:
    """(line, imported name, file) for every robokit module ``path`` imports, anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]  # what ``from .`` means
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # ``from pkg import sub`` imports the submodule when there is one, else a name of pkg
            names = [
                f"{base}.{a.name}" if module_file(f"{base}.{a.name}", root) else base for a in node.names
            ]
        for name in names:
            file = module_file(name, root)
            if file is not None:
                found.append((node.lineno, name, file))
    return found


def violations(root: Path = ROOT) -> list[str]:
    """Every import of a layer above (or beside) the importing module's own, one line each."""
    out = set()
    for folder in ("robokit", "envs", "policies", "firmware_bridge"):
        for path in sorted((root / folder).rglob("*.py")):
            own = layer_of(path, root)
            for line, name, file in imported_files(path, root):
                other = layer_of(file, root)
                if other != own and RANK[other] >= RANK[own]:
                    rel = path.relative_to(root)
                    out.add(f"{rel.as_posix()}:{line} ({own}) imports {name} ({other})")
    return sorted(out)


def test_no_module_imports_a_layer_above_its_own():
    assert violations() == []


def test_the_check_sees_imports_inside_functions_relative_ones_and_command_named_modules(tmp_path):
    """A throwaway tree with one violation of each kind: the checker names every one, and only those."""
    files = {
        "robokit/__init__.py": "",
        "robokit/core/__init__.py": "",
        "robokit/core/a.py": "def f():\n    from robokit.policies import x\n",
        "robokit/robots/__init__.py": "from ..core import a\n",
        "robokit/runtime/__init__.py": "",
        "robokit/runtime/loop.py": "import robokit.cli.deploy\n",
        "robokit/cli/__init__.py": "",
        "robokit/cli/deploy.py": "from robokit.runtime import loop\n",
        "envs/__init__.py": "from robokit.firmware_bridge import hw\n",
        "firmware_bridge/__init__.py": "",
        "firmware_bridge/hw.py": "from . import cli_deploy\n",
        "firmware_bridge/cli_deploy.py": "from robokit.runtime.loop import x\n",
        "robokit/core/cli_tools.py": "import robokit.runtime.loop\n",
        "policies/__init__.py": "",
        "policies/x.py": "from robokit.robots import y\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = violations(tmp_path)
    assert found == [
        "envs/__init__.py:1 (envs) imports robokit.firmware_bridge.hw (firmware_bridge)",
        "firmware_bridge/cli_deploy.py:1 (firmware_bridge) imports robokit.runtime.loop (runtime)",
        "robokit/core/a.py:2 (core) imports robokit.policies.x (policies)",
        "robokit/core/cli_tools.py:1 (core) imports robokit.runtime.loop (runtime)",
        "robokit/runtime/loop.py:1 (runtime) imports robokit.cli.deploy (cli)",
    ]


@pytest.mark.parametrize(
    "rel, layer",
    [
        ("robokit/core/arm.py", "core"),
        ("robokit/robots/registry.py", "robots"),
        ("envs/tasks/reach.py", "envs"),
        ("firmware_bridge/hardware_arm.py", "firmware_bridge"),
        ("policies/compat.py", "policies"),
        ("robokit/runtime/loop.py", "runtime"),
        ("robokit/runtime/demo.py", "runtime"),
        ("firmware_bridge/cli_deploy.py", "firmware_bridge"),  # a command-like name does not make it cli
        ("firmware_bridge/gen_vectors.py", "firmware_bridge"),
        ("envs/rollout.py", "envs"),
        ("robokit/cli/deploy.py", "cli"),
        ("robokit/__main__.py", "cli"),
    ],
)
def test_layers_follow_the_folders(rel, layer):
    assert layer_of(ROOT / rel) == layer
