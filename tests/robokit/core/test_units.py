"""Units, hardware constants and run-folder names are defined once: a copy written out as a literal in
the packages or benchmarks fails here, naming the file and line (parsed with ast: comments and prose in
help texts do not count)."""

from __future__ import annotations

import ast
from pathlib import Path

from robokit.core import run_files
from robokit.core.units import SERVO_FRAME_S, SERVO_FRAME_US
from robokit.firmware_bridge import fixedpoint as fx

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ("robokit", "envs", "policies", "firmware_bridge", "benchmarks")
# the one place each kind of constant is defined
HOMES = {
    "servo frame": "robokit/core/units.py",
    "baud": "firmware_bridge/link.py",
    "feetech baud": "firmware_bridge/feetech/bus.py",  # the STS3215's factory rate: another bus's fact
    "fixed point": "firmware_bridge/fixedpoint.py",
    "file name": "robokit/core/run_files.py",
}
FILE_NAMES = {v for k, v in vars(run_files).items() if k.isupper() and "." in v}
# Copies in the command-line modules that another part of issue 10 moves into robokit/cli/: switch each to
# the constant (robokit.core.run_files, link.BAUD, fixedpoint's conversions) and drop its line here.
PENDING: set[tuple[str, str]] = set()  # copies waiting for a move; none left


def _num(node: ast.AST) -> float | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) else None


def _statement_text(src: str, tree: ast.AST, node: ast.AST) -> str:
    """The source of the innermost simple statement holding ``node`` (its line for a def or class)."""
    holders = [
        s for s in ast.walk(tree) if isinstance(s, ast.stmt) and s.lineno <= node.lineno <= s.end_lineno
    ]
    best = max(holders, key=lambda s: (s.lineno, -s.end_lineno), default=None)
    if best is None or isinstance(best, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return src.splitlines()[node.lineno - 1]
    return ast.get_source_segment(src, best) or ""


def copies_in(src: str) -> list[tuple[str, int]]:
    """(kind, line) of every literal copy of a shared constant in ``src``."""
    tree = ast.parse(src)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            for operand, other in ((node.left, node.right), (node.right, node.left)):
                value, other_src = _num(operand), (ast.get_source_segment(src, other) or "")
                if value == SERVO_FRAME_S:
                    found.append(("servo frame", node.lineno))
                elif value == 65536 or (
                    value == fx.ANGLE_UNIT_RAD and ("100urad" in other_src or "gain" in other_src)
                ):
                    found.append(("fixed point", node.lineno))
        value = _num(node)
        if value in (1_000_000, 115_200) and "baud" in _statement_text(src, tree, node).lower():
            found.append(("feetech baud" if "feetech" in src.lower() else "baud", node.lineno))
        if isinstance(node, ast.Constant) and node.value in FILE_NAMES:
            found.append(("file name", node.lineno))
    return found


def test_units_hold_the_servo_frame_in_s_and_us():
    assert SERVO_FRAME_S == 0.02 and SERVO_FRAME_US == 20_000


def test_the_scan_finds_each_kind_of_copy():
    """The checker itself: each kind of copy written out is found, the constants by name are not."""
    src = (
        "a = q / 0.02\nb = g / 65536 * 0.5\nc = j.lower_100urad * 1e-4\n"
        "open_port(url, baud=1_000_000)\nd = run / 'ticks.jsonl'\n"
        "e = q / SERVO_FRAME_S\nf = run / TICKS_FILE\nseed = 1_000_000\n"
    )
    assert sorted(copies_in(src)) == [
        ("baud", 4),
        ("file name", 5),
        ("fixed point", 2),
        ("fixed point", 3),
        ("servo frame", 1),
    ]


def test_no_module_writes_out_a_shared_constant_again():
    """The 20 ms servo frame, the firmware's baud, the fixed-point conversions and the run-folder file
    names are each written once (HOMES); everywhere else uses the name."""
    offenders = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for kind, line in copies_in(path.read_text()):
                if rel != HOMES[kind] and (rel, kind) not in PENDING:
                    offenders.append(f"{rel}:{line}: {kind} (defined in {HOMES[kind]})")
    assert not offenders, "\n".join(offenders)
