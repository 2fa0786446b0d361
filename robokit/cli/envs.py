"""``robokit envs``: a table of the registered environments (``robokit.envs.catalog.env_rows``)."""

from __future__ import annotations

from robokit.cli.parser import OneLineParser, print_out


def table(rows: list[dict]) -> str:
    """Rows of equal keys as aligned text columns, a header first; one line per row."""
    cols = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in cols).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """``robokit envs``: print one row per registered env; returns 0."""
    parser = OneLineParser(prog="robokit envs", description="List the registered robokit environments.")
    parser.parse_args(argv)
    from robokit.envs.catalog import env_rows

    print_out(table(env_rows()))
    return 0
