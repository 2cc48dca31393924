"""The figures of a report, PNG, with matplotlib's object API (never pyplot's global
state): per row a confusion matrix (summed over runs), one-vs-rest ROC curves (test
predictions of all runs pooled) and training curves (one line per run)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import roc_auc_score, roc_curve

from rawspace.files import atomic_path

from ..grid.record import CellRecord, read_predictions
from .results import Row

__all__ = ["plot_confusion", "plot_curves", "plot_roc", "save_figure"]


def save_figure(figure: Figure, path: Path) -> None:
    """Render ``figure`` to the PNG ``path``, atomically."""
    FigureCanvasAgg(figure)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=110, bbox_inches="tight", format="png")


def plot_confusion(path: Path, row: Row) -> None:
    """The confusion matrix of ``row``, summed over its runs, shaded by row fraction."""
    confusion = np.asarray(row.confusion, dtype=np.float64)
    names = row.class_names
    k = len(names)
    fraction = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = 2.5 + 0.45 * k
    figure = Figure(figsize=(size, size))
    ax = figure.add_subplot()
    ax.imshow(fraction, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if confusion[i, j]:
                color = "white" if fraction[i, j] > 0.5 else "black"
                ax.text(j, i, f"{int(confusion[i, j])}", ha="center", va="center",
                        fontsize=7, color=color)  # fmt: skip
    ax.set_xticks(range(k), names, rotation=90, fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{row.title}\nconfusion summed over {row.runs} run(s)", fontsize=9)
    save_figure(figure, path)


def plot_roc(path: Path, cells: Path, row: Row, members: Sequence[CellRecord]) -> None:
    """One-vs-rest ROC curves of ``row``, the test predictions of its runs pooled."""
    parts = [read_predictions(cells, member) for member in members]
    labels = np.concatenate([p.labels for p in parts])
    probabilities = np.concatenate([p.probabilities for p in parts])
    figure = Figure(figsize=(6, 5))
    ax = figure.add_subplot()
    for k, name in enumerate(row.class_names):
        positive = labels == k
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, probabilities[:, k])
        auc = roc_auc_score(positive, probabilities[:, k])
        ax.plot(fpr, tpr, linewidth=1, label=f"{name} ({auc:.3f})")
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    wauc = row.metrics["wauc"].mean
    ax.set_title(f"{row.title}\none-vs-rest ROC, runs pooled; wAUC {wauc:.3f}", fontsize=9)
    ax.legend(fontsize=6, loc="lower right", ncols=2)
    save_figure(figure, path)


def plot_curves(path: Path, row: Row, members: Sequence[CellRecord]) -> None:
    """Training and validation loss and accuracy per epoch, one line per run."""
    figure = Figure(figsize=(10, 3.8))
    loss_ax, acc_ax = figure.subplots(1, 2)
    for cell in members:
        history = cell.train.history
        epochs = [e.epoch for e in history]
        run = f"fold {cell.key.fold} seed {cell.key.seed}"
        line = loss_ax.plot(epochs, [e.loss for e in history], label=f"{run} train")[0]
        color = line.get_color()
        loss_ax.plot(epochs, [e.val_loss for e in history], "--", color=color,
                     label=f"{run} val")  # fmt: skip
        acc_ax.plot(epochs, [e.train_acc for e in history], color=color, label=f"{run} train")
        acc_ax.plot(epochs, [e.val_acc for e in history], "--", color=color, label=f"{run} val")
    for ax, name in ((loss_ax, "loss (solid: train, dashed: val)"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    acc_ax.legend(fontsize=6)
    figure.suptitle(row.title, fontsize=9)
    save_figure(figure, path)
