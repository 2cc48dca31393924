"""Paired comparison of two input spaces tested on the same images (SPEC §8).

Two spaces — a *baseline* (e.g. ``rgb``) and an *other* space (e.g. ``raw_packed``) — are
**paired** when the same runs (fold × seed) test models of both spaces on the same test
images in the same order. Every difference is **other − baseline**, stored as a fraction
(0.0027 = 0.27 percentage points); sentences print points.

The verdict reads the two-way interval over runs and test images
(:mod:`classifiers.stats.two_way`); with fewer than :data:`MIN_RUNS_POPULATION` runs it is
about these trained models only and no verdict about the spaces is given, and a
comparison involving a near-chance row tells nothing. Beside it, as descriptions: the
image-level sign-flip test, the Nadeau–Bengio corrected t-test over runs, Wilcoxon over
runs and the exact McNemar test of each run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np

from ._checks import (
    check_fraction,
    check_int,
    check_metric,
    check_names,
    check_run_names,
    probabilities,
    run_labels,
)
from ._text import comparison_sentence
from .image_level import SignFlipTest, sign_flip_test
from .intervals import RowAccuracy, row_record
from .mcnemar import mcnemar_exact
from .over_runs import corrected_ttest, wilcoxon_over_runs
from .power import minimum_detectable_difference, non_inferior
from .resample import macro_f1
from .two_way import (
    MIN_RUNS_POPULATION,
    TwoWayInterval,
    evidence,
    two_way_macro_f1,
    two_way_means,
)

__all__ = ["Metric", "PairedComparison", "Verdict", "compare_paired"]

Metric = Literal["accuracy", "macro_f1"]
#: ``"higher"``/``"lower"``: evidence that the other space scores higher/lower than the
#: baseline; ``"none"``: no evidence of a difference; ``"too_few_runs"``: fewer than
#: :data:`MIN_RUNS_POPULATION` runs, about these trained models only; ``"near_chance"``:
#: a row's accuracy interval reaches the majority-class rate, the comparison tells nothing.
Verdict = Literal["higher", "lower", "none", "too_few_runs", "near_chance"]

_NESTED = {
    "accuracy": TwoWayInterval,
    "macro_f1": TwoWayInterval,
    "image_test": SignFlipTest,
    "baseline_row": RowAccuracy,
    "other_row": RowAccuracy,
}


@dataclass(frozen=True)
class PairedComparison:
    """Paired comparison of an *other* space against a *baseline* space (SPEC §8).

    Attributes
    ----------
    baseline, other : str
        Names of the spaces.
    runs : tuple of str
        Names of the paired runs (fold × seed), in order.
    n_test, num_classes : int
        Test images per run (the same images for every run) and K.
    n_train : int or None
        Training images per run (for the corrected t-test); None when not given.
    baseline_accuracy, other_accuracy, delta_accuracy, delta_macro_f1 : tuple of float
        Per-run accuracies and other − baseline differences.
    accuracy, macro_f1 : TwoWayInterval
        The primary two-way inference of Δaccuracy and Δmacro F1 (images stratified by
        class for macro F1).
    image_test : SignFlipTest
        Sign-flip test over test images of per-image Δ summed over runs.
    mcnemar_b, mcnemar_c, mcnemar_p : tuple
        Per run: images the baseline got right and the other wrong (b), the reverse (c),
        exact McNemar p — each a description of that run's trained models.
    pooled_b, pooled_c : int
        b and c summed over runs (counts only: the same images recur in every run).
    ttest_t, ttest_p : float or None
        Nadeau–Bengio corrected resampled t-test over runs (None without ``n_train`` or
        with fewer than :data:`MIN_RUNS_POPULATION` runs).
    wilcoxon_p : float or None
        Descriptive Wilcoxon signed-rank p over runs (None with fewer than 5 runs).
    baseline_row, other_row : RowAccuracy
        Each space's accuracy interval and near-chance flag.
    primary : bool or None
        True for the declared primary comparison, False for a Holm-adjusted one, None
        before :func:`~classifiers.stats.adjust_family`.
    p_holm : float or None
        Holm-adjusted two-way p of accuracy over ``family_size`` comparisons.
    family_size : int or None
    margin : float or None
        Non-inferiority margin in percentage points, or None.
    alpha, confidence : float
    n_resamples, seed : int

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1] * 4)
    >>> p = np.eye(2)[np.stack([labels] * 3)]
    >>> result = compare_paired(labels, p, p, names=("rgb", "raw"), n_resamples=20)
    >>> PairedComparison.from_dict(result.to_dict()) == result, result.n_runs
    (True, 3)
    """

    baseline: str
    other: str
    runs: tuple[str, ...]
    n_test: int
    num_classes: int
    n_train: int | None
    baseline_accuracy: tuple[float, ...]
    other_accuracy: tuple[float, ...]
    delta_accuracy: tuple[float, ...]
    delta_macro_f1: tuple[float, ...]
    accuracy: TwoWayInterval
    macro_f1: TwoWayInterval
    image_test: SignFlipTest
    mcnemar_b: tuple[int, ...]
    mcnemar_c: tuple[int, ...]
    mcnemar_p: tuple[float, ...]
    pooled_b: int
    pooled_c: int
    ttest_t: float | None
    ttest_p: float | None
    wilcoxon_p: float | None
    baseline_row: RowAccuracy
    other_row: RowAccuracy
    primary: bool | None
    p_holm: float | None
    family_size: int | None
    margin: float | None
    alpha: float
    confidence: float
    n_resamples: int
    seed: int

    @property
    def n_runs(self) -> int:
        """Number of paired runs."""
        return len(self.runs)

    @property
    def mean_delta_accuracy(self) -> float:
        """Observed Δaccuracy (mean over runs and images)."""
        return self.accuracy.estimate

    @property
    def accuracy_ci(self) -> tuple[float, float]:
        """Two-way interval of Δaccuracy."""
        return self.accuracy.low, self.accuracy.high

    @property
    def mean_delta_macro_f1(self) -> float:
        """Observed Δmacro F1 (mean over runs)."""
        return self.macro_f1.estimate

    @property
    def macro_f1_ci(self) -> tuple[float, float]:
        """Two-way (class-stratified) interval of Δmacro F1."""
        return self.macro_f1.low, self.macro_f1.high

    @property
    def p_value(self) -> float:
        """Two-way p-value of Δaccuracy = 0 (the one Holm adjusts)."""
        return self.accuracy.p_value

    @property
    def near_chance(self) -> tuple[str, ...]:
        """Names of the spaces whose accuracy interval reaches the majority-class rate."""
        rows = ((self.baseline, self.baseline_row), (self.other, self.other_row))
        return tuple(name for name, row in rows if row.near_chance)

    def mdd(self, metric: Metric = "accuracy") -> float:
        """Minimum detectable difference (α = 0.05, 80 % power) from the two-way SE."""
        check_metric(metric)
        interval = self.accuracy if metric == "accuracy" else self.macro_f1
        return minimum_detectable_difference(interval.se)

    def verdict(self, metric: Metric = "accuracy") -> Verdict:
        """What the two-way inference supports at level ``alpha`` (see :data:`Verdict`).

        Accuracy of a Holm-adjusted comparison reads ``p_holm < alpha``; otherwise the
        interval excluding 0 (equivalently its p < alpha).
        """
        check_metric(metric)
        if self.near_chance:
            return "near_chance"
        if self.n_runs < MIN_RUNS_POPULATION:
            return "too_few_runs"
        interval = self.accuracy if metric == "accuracy" else self.macro_f1
        if metric == "accuracy" and self.p_holm is not None:
            significant = self.p_holm < self.alpha
        else:
            significant = bool(evidence(interval.low, interval.high, self.n_runs))
        if not significant:
            return "none"
        return "higher" if interval.estimate > 0 else "lower"

    def non_inferior(self, metric: Metric = "accuracy") -> bool | None:
        """Non-inferiority with ``margin`` points (lower end above −margin); None
        without a margin or where :meth:`verdict` gives no verdict about the spaces."""
        check_metric(metric)
        if self.margin is None or self.verdict(metric) in ("too_few_runs", "near_chance"):
            return None
        interval = self.accuracy if metric == "accuracy" else self.macro_f1
        return non_inferior(interval.low, self.margin)

    def sentence(self, metric: Metric = "accuracy") -> str:
        """One sentence that follows from the two-way inference, e.g. "raw_packed − rgb:
        +0.27 points (mean over 5 runs), 95 % CI [−0.41, +0.95] over runs and test images,
        p = 0.41: no evidence of a difference at α = 0.05; …"."""
        check_metric(metric)
        return comparison_sentence(self, metric)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary (nested records as dictionaries), with the flat figures,
        verdicts, sentences and MDDs; inverse of :meth:`from_dict`."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _NESTED:
                value = value.to_dict()
            out[f.name] = list(value) if isinstance(value, tuple) else value
        out["convention"] = f"{self.other} − {self.baseline} (fractions; ×100 for points)"
        out["mean_delta_accuracy"] = self.mean_delta_accuracy
        out["accuracy_ci"] = list(self.accuracy_ci)
        out["mean_delta_macro_f1"] = self.mean_delta_macro_f1
        out["macro_f1_ci"] = list(self.macro_f1_ci)
        out["p_value"] = self.p_value
        out["image_p"] = self.image_test.p_value
        out["near_chance"] = list(self.near_chance)
        for metric in ("accuracy", "macro_f1"):
            out[f"verdict_{metric}"] = self.verdict(metric)
            out[f"sentence_{metric}"] = self.sentence(metric)
            out[f"mdd_{metric}"] = self.mdd(metric)
            out[f"non_inferior_{metric}"] = self.non_inferior(metric)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PairedComparison:
        """Rebuild from :meth:`to_dict`'s output (extra keys are ignored)."""
        values: dict[str, object] = {}
        for f in fields(cls):
            value = data[f.name]
            if f.name in _NESTED:
                value = _NESTED[f.name].from_dict(value)  # type: ignore[arg-type, attr-defined]
            elif isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
        return cls(**values)  # type: ignore[arg-type]


