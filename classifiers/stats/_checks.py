"""Argument checks shared by the statistics modules: one-line errors naming the argument."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def correctness(value: np.ndarray, name: str, *, ndim: int = 1) -> np.ndarray:
    """A bool array of ``ndim`` dimensions from bool or 0/1 integers."""
    array = np.asarray(value)
    if array.ndim != ndim or array.size == 0:
        raise ValueError(f"{name} must be a non-empty {ndim}-D array; got shape {array.shape}")
    if array.dtype != np.bool_:
        if array.dtype.kind not in "iu" or not np.isin(array, (0, 1)).all():
            raise ValueError(f"{name} must be bool or 0/1 integers; got dtype {array.dtype}")
        array = array.astype(np.bool_)
    return array


def table(value: np.ndarray, name: str) -> np.ndarray:
    """A finite float64 array (..., runs, n) with runs ≥ 1 and n ≥ 1."""
    array = np.asarray(value)
    if array.ndim < 2 or 0 in array.shape:
        raise ValueError(f"{name} must be (..., runs, n), non-empty; got shape {array.shape}")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric; got dtype {array.dtype}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; got NaN or infinity")
    return array


def probabilities(value: np.ndarray | Sequence[np.ndarray], name: str) -> np.ndarray:
    """(runs, n, K) float64 from a stacked array, a sequence of (n, K) or one (n, K)."""
    if isinstance(value, np.ndarray):
        array = value
    else:
        arrays = [np.asarray(v) for v in value]
        if not arrays:
            raise ValueError(f"{name} must hold at least one run; got none")
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(
                f"{name}: every run must have the same (n, K) shape; got "
                f"{[a.shape for a in arrays]}"
            )
        array = np.stack(arrays)
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(f"{name} must be (runs, n, K) or (n, K), non-empty; got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; got NaN or infinity")
    return array


def run_labels(value: np.ndarray, runs: int, n: int, k: int) -> np.ndarray:
    """(n,) labels from (n,) or identical (runs, n) rows, in 0..k−1."""
    labels = np.asarray(value)
    if labels.ndim == 2:
        if labels.shape != (runs, n):
            raise ValueError(
                f"labels must be (n,) = ({n},) or (runs, n) = ({runs}, {n}); got {labels.shape}"
            )
        differ = [r for r in range(1, runs) if not np.array_equal(labels[r], labels[0])]
        if differ:
            raise ValueError(
                f"labels: run {differ[0]} has other labels than run 0; paired runs must test "
                "the same images in the same order"
            )
        labels = labels[0]
    labels = labels_1d(labels, "labels")
    if labels.size != n:
        raise ValueError(f"labels must have {n} entries, one per test image; got {labels.size}")
    if labels.max() >= k:
        raise ValueError(f"labels must lie in 0..{k - 1} (K = {k}); got {labels.max()}")
    return labels


def labels_1d(value: np.ndarray, name: str) -> np.ndarray:
    """Non-empty (n,) int64 class indices ≥ 0."""
    array = np.asarray(value)
    if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be a non-empty 1-D integer array; got {array.dtype} {array.shape}"
        )
    if array.min() < 0:
        raise ValueError(f"{name} must be non-negative class indices; got {array.min()}")
    return array.astype(np.int64)


def predictions(value: np.ndarray, name: str, n: int) -> np.ndarray:
    """(runs, n) int64 predicted classes from (runs, n) or (n,)."""
    array = np.asarray(value)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != n:
        raise ValueError(f"{name} must be (runs, {n}) or ({n},); got {np.shape(value)}")
    if array.dtype.kind not in "iu" or array.min() < 0:
        raise ValueError(f"{name} must be non-negative integer classes; got dtype {array.dtype}")
    return array.astype(np.int64)


def paired_predictions(
    labels: np.ndarray,
    baseline_predictions: np.ndarray,
    other_predictions: np.ndarray,
    num_classes: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Labels (n,), baseline and other predictions (R, n) of one shape, and K."""
    labels = labels_1d(labels, "labels")
    n = labels.size
    base = predictions(baseline_predictions, "baseline_predictions", n)
    other = predictions(other_predictions, "other_predictions", n)
    if base.shape != other.shape:
        raise ValueError(
            "other_predictions must have the shape of baseline_predictions "
            f"{base.shape}; got {other.shape}"
        )
    largest = int(max(labels.max(), base.max(), other.max()))
    k = largest + 1 if num_classes is None else num_classes
    check_int(k, "num_classes", minimum=1)
    if largest >= k:
        raise ValueError(f"labels and predictions must lie in 0..{k - 1}; got {largest}")
    return labels, base, other, int(k)


def check_int(value: object, name: str, *, minimum: int) -> None:
    """An int (not bool) ≥ ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}")


def check_fraction(value: object, name: str) -> None:
    """A number strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {value!r}")


def check_metric(metric: object) -> None:
    """``"accuracy"`` or ``"macro_f1"``."""
    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1'; got {metric!r}")


def check_names(names: object) -> tuple[str, str]:
    """(baseline name, other name): two non-empty strings."""
    if (
        not isinstance(names, (tuple, list))
        or len(names) != 2
        or not all(isinstance(s, str) and s for s in names)
    ):
        raise ValueError(f"names must be (baseline name, other name), two strings; got {names!r}")
    return str(names[0]), str(names[1])


def check_run_names(run_names: Sequence[str] | None, runs: int) -> tuple[str, ...]:
    """One string per run; default ``"run 0"``, ``"run 1"``, …."""
    if run_names is None:
        return tuple(f"run {r}" for r in range(runs))
    names = tuple(run_names)
    if len(names) != runs or not all(isinstance(s, str) for s in names):
        raise ValueError(f"run_names must be {runs} strings, one per run; got {list(names)!r}")
    return names
