"""The figures of the report's statistics, PNG, with matplotlib's object API: a forest plot
of every comparison's difference with its interval, the camera-shift plot, and a row's
reliability diagram."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .figures import save_figure
from .results import CameraShift, Comparison, Row

__all__ = ["plot_camera_shift", "plot_forest", "plot_reliability"]


def plot_forest(path: Path, found: Sequence[Comparison]) -> None:
    """Every comparison's Δaccuracy (points) with its two-way 95 % CI, one line each;
    primary comparisons filled, Holm-adjusted ones open, near-chance ones grey."""
    n = max(len(found), 1)
    figure = Figure(figsize=(7, 1.2 + 0.35 * n))
    ax = figure.add_subplot()
    for y, c in enumerate(reversed(found)):
        r = c.result
        a = r.accuracy
        color = "0.6" if r.near_chance else ("C0" if r.primary else "C1")
        ax.plot([100 * a.low, 100 * a.high], [y, y], color=color, linewidth=2)
        face = color if r.primary else "white"
        ax.plot(100 * a.estimate, y, "o", color=color, markerfacecolor=face, markersize=6)
    labels = [f"{c.cache} · {c.model}: {c.result.other} − {c.result.baseline}"
              + (" (primary)" if c.result.primary else "") for c in reversed(found)]  # fmt: skip
    ax.set_yticks(range(len(found)), labels, fontsize=7)
    ax.axvline(0, color="black", linewidth=0.8, linestyle=":")
    ax.set_xlabel("Δ accuracy, points (other − baseline), 95 % CI over runs and test images")
    ax.set_title(
        "Paired comparisons (filled: primary; open: Holm-adjusted; grey: near chance)",
        fontsize=9,
    )
    if not found:
        ax.text(0.5, 0.5, "no paired comparison", ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
    save_figure(figure, path)


def plot_camera_shift(path: Path, shift: CameraShift) -> None:
    """Accuracy (%) of each row on its training camera and on each unseen camera; RGB
    rows as one reference point (their input ignores the camera)."""
    names = ["training camera", *shift.cameras]
    figure = Figure(figsize=(max(6.0, 1.2 * len(names) + 3), 4))
    ax = figure.add_subplot()
    x = np.arange(len(names))
    for k, e in enumerate(shift.rows):
        label = f"{e.cache} · {e.model} · {e.space}"
        if e.unseen is None:
            ax.axhline(100 * e.own.mean, color=f"C{k % 10}", linestyle=":", label=label)
            continue
        values = [100 * e.own.mean, *[100 * v for v in e.unseen.per_camera]]
        ax.plot(x, values, "o-", color=f"C{k % 10}", label=label)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy % (mean over runs)")
    ax.set_title("Camera shift (dotted: RGB reference, input unchanged)", fontsize=9)
    ax.legend(fontsize=6)
    save_figure(figure, path)


def plot_reliability(path: Path, row: Row) -> None:
    """The reliability diagram of ``row``: each bin's accuracy against its mean
    confidence (runs pooled), the diagonal, and the bin counts."""
    figure = Figure(figsize=(5, 5))
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
    cal = row.calibration
    if cal is None:
        ax.text(0.5, 0.5, "runs tested different images", ha="center", va="center")
    else:
        edges = np.asarray(cal.bin_edges)
        width = np.diff(edges)
        accuracy = [np.nan if a is None else a for a in cal.bin_accuracy]
        ax.bar(edges[:-1], accuracy, width=width, align="edge", alpha=0.5,
               edgecolor="C0", label="bin accuracy")  # fmt: skip
        shown = [(c, a) for c, a in zip(cal.bin_confidence, cal.bin_accuracy, strict=True)
                 if c is not None and a is not None]  # fmt: skip
        if shown:
            ax.plot(*zip(*shown, strict=True), "o", color="C3", markersize=4,
                    label="bin accuracy at its mean confidence")  # fmt: skip
        ax.legend(fontsize=7, loc="upper left")
        ax.set_title(f"{row.title}\nECE {cal.ece:.3f} (15 bins, {row.runs} run(s) pooled)",
                     fontsize=9)  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    save_figure(figure, path)