def compare_paired(
    labels: np.ndarray,
    baseline_probabilities: np.ndarray | Sequence[np.ndarray],
    other_probabilities: np.ndarray | Sequence[np.ndarray],
    *,
    names: tuple[str, str],
    run_names: Sequence[str] | None = None,
    n_train: int | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    confidence: float = 0.95,
    margin: float | None = None,
) -> PairedComparison:
    """Compare an other space against a baseline space on paired runs (SPEC §8).

    Parameters
    ----------
    labels : ndarray
        (n,) integer true classes in 0..K−1 (or (runs, n) with identical rows).
    baseline_probabilities, other_probabilities : ndarray or sequence of ndarray
        (runs, n, K), a sequence of (n, K) per run, or one (n, K): class probabilities
        (predictions are the argmax); run r of both is the same fold × seed.
    names : tuple of str
        (baseline name, other name), e.g. ``("rgb", "raw_packed")``.
    run_names : sequence of str, optional
        One name per run; default ``"run 0"``, ``"run 1"``, ….
    n_train : int, optional
        Training images per run, for the Nadeau–Bengio corrected t-test.
    n_resamples, seed : int, optional
        Two-way bootstrap and sign-flip resamples (≥ 10,000 in a report) and seed.
    alpha, confidence : float, optional
        Level of the verdict, coverage of the intervals.
    margin : float, optional
        Non-inferiority margin in percentage points (> 0).

    Returns
    -------
    PairedComparison

    Raises
    ------
    ValueError
        If shapes, labels or options do not fit, naming the argument and what it got.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1] * 5)
    >>> p = np.eye(2)[np.stack([labels] * 3)]  # 3 runs, every image right
    >>> result = compare_paired(labels, p, p, names=("rgb", "raw"), n_resamples=50)
    >>> result.mean_delta_accuracy, result.accuracy_ci, result.verdict()
    (0.0, (0.0, 0.0), 'none')
    """
    names_ = check_names(names)
    labels, base, other, run_names_, k = _checked(
        labels, baseline_probabilities, other_probabilities, run_names
    )
    _check_options(alpha, n_resamples, seed, n_train, margin)
    options = {"n_resamples": n_resamples, "seed": seed, "confidence": confidence}
    return PairedComparison(
        baseline=names_[0],
        other=names_[1],
        runs=run_names_,
        n_train=n_train,
        **_figures(labels, base, other, k, n_train, options),
        primary=None,
        p_holm=None,
        family_size=None,
        margin=None if margin is None else float(margin),
        alpha=float(alpha),
        confidence=float(confidence),
        n_resamples=int(n_resamples),
        seed=int(seed),
    )


