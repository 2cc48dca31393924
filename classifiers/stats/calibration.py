"""Calibration: expected calibration error and the data of a reliability diagram."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from ._checks import check_int, labels_1d, probabilities, run_labels

__all__ = ["ECE_BINS", "Calibration", "calibration"]

#: Equal-width confidence bins of the expected calibration error.
ECE_BINS = 15


@dataclass(frozen=True)
class Calibration:
    """Expected calibration error and reliability-diagram data of one row.

    Bin b holds the predictions whose confidence (top probability) lies in
    (b/B, (b+1)/B] (bin 0 also holds confidence 0), pooled over runs.

    Attributes
    ----------
    ece : float
        Σ_b (count_b / N) · |accuracy_b − confidence_b| over the pooled R · n predictions.
    ece_per_run : tuple of float
        The same, per run.
    bin_edges : tuple of float
        (B + 1,) edges 0, 1/B, …, 1.
    bin_confidence, bin_accuracy : tuple of float or None
        (B,) mean confidence and accuracy of each bin; None for an empty bin.
    bin_count : tuple of int
        (B,) predictions per bin.

    Examples
    --------
    >>> import numpy as np
    >>> result = calibration(np.array([0, 1]), np.array([[0.9, 0.1], [0.4, 0.6]]))
    >>> Calibration.from_dict(result.to_dict()) == result
    True
    """

    ece: float
    ece_per_run: tuple[float, ...]
    bin_edges: tuple[float, ...]
    bin_confidence: tuple[float | None, ...]
    bin_accuracy: tuple[float | None, ...]
    bin_count: tuple[int, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary; inverse of :meth:`from_dict`."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Calibration:
        """Rebuild from :meth:`to_dict`'s output (extra keys are ignored)."""
        values = {
            f.name: tuple(v) if isinstance(v := data[f.name], list) else v for f in fields(cls)
        }
        return cls(**values)  # type: ignore[arg-type]


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def calibration(
    labels: np.ndarray,
    probs: np.ndarray | Sequence[np.ndarray],
    *,
    bins: int = ECE_BINS,
) -> Calibration:
    """Expected calibration error (``bins`` equal-width bins) and reliability data.

    Parameters
    ----------
    labels : ndarray
        (n,) integer true classes (the same test images for every run).
    probs : ndarray or sequence of ndarray
        (R, n, K), a sequence of (n, K) or one (n, K): class probabilities.
    bins : int, optional
        Number of bins, ≥ 1.

    Returns
    -------
    Calibration

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> result = calibration(np.array([0, 1, 1]), p, bins=5)
    >>> round(result.ece, 4), result.bin_count
    (0.3, (0, 0, 1, 1, 1))
    """
    array = probabilities(probs, "probs")
    runs, n, k = array.shape
    labels = run_labels(labels_1d(np.asarray(labels), "labels"), runs, n, k)
    check_int(bins, "bins", minimum=1)
    confidence = array.max(axis=2)
    correct = (array.argmax(axis=2) == labels).astype(np.float64)
    index = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    per_run = tuple(_ece(index[r], confidence[r], correct[r], bins) for r in range(runs))
    count = np.bincount(index.ravel(), minlength=bins)
    conf_sum = np.bincount(index.ravel(), weights=confidence.ravel(), minlength=bins)
    acc_sum = np.bincount(index.ravel(), weights=correct.ravel(), minlength=bins)
    return Calibration(
        ece=_ece(index.ravel(), confidence.ravel(), correct.ravel(), bins),
        ece_per_run=per_run,
        bin_edges=tuple(float(e) for e in np.linspace(0.0, 1.0, bins + 1)),
        bin_confidence=tuple(
            float(s / c) if c else None for s, c in zip(conf_sum, count, strict=True)
        ),
        bin_accuracy=tuple(
            float(s / c) if c else None for s, c in zip(acc_sum, count, strict=True)
        ),
        bin_count=tuple(int(c) for c in count),
    )


def _ece(index: np.ndarray, confidence: np.ndarray, correct: np.ndarray, bins: int) -> float:
    """Σ_b |Σ_{i ∈ b} (correct_i − confidence_i)| / N."""
    gap = np.bincount(index, weights=correct - confidence, minlength=bins)
    return float(np.abs(gap).sum() / index.size)
