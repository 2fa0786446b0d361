"""The PNG plots a report draws itself (matplotlib, Agg), from rows already read and checked: training
curves, TensorBoard scalars, a deploy's joints, loop timing and reach errors. Each returns the file it
wrote, or None when there is nothing to draw. Raises OSError when a file cannot be written."""

from __future__ import annotations

from pathlib import Path

import numpy as np

MAX_TB_TAGS = 16  # scalar tags drawn (the rest are listed on the page)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path) -> Path:
    plt = _plt()
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def plot_curves(
    series: dict[str, list[tuple[float, float]]], x_label: str, title: str, out: Path
) -> Path | None:
    """One panel per named series of (x, y) points, in a grid of up to three columns."""
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    plt = _plt()
    cols = min(3, len(series))
    rows = -(-len(series) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.6 * rows), squeeze=False)
    for ax, (name, points) in zip(axes.flat, series.items()):
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o" if len(xs) < 40 else None, ms=3, lw=1.2)
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(series) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(x_label, fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _save(fig, out)


def plot_commanded_vs_reported(
    ticks: np.ndarray, targets: np.ndarray, q: np.ndarray, out: Path
) -> Path | None:
    """Commanded targets and reported joint positions (rad) over ticks, one panel per joint;
    ``targets`` and ``q`` are (ticks, joints)."""
    if len(ticks) == 0:
        return None
    plt = _plt()
    n = q.shape[1]
    fig, axes = plt.subplots(n, 1, figsize=(8, 1.5 * n + 0.6), sharex=True, squeeze=False)
    for j, ax in enumerate(axes[:, 0]):
        ax.plot(ticks, targets[:, j], lw=1.2, label="commanded")
        ax.plot(ticks, q[:, j], lw=1.2, ls="--", label="reported")
        ax.set_ylabel(f"joint {j}\n(rad)", fontsize=8)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("tick")
    fig.suptitle("commanded vs reported joint positions", fontsize=10)
    return _save(fig, out)


def plot_timing(timing: dict[str, list[float]], period_ms: float | None, out: Path) -> Path | None:
    """Histograms (ms) of the loop's lateness past each deadline and of the tick's read / compute / send
    times; ``period_ms`` marks one control period (a missed deadline) on the lateness panel."""
    timing = {k: v for k, v in timing.items() if v}
    if not timing:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(timing), figsize=(3.4 * len(timing), 2.8), squeeze=False)
    for ax, (name, values) in zip(axes[0], timing.items()):
        ax.hist(values, bins=40, color="tab:blue", alpha=0.8)
        title = name
        if name.startswith("lateness") and period_ms is not None:
            title = f"{name} (one period: {period_ms:.3g} ms)"
            if max(values) >= 0.25 * period_ms:  # else the line would squash the histogram
                ax.axvline(period_ms, color="tab:red", ls="--", lw=1, label="one period")
                ax.legend(fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("ms", fontsize=8)
        ax.tick_params(labelsize=8)
    fig.suptitle("loop timing (ticks per bin)", fontsize=10)
    return _save(fig, out)


def plot_reach_errors(errors_cm: list[float | None], threshold_cm: float | None, out: Path) -> Path | None:
    """One bar per goal: the reach error (cm), a dashed line at the success threshold; a goal without a
    number is left empty."""
    if not errors_cm:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(min(2 + 0.5 * len(errors_cm), 10), 3))
    xs = np.arange(1, len(errors_cm) + 1)
    ax.bar(xs, [0.0 if e is None else e for e in errors_cm], color="tab:green")
    if threshold_cm is not None:
        ax.axhline(threshold_cm, color="tab:red", ls="--", lw=1, label="success threshold")
        ax.legend(fontsize=8)
    ax.set_xlabel("goal")
    ax.set_ylabel("reach error (cm)")
    ax.set_xticks(xs)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, out)


def plot_sweep(
    scores: list[tuple[int, float]], reported: dict[str, list[tuple[float, float]]], out: Path
) -> Path | None:
    """Left: each complete trial's score by trial number, with the best so far; right: the success rate
    each trial reported at each env step (what the pruner compared), one line per trial."""
    if not scores and not reported:
        return None
    plt = _plt()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.4))
    if scores:
        xs, ys = zip(*scores)
        best = [max(ys[: i + 1]) for i in range(len(ys))]
        ax1.plot(xs, ys, "o", label="score")
        ax1.step(xs, best, where="post", color="tab:green", label="best so far")
        ax1.legend(fontsize=8)
    ax1.set_xlabel("trial")
    ax1.set_ylabel("score")
    for name, points in reported.items():
        if points:
            ax2.plot(*zip(*points), marker="o", ms=3, lw=1, label=name)
    if reported:
        ax2.legend(fontsize=7, ncol=2)
    ax2.set_xlabel("env steps")
    ax2.set_ylabel("success rate reported")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    return _save(fig, out)