def _check_options(
    alpha: float, n_resamples: int, seed: int, n_train: int | None, margin: float | None
) -> None:
    check_fraction(alpha, "alpha")
    check_int(n_resamples, "n_resamples", minimum=1)
    check_int(seed, "seed", minimum=0)
    if n_train is not None:
        check_int(n_train, "n_train", minimum=1)
    if margin is not None:
        non_inferior(0.0, margin)  # validates the margin


def _checked(
    labels: np.ndarray,
    baseline_probabilities: np.ndarray | Sequence[np.ndarray],
    other_probabilities: np.ndarray | Sequence[np.ndarray],
    run_names: Sequence[str] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], int]:
    """Labels (n,), baseline and other predictions (R, n), run names and K, checked."""
    base_p = probabilities(baseline_probabilities, "baseline_probabilities")
    other_p = probabilities(other_probabilities, "other_probabilities")
    if other_p.shape != base_p.shape:
        raise ValueError(
            "other_probabilities must have the shape of baseline_probabilities "
            f"(runs, n, K) = {base_p.shape}; got {other_p.shape}"
        )
    runs, n, k = base_p.shape
    checked = run_labels(labels, runs, n, k)
    names = check_run_names(run_names, runs)
    return checked, base_p.argmax(axis=2), other_p.argmax(axis=2), names, k


