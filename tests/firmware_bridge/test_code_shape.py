"""The driver's code shape (issue 10, point 7): no module over 400 lines, no function over 60 lines in
firmware_bridge. The command-line modules and code generators are left out: they move to robokit/cli/
in another part of the issue (drop them from EXCLUDED once moved)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "firmware_bridge"
EXCLUDED = {"cli_arm.py", "cli_arm_calibrate.py", "cli_deploy.py", "cli_emulate.py", "emulator.py"}
EXCLUDED |= {"gen_defaults.py", "gen_vectors.py"}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def test_no_driver_module_or_function_is_too_long():
    too_long = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name in EXCLUDED:
            continue
        text = path.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{path.name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.name}:{node.lineno} {node.name}: {n} lines")
    assert not too_long, "\n".join(too_long)
    assert {"hardware_arm.py", "link.py", "protocol.py", "messages.py"} <= {
        p.name for p in PACKAGE.glob("*.py")
    }
