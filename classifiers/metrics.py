"""Classification metrics: the study's weighted ones, their macro counterparts, per-class
reports and the confusion matrix (all from scikit-learn), mean ± std over runs.

Weighted (the study's): averaged over classes with weights proportional to each class's
support (number of true samples), as scikit-learn's ``average="weighted"``; a class
absent from the true labels has weight 0. Weighted sensitivity equals accuracy by
construction.

Macro: the unweighted mean over the classes present in the true labels, so a rare class
counts as much as a common one. Balanced accuracy is the macro sensitivity (as
scikit-learn's ``balanced_accuracy_score`` defines it).

Precision (or F1) of a class that is never predicted is 0 (scikit-learn's
``zero_division=0``). ROC-AUCs are one-vs-rest on the softmax probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

__all__ = [
    "LABELS",
    "METRICS",
    "ClassReport",
    "Scores",
    "evaluate",
    "summarize",
]

METRICS = (
    "accuracy",
    "precision",
    "sensitivity",
    "f1",
    "wauc",
    "balanced_accuracy",
    "macro_precision",
    "macro_sensitivity",
    "macro_f1",
    "macro_auc",
)
#: Short column headers of the metrics and what they stand for.
LABELS = {
    "accuracy": ("Acc %", "accuracy, %"),
    "precision": ("wP", "precision, weighted by class support"),
    "sensitivity": ("wS", "sensitivity (recall), weighted by class support (= accuracy)"),
    "f1": ("wF1", "F1, weighted by class support"),
    "wauc": ("wAUC", "one-vs-rest ROC-AUC, weighted by class support"),
    "balanced_accuracy": ("bAcc %", "balanced accuracy (= macro sensitivity), %"),
    "macro_precision": ("mP", "precision, unweighted mean over classes"),
    "macro_sensitivity": ("mS", "sensitivity, unweighted mean over classes"),
    "macro_f1": ("mF1", "F1, unweighted mean over classes"),
    "macro_auc": ("mAUC", "one-vs-rest ROC-AUC, unweighted mean over classes"),
}


@dataclass(frozen=True)
class ClassReport:
    """Precision, sensitivity (recall), F1, one-vs-rest ROC-AUC and support of one class.

    ``auc`` is NaN for a class without true samples (or when it is the only class).

    Examples
    --------
    >>> ClassReport("LYT", precision=1.0, sensitivity=0.5, f1=2 / 3, support=2).auc
    nan
    """

    name: str
    precision: float
    sensitivity: float
    f1: float
    support: int
    auc: float = float("nan")


@dataclass(frozen=True)
class Scores:
    """Metrics of one evaluation.

    Attributes
    ----------
    accuracy, precision, sensitivity, f1, wauc : float
        The study's metrics (weighted), fractions in [0, 1].
    balanced_accuracy, macro_precision, macro_sensitivity, macro_f1, macro_auc : float
        Macro averages over the classes present, fractions in [0, 1].
        The AUCs are NaN when fewer than two classes are present.
    confusion : numpy.ndarray
        (K, K) int64, rows the true class, columns the predicted class.
    per_class : tuple of ClassReport
    absent_classes : tuple of str
        Classes without any true sample (weight 0 in every average).

    Examples
    --------
    >>> scores = evaluate(np.array([0, 1]), np.eye(2), class_names=("a", "b"))
    >>> scores.f1, scores.absent_classes
    (1.0, ())
    """

    accuracy: float
    precision: float
    sensitivity: float
    f1: float
    wauc: float
    balanced_accuracy: float
    macro_precision: float
    macro_sensitivity: float
    macro_f1: float
    macro_auc: float
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
    def from_dict(cls, data: Mapping[str, Any]) -> Scores:
        """Rebuild from :meth:`to_dict`'s output (parsed JSON, hence ``Any``)."""
        return cls(
            **{m: float(data[m]) for m in METRICS},
            confusion=np.asarray(data["confusion"], dtype=np.int64),
            per_class=tuple(ClassReport(**c) for c in data["per_class"]),
            absent_classes=tuple(data["absent_classes"]),
        )


def _class_aucs(y_true: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """One-vs-rest ROC-AUC of each class's own column; NaN for classes not present (or when
    only one class is present, where no AUC is defined)."""
    present = np.bincount(y_true, minlength=probabilities.shape[1]) > 0
    aucs = np.full(probabilities.shape[1], np.nan)
    if present.sum() >= 2:
        for k in np.flatnonzero(present):
            aucs[k] = roc_auc_score(y_true == k, probabilities[:, k])
    return aucs


def evaluate(
    y_true: np.ndarray, probabilities: np.ndarray, *, class_names: Sequence[str]
) -> Scores:
    """All metrics of predictions ``argmax(probabilities)`` against ``y_true``.

    Parameters
    ----------
    y_true : numpy.ndarray
        (n,) integer class indices in 0..K−1.
    probabilities : numpy.ndarray
        (n, K) class probabilities (softmax), rows summing to 1.
    class_names : sequence of str
        K names.

    Returns
    -------
    Scores

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1])
    >>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.8, 0.2]])
    >>> scores = evaluate(y, p, class_names=("a", "b"))
    >>> scores.accuracy, scores.balanced_accuracy, scores.macro_auc
    (0.75, 0.75, 0.75)
    >>> scores.confusion.tolist()
    [[2, 0], [1, 1]]
    >>> Scores.from_dict(scores.to_dict()).per_class[1].sensitivity
    0.5
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
    support = np.bincount(y_true, minlength=num_classes)
    present = np.flatnonzero(support)
    confusion = confusion_matrix(y_true, y_pred, labels=labels).astype(np.int64)
    precision, sensitivity, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    aucs = _class_aucs(y_true, probabilities)
    weights = support / support.sum()
    macro_sensitivity = float(sensitivity[present].mean())
    return Scores(
        accuracy=float(np.trace(confusion) / y_true.size),
        precision=float(weights @ precision),
        sensitivity=float(weights @ sensitivity),
        f1=float(weights @ f1),
        wauc=float(np.average(aucs[present], weights=support[present]))
        if present.size >= 2
        else float("nan"),
        balanced_accuracy=macro_sensitivity,
        macro_precision=float(precision[present].mean()),
        macro_sensitivity=macro_sensitivity,
        macro_f1=float(f1[present].mean()),
        macro_auc=float(aucs[present].mean()) if present.size >= 2 else float("nan"),
        confusion=confusion,
        per_class=tuple(
            ClassReport(name, float(p), float(s), float(f), int(n), float(a))
            for name, p, s, f, n, a in zip(
                class_names, precision, sensitivity, f1, support, aucs, strict=True
            )
        ),
        absent_classes=tuple(n for n, k in zip(class_names, support, strict=True) if k == 0),
    )


def summarize(runs: Sequence[Scores]) -> dict[str, tuple[float, float]]:
    """Mean and sample standard deviation (ddof = 1; 0 for a single run) of each metric.

    Examples
    --------
    >>> y, p = np.array([0, 1]), np.array([[0.8, 0.2], [0.4, 0.6]])
    >>> names = ("a", "b")
    >>> runs = [evaluate(y, p, class_names=names), evaluate(y, p[::-1], class_names=names)]
    >>> summarize(runs)["accuracy"]
    (0.5, 0.7071067811865476)
    """
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
