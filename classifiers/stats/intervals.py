"""Uncertainty of one row: accuracy interval, near-chance flag, per-class sensitivity.

A row is one (cache, model, space) tested by R runs on the same n test images.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from scipy import stats as scipy_stats

from ._checks import check_fraction, check_int, labels_1d, predictions
from .two_way import TwoWayInterval, two_way_mean

__all__ = [
    "ClassSensitivity",
    "RowAccuracy",
    "majority_rate",
    "per_class_sensitivity",
    "row_accuracy",
    "wilson_interval",
]


def wilson_interval(
    successes: float, trials: int, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Wilson score interval of a proportion (``statsmodels`` ``proportion_confint(...,
    method="wilson")``); ``successes`` may be a mean count over runs (non-integer).

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(2, 3)]
    [0.2077, 0.9385]
    """
    check_int(trials, "trials", minimum=1)
    check_fraction(confidence, "confidence")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must lie in 0..{trials}; got {successes!r}")
    z = float(scipy_stats.norm.ppf((1 + confidence) / 2))
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials**2))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def majority_rate(labels: np.ndarray) -> float:
    """Share of the most frequent class among the test labels (a majority-class guess).

    Examples
    --------
    >>> import numpy as np
    >>> majority_rate(np.array([0, 0, 1, 2]))
    0.5
    """
    labels = labels_1d(labels, "labels")
    return float(np.bincount(labels).max() / labels.size)


@dataclass(frozen=True)
class RowAccuracy:
    """A row's accuracy with its interval and the near-chance flag.

    Attributes
    ----------
    accuracy : float
        Mean accuracy over runs (fraction).
    low, high : float
        Interval (fractions, within [0, 1]).
    method : {"two-way bootstrap", "Wilson"}
        Two-way bootstrap over runs and images (R ≥ 2; the rule of
        :mod:`classifiers.stats.two_way`), Wilson's interval for a single run.
    n_runs, n_test : int
    majority_rate : float
        Share of the majority class among the test labels.
    near_chance : bool
        True when ``low ≤ majority_rate``: the interval reaches what always guessing the
        majority class scores, so comparisons involving this row tell nothing.
    confidence : float

    Examples
    --------
    >>> import numpy as np
    >>> row = row_accuracy(np.array([0, 1, 1]), np.array([0, 1, 0]))
    >>> RowAccuracy.from_dict(row.to_dict()) == row, row.method
    (True, 'Wilson')
    """

    accuracy: float
    low: float
    high: float
    method: Literal["two-way bootstrap", "Wilson"]
    n_runs: int
    n_test: int
    majority_rate: float
    near_chance: bool
    confidence: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary; inverse of :meth:`from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RowAccuracy:
        """Rebuild from :meth:`to_dict`'s output (extra keys are ignored)."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})  # type: ignore[arg-type]


def row_accuracy(
    labels: np.ndarray,
    predicted: np.ndarray,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> RowAccuracy:
    """A row's accuracy interval: two-way bootstrap over runs and images, Wilson for one run.

    Parameters
    ----------
    labels : ndarray
        (n,) integer true classes.
    predicted : ndarray
        (R, n) or (n,) integer predicted classes of the row's runs.
    n_resamples, seed, confidence
        As in :func:`~classifiers.stats.two_way_mean`.

    Returns
    -------
    RowAccuracy

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1, 1, 1, 0, 1])
    >>> row = row_accuracy(labels, np.ones((1, 6), int))
    >>> row.method, round(row.accuracy, 3), row.near_chance
    ('Wilson', 0.667, True)
    """
    labels = labels_1d(labels, "labels")
    correct = predictions(predicted, "predicted", labels.size) == labels
    interval = None
    if correct.shape[0] > 1:
        interval = two_way_mean(correct, n_resamples=n_resamples, seed=seed, confidence=confidence)
    return row_record(labels, correct, interval, confidence)


def row_record(
    labels: np.ndarray, correct: np.ndarray, interval: TwoWayInterval | None, confidence: float
) -> RowAccuracy:
    """:class:`RowAccuracy` of correctness (R, n) from its two-way interval (R ≥ 2) or,
    with ``interval`` None, Wilson's interval of a single run."""
    runs, n = correct.shape
    rate = majority_rate(labels)
    if interval is None:
        low, high = wilson_interval(int(correct.sum()), n, confidence=confidence)
        method: Literal["two-way bootstrap", "Wilson"] = "Wilson"
    else:
        low, high = max(0.0, interval.low), min(1.0, interval.high)
        method = "two-way bootstrap"
    return RowAccuracy(
        accuracy=float(correct.mean()),
        low=float(low),
        high=float(high),
        method=method,
        n_runs=int(runs),
        n_test=int(n),
        majority_rate=rate,
        near_chance=bool(low <= rate),
        confidence=float(confidence),
    )


@dataclass(frozen=True)
class ClassSensitivity:
    """Sensitivity (recall) of one class with a Wilson interval.

    Attributes
    ----------
    label : int
        Class index.
    n_test : int
        Test images of the class (the trials of the interval: the same images are
        reused by every run, so runs do not add trials).
    sensitivity : float
        Mean over runs of the class's recall (mean correct count / ``n_test``).
    low, high : float
        Wilson interval of the mean correct count over ``n_test`` trials.
    confidence : float

    Examples
    --------
    >>> import numpy as np
    >>> first = per_class_sensitivity(np.array([0, 1]), np.array([0, 0]))[0]
    >>> ClassSensitivity.from_dict(first.to_dict()) == first, first.sensitivity
    (True, 1.0)
    """

    label: int
    n_test: int
    sensitivity: float
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary; inverse of :meth:`from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ClassSensitivity:
        """Rebuild from :meth:`to_dict`'s output (extra keys are ignored)."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})  # type: ignore[arg-type]


def per_class_sensitivity(
    labels: np.ndarray,
    predicted: np.ndarray,
    *,
    num_classes: int | None = None,
    confidence: float = 0.95,
) -> tuple[ClassSensitivity, ...]:
    """Per-class sensitivity with Wilson intervals and test counts.

    Parameters
    ----------
    labels : ndarray
        (n,) integer true classes in 0..K−1.
    predicted : ndarray
        (R, n) or (n,) integer predicted classes of the row's runs.
    num_classes : int, optional
        K; default one more than the largest label. A class without test images gets
        sensitivity NaN-free zeros and the full interval (0, 1) with ``n_test`` 0.
    confidence : float, optional

    Returns
    -------
    tuple of ClassSensitivity
        One per class 0..K−1.

    Examples
    --------
    >>> import numpy as np
    >>> rows = per_class_sensitivity(np.array([0, 0, 1]), np.array([[0, 1, 1]]))
    >>> [(r.label, r.n_test, r.sensitivity) for r in rows]
    [(0, 2, 0.5), (1, 1, 1.0)]
    """
    labels = labels_1d(labels, "labels")
    pred = predictions(predicted, "predicted", labels.size)
    k = int(labels.max()) + 1 if num_classes is None else num_classes
    check_int(k, "num_classes", minimum=int(labels.max()) + 1)
    correct = (pred == labels).mean(axis=0)  # mean over runs, per image
    out = []
    for label in range(k):
        members = labels == label
        n_k = int(members.sum())
        if n_k == 0:
            out.append(ClassSensitivity(label, 0, 0.0, 0.0, 1.0, float(confidence)))
            continue
        hits = float(correct[members].sum())
        low, high = wilson_interval(hits, n_k, confidence=confidence)
        out.append(ClassSensitivity(label, n_k, hits / n_k, low, high, float(confidence)))
    return tuple(out)
