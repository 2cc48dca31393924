"""How the report writes numbers and sentences: metrics, points, p-values, tables, and the
notes that explain how a comparison was run."""

from __future__ import annotations

from collections.abc import Sequence

from ..grid.config import CompareConfig
from .results import Summary

__all__ = ["REGIMES", "metric", "notes", "optional", "p_value", "points", "table"]

#: The training regime of each ``mode`` of :func:`classifiers.models.create`.
REGIMES = {"full": "full", "linear": "last layer"}
_POINTS = {"accuracy", "balanced_accuracy"}


def metric(name: str, summary: Summary) -> str:
    """``mean ± sd``: percent with 2 decimals for accuracies, else 3 decimals.

    Examples
    --------
    >>> metric("accuracy", Summary(0.91234, 0.0101))
    '91.23 ± 1.01'
    >>> metric("wauc", Summary(0.98765, 0.002))
    '0.988 ± 0.002'
    """
    scale, digits = (100.0, 2) if name in _POINTS else (1.0, 3)
    return f"{scale * summary.mean:.{digits}f} ± {scale * summary.std:.{digits}f}"


def optional(value: float | None, digits: int) -> str:
    """``value`` with ``digits`` decimals, or ``—`` for None.

    Examples
    --------
    >>> optional(None, 2), optional(1.234, 2)
    ('—', '1.23')
    """
    return "—" if value is None else f"{value:.{digits}f}"


def p_value(value: float | None) -> str:
    """A p-value: 3 decimals, 2 significant digits below 0.001, ``—`` for None.

    Examples
    --------
    >>> p_value(0.04567), p_value(0.000123), p_value(None)
    ('0.046', '0.00012', '—')
    """
    if value is None:
        return "—"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def points(value: float) -> str:
    """A difference of fractions in signed percentage points.

    Examples
    --------
    >>> points(0.0123), points(-0.5)
    ('+1.23', '-50.00')
    """
    return f"{100 * value:+.2f}"


def table(header: Sequence[str], lines: Sequence[Sequence[object]]) -> list[str]:
    """A markdown table.

    Examples
    --------
    >>> table(["a", "b"], [[1, 2]])
    ['| a | b |', '|---|---|', '| 1 | 2 |']
    """
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(v) for v in line) + " |" for line in lines]
    return out


def notes(config: CompareConfig) -> list[str]:
    """The notes of a report: how runs were made, evaluated, costed and timed."""
    folds, seeds = config.folds, config.seeds
    if folds >= 2:
        runs = (
            f"{folds} folds × {seeds} seed(s): run (f, s) validates on the training samples "
            f"of fold f (early stopping, best epoch) and trains on all other training samples "
            f"with seed s; every run is tested on the same held-out test split."
        )
    else:
        runs = (
            f"{seeds} seed(s): each run trains on the training split minus a stratified 10 % "
            f"validation set drawn with its seed (early stopping, best epoch) and is tested "
            f"on the held-out test split."
        )
    return [
        runs,
        "Validation and test logits are computed in float32; BatchNorm statistics are "
        "recomputed over (up to "
        f"{config.train.precise_bn}) training samples before every validation.",
        "GMACs = half of torch FlopCounterMode's count (the study's 'FLOPs'); activations = "
        "outputs of Conv2d and Linear layers incl. attention in/out projections.",
        "Epoch time covers the whole training pass (data included); model time is the pure "
        "forward + backward time per batch, measured once per run on pre-made batches, × "
        "batches per epoch.",
    ]
