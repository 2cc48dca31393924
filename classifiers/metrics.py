"""Classification metrics of the study: accuracy, support-weighted precision, sensitivity,
F1 and one-vs-rest ROC-AUC, per-class report, confusion matrix, mean ± std over folds.

"Weighted" means averaged over classes with weights proportional to each class's
support (number of true samples), as scikit-learn's ``average="weighted"``; a class
absent from the true labels has weight 0. Precision (or F1) of a class that is never
predicted is 0 (scikit-learn's ``zero_division=0``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

__all__ = [
    "METRICS",
    "ClassReport",
    "Scores",
    "evaluate",
    "summarize",
    "weighted_auc",
]

METRICS = ("accuracy", "precision", "sensitivity", "f1", "wauc")


@dataclass(frozen=True)
class ClassReport:
    """Precision, sensitivity (recall), F1 and support of one class."""

    name: str
    precision: float
    sensitivity: float
    f1: float
    support: int


@dataclass(frozen=True)
class Scores:
    """Metrics of one evaluation.

    Attributes
    ----------
    accuracy, precision, sensitivity, f1, wauc : float
        Fractions in [0, 1]; ``wauc`` is NaN when fewer than two classes are present.
    confusion : ndarray
        (K, K) int64, rows the true class, columns the predicted class.
    per_class : tuple of ClassReport
    absent_classes : tuple of str
        Classes without any true sample (weight 0 in every weighted metric).
    """

    accuracy: float
    precision: float
    sensitivity: float
    f1: float
    wauc: float
    confusion: np.ndarray
    per_class: tuple[ClassReport, ...]
    absent_classes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary (inverse of :meth:`from_dict`)."""
        return {
            **{m: float(getattr(self, m)) for m in METRICS},
            "confusion": self.confusion.tolist(),
            "per_class": [vars(c) for c in self.per_class],
            "absent_classes": list(self.absent_classes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Scores:
        """Rebuild from :meth:`to_dict`'s output."""
        return cls(
            **{m: float(data[m]) for m in METRICS},
            confusion=np.asarray(data["confusion"], dtype=np.int64),
            per_class=tuple(ClassReport(**c) for c in data["per_class"]),
            absent_classes=tuple(data["absent_classes"]),
        )


def weighted_auc(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Support-weighted one-vs-rest ROC-AUC of ``probabilities`` (n, K), rows summing to 1.

    Each class present in ``y_true`` contributes the binary ROC-AUC of its own column
    (``roc_auc_score(y_true == k, probabilities[:, k])``) with the weight of its support;
    classes absent from ``y_true`` have weight 0. With every class present and K > 2 this
    is ``roc_auc_score(..., multi_class="ovr", average="weighted")``; with two classes it
    is the binary AUC. NaN when fewer than two classes are present (AUC undefined).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be (n, K); got shape {probabilities.shape}")
    num_classes = probabilities.shape[1]
    y_true = _labels(y_true, num_classes)
    support = np.bincount(y_true, minlength=num_classes)
    present = np.flatnonzero(support)
    if present.size < 2:
        return float("nan")
    aucs = [roc_auc_score(y_true == k, probabilities[:, k]) for k in present]
    return float(np.average(aucs, weights=support[present]))


def evaluate(
    y_true: np.ndarray, probabilities: np.ndarray, *, class_names: Sequence[str]
) -> Scores:
    """All metrics of predictions ``argmax(probabilities)`` against ``y_true``.

    Parameters
    ----------
    y_true : ndarray
        (n,) integer class indices in 0..K−1.
    probabilities : ndarray
        (n, K) class probabilities (softmax), rows summing to 1.
    class_names : sequence of str
        K names.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    num_classes = len(class_names)
    if probabilities.ndim != 2 or probabilities.shape[1] != num_classes:
        raise ValueError(
            f"probabilities must have shape (n, {num_classes}); got {probabilities.shape}"
        )
    y_true = _labels(y_true, num_classes)
    if y_true.size == 0 or y_true.size != probabilities.shape[0]:
        raise ValueError(
            f"need one or more labels, one per row of probabilities; got {y_true.size} labels "
            f"and {probabilities.shape[0]} rows"
        )
    y_pred = probabilities.argmax(axis=1)
    labels = np.arange(num_classes)
    confusion = confusion_matrix(y_true, y_pred, labels=labels).astype(np.int64)
    precision, sensitivity, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    weighted = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="weighted", zero_division=0
    )
    return Scores(
        accuracy=float(np.trace(confusion) / y_true.size),
        precision=float(weighted[0]),
        sensitivity=float(weighted[1]),
        f1=float(weighted[2]),
        wauc=weighted_auc(y_true, probabilities),
        confusion=confusion,
        per_class=tuple(
            ClassReport(name, float(p), float(s), float(f), int(n))
            for name, p, s, f, n in zip(
                class_names, precision, sensitivity, f1, support, strict=True
            )
        ),
        absent_classes=tuple(n for n, k in zip(class_names, support, strict=True) if k == 0),
    )


def summarize(runs: Sequence[Scores]) -> dict[str, tuple[float, float]]:
    """Mean and sample standard deviation (ddof = 1; 0 for a single run) of each metric."""
    if not runs:
        raise ValueError("summarize needs at least one run")
    out = {}
    for metric in METRICS:
        values = np.array([getattr(r, metric) for r in runs], dtype=np.float64)
        std = float(values.std(ddof=1)) if values.size > 1 else 0.0
        out[metric] = (float(values.mean()), std)
    return out


def _labels(values: np.ndarray, num_classes: int) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1 or (values.size and values.dtype.kind not in "iub"):
        raise ValueError(f"labels must be a 1-D integer array; got {values.dtype} {values.shape}")
    values = values.astype(np.int64)
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    return values
