"""How the report writes numbers and sentences: metrics, points, p-values, tables, and the
notes that explain how a comparison was run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..grid.config import CompareConfig
from .results import Summary

__all__ = [
    "REGIMES",
    "method_lines",
    "metric",
    "notes",
    "optional",
    "p_value",
    "points",
    "recipe_lines",
    "table",
]

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
        "GMACs = half of torch FlopCounterMode's count (multiply-accumulates of convolutions, "
        "linear layers and attention products); FLOPs G = the ptflops convention the study's "
        "'FLOPs' follow (also counts biases, normalisation, activations and pooling); "
        "activations = outputs of Conv2d and Linear layers incl. attention in/out projections.",
        "Epoch time covers the whole training pass (data included); model time is the pure "
        "forward + backward time per batch, measured once per run on pre-made batches, × "
        "batches per epoch.",
    ]


def method_lines(rule: str, statement: str, margin: float | None, n_resamples: int) -> list[str]:
    """The report's method paragraph: the interval rule quoted, the family, the image-level
    and over-runs tests, power and non-inferiority, row and class intervals, calibration.

    Examples
    --------
    >>> lines = method_lines("RULE.", "Holm over 0 comparisons.", 1.0, 10_000)
    >>> lines[0].startswith("Interval (10000 resamples, seed 0): RULE."), len(lines)
    (True, 6)
    """
    margin_text = (
        f"Non-inferiority with a margin of {margin:g} points: the interval's lower end above "
        f"−{margin:g}."
        if margin is not None
        else "No non-inferiority margin was given (--margin M adds that verdict)."
    )
    return [
        f"Interval ({n_resamples} resamples, seed 0): {rule} With fewer than 3 runs a "
        "comparison describes these trained models only and gives no verdict about the "
        "spaces.",
        f"Multiplicity: {statement} A verdict of a non-primary comparison reads its Holm p.",
        "Image p: sign-flip permutation test over test images of the per-image difference "
        "summed over runs (the image as the unit). Corrected t-test: Nadeau–Bengio, "
        "variance × (1/J + n_test/n_train), over the runs' differences. Wilcoxon over runs "
        "(≥ 5 runs) and McNemar per run describe; b / c are counts over runs (each image "
        "recurs in every run, so they are not tested pooled).",
        "MDD: the minimum detectable difference at α = 0.05 with 80 % power, "
        f"(z₀.₉₇₅ + z₀.₈) · SE of the two-way interval. {margin_text}",
        "Row accuracy: the two-way interval over runs and test images (Wilson's interval "
        "for a single run); a row whose interval reaches the majority-class rate is marked "
        "near chance, and a comparison involving it tells nothing. Per-class sensitivity: "
        "Wilson's interval of the mean correct count over the class's test images (runs "
        "reuse the same images, so they add no trials).",
        "Calibration: expected calibration error over 15 equal-width confidence bins, "
        "predictions of all runs pooled (per run in results.json); the reliability "
        "diagrams plot each bin's accuracy against its mean confidence.",
    ]


def recipe_lines(fingerprints: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per model: its weights and training recipe, as its first cell's
    fingerprint records them (the options that shaped the cell); a fingerprint without
    training options gives no line.

    Examples
    --------
    >>> train = {"lr": 1e-4, "weight_decay": 0.05, "warmup_epochs": 5, "layer_decay": 0.65,
    ...          "label_smoothing": 0.1, "batch_size": 64, "epochs": 30, "patience": 10}
    >>> recipe_lines({"vit_b_16": {"weights": "imagenet21k", "train": train}})[0]
    'vit_b_16: weights imagenet21k; AdamW, peak learning rate 0.0001, weight decay 0.05,
     5 warm-up epoch(s) then cosine decay, layer-wise learning-rate decay 0.65 (1: none),
     label smoothing 0.1, batch 64, at most 30 epochs, patience 10.'
    """
    lines = []
    for model, fingerprint in fingerprints.items():
        train = fingerprint.get("train")
        if not isinstance(train, Mapping):
            continue
        weights = fingerprint.get("weights") or "none (random initialisation)"
        lines.append(
            f"{model}: weights {weights}; AdamW, peak learning rate {train['lr']:g}, weight "
            f"decay {train['weight_decay']:g}, {train['warmup_epochs']:g} warm-up epoch(s) then "
            f"cosine decay, layer-wise learning-rate decay {train['layer_decay']:g} (1: none), "
            f"label smoothing {train['label_smoothing']:g}, batch {train['batch_size']}, at "
            f"most {train['epochs']} epochs, patience {train['patience']}."
        )
    return lines
