"""The eval report as a rich table (``robokit eval``'s terminal output)."""

from __future__ import annotations

from typing import Any

from robokit.policies.holding import HOLD_SETTLE_S


def print_table(report: dict[str, Any]) -> None:
    """The aggregate as a rich table."""
    from rich.console import Console
    from rich.table import Table

    a = report["aggregate"]
    t = Table(title=f"{report['env_id']}: {a['episodes']} episodes")
    t.add_column("metric")
    t.add_column("value", justify="right")
    lo, hi = a["success_ci95"]
    t.add_row("success rate", f"{100 * a['success_rate']:.1f}%  (95% CI {100 * lo:.1f}-{100 * hi:.1f}%)")
    t.add_row("still at the goal at the end", f"{100 * a['final_success_rate']:.1f}%")
    t.add_row("return mean / median", f"{a['mean_return']:.2f} / {a['median_return']:.2f}")
    t.add_row("episode length (steps)", f"{a['mean_length']:.1f}")
    tts = a["mean_time_to_success_s"]
    t.add_row(
        "time to success (s)",
        "-" if tts is None else f"{tts:.2f} (median {a['median_time_to_success_s']:.2f})",
    )
    t.add_row("final distance (cm)", f"{100 * a['mean_final_distance_m']:.2f}")
    h, h0 = a["holding"], a["holding_from_first_success"]
    if h["episodes"]:
        t.add_row(
            "holding: tip path (cm/s)",
            f"{h['median_tip_path_cm_per_s']:.3f}  (with approach {h0['median_tip_path_cm_per_s']:.2f})",
        )
        t.add_row(
            "holding: joint std, max (rad)",
            f"{h['median_q_std_max_rad']:.4f}  (with approach {h0['median_q_std_max_rad']:.4f})",
        )
        if h.get("median_grip_squeeze") is not None:
            t.add_row("holding: grip squeeze (of full opening)", f"{h['median_grip_squeeze']:.2f}")
        t.caption = (
            f"holding: medians over {h['episodes']} episodes, from {HOLD_SETTLE_S:g} s after the first "
            "success to the end (with approach: from the first success); joint std: the largest joint's"
        )
    t.add_row("wall time (s)", f"{report['wall_time_s']:.1f}")

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich would exit(1) itself; the caller ends quietly instead
            self.quiet = True
            raise BrokenPipeError

    _Console().print(t)