def _figures(
    labels: np.ndarray,
    base: np.ndarray,
    other: np.ndarray,
    k: int,
    n_train: int | None,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Every computed field of :class:`PairedComparison` for predictions (R, n)."""
    runs, n = base.shape
    resampling = {"n_resamples": options["n_resamples"], "seed": options["seed"]}
    correct_base, correct_other = base == labels, other == labels
    count_delta = correct_other.sum(axis=1) - correct_base.sum(axis=1)
    tests = [mcnemar_exact(correct_base[r], correct_other[r]) for r in range(runs)]
    ttest = (
        corrected_ttest(count_delta / n, n_train=n_train, n_test=n)
        if n_train is not None and runs >= MIN_RUNS_POPULATION
        else None
    )
    delta_f1 = _run_f1(labels, other, k) - _run_f1(labels, base, k)
    # One resample set for Δ and both rows (the same resample for A and B).
    tables = np.stack([correct_other.astype(np.int8) - correct_base, correct_base, correct_other])
    delta, *rows = two_way_means(tables, **options)
    base_interval, other_interval = (None, None) if runs == 1 else rows
    return {
        "n_test": n,
        "num_classes": k,
        "baseline_accuracy": tuple(float(x) for x in correct_base.mean(axis=1)),
        "other_accuracy": tuple(float(x) for x in correct_other.mean(axis=1)),
        "delta_accuracy": tuple(float(x) for x in count_delta / n),
        "delta_macro_f1": tuple(float(x) for x in delta_f1),
        "accuracy": delta,
        "macro_f1": two_way_macro_f1(labels, base, other, num_classes=k, **options),
        "image_test": sign_flip_test(correct_base, correct_other, **resampling),
        "mcnemar_b": tuple(t[0] for t in tests),
        "mcnemar_c": tuple(t[1] for t in tests),
        "mcnemar_p": tuple(t[2] for t in tests),
        "pooled_b": sum(t[0] for t in tests),
        "pooled_c": sum(t[1] for t in tests),
        "ttest_t": None if ttest is None else ttest[0],
        "ttest_p": None if ttest is None else ttest[1],
        "wilcoxon_p": wilcoxon_over_runs(count_delta / n),
        "baseline_row": row_record(labels, correct_base, base_interval, options["confidence"]),
        "other_row": row_record(labels, correct_other, other_interval, options["confidence"]),
    }


def _run_f1(labels: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """(R, n) predictions → (R,) macro F1 of each run."""
    truth = np.eye(k, dtype=np.int64)[labels]
    onehot = np.eye(k, dtype=np.int64)[predicted]
    return macro_f1((onehot * truth).sum(axis=1), truth.sum(axis=0), onehot.sum(axis=1))
