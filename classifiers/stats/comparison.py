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

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Literal

from ._checks import (
    check_metric,
)
from ._text import format_p, points, runs_text
from .image_level import SignFlipTest
from .intervals import RowAccuracy
from .power import minimum_detectable_difference, non_inferior
from .two_way import (
    MIN_RUNS_POPULATION,
    TwoWayInterval,
    evidence,
)

__all__ = ["Metric", "PairedComparison", "Verdict"]

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
    >>> from classifiers.stats import compare_paired
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


def comparison_sentence(c: PairedComparison, metric: Metric) -> str:
    """The sentence of :meth:`PairedComparison.sentence` (see there)."""
    interval = c.accuracy if metric == "accuracy" else c.macro_f1
    head = f"{c.other} − {c.baseline}" + (" macro F1" if metric == "macro_f1" else "")
    conf = f"{c.confidence * 100:g} %"
    where = "over runs and test images" + (", by class" if metric == "macro_f1" else "")
    text = (
        f"{head}: {points(interval.estimate)} points (mean over {runs_text(c.n_runs)}), "
        f"{conf} CI [{points(interval.low)}, {points(interval.high)}] {where}, "
        f"p = {format_p(interval.p_value)}"
    )
    if metric == "accuracy" and c.p_holm is not None:
        text += (
            f", Holm-adjusted p = {format_p(c.p_holm)} over "
            f"{plural(c.family_size, 'secondary comparison')}"
        )
    elif metric == "accuracy" and c.primary:
        text += " (primary comparison)"
    text += ": " + _conclusion(c, metric)
    if c.verdict(metric) not in ("too_few_runs", "near_chance"):
        text += _power(c, metric)
    if metric == "accuracy":
        text += "; " + _descriptions(c)
    else:
        text += " (a secondary metric, not adjusted for multiplicity)"
    return text + "."


def _conclusion(c: PairedComparison, metric: Metric) -> str:
    verdict = c.verdict(metric)
    level = f"at α = {c.alpha:g}"
    if verdict == "near_chance":
        spaces = " and ".join(c.near_chance)
        rate = f"{c.baseline_row.majority_rate * 100:.1f} %"
        verb = "are" if len(c.near_chance) > 1 else "is"
        return (
            f"{spaces} {verb} near chance (accuracy CI reaches the majority-class rate "
            f"{rate}), so this comparison tells nothing about the spaces"
        )
    if verdict == "too_few_runs":
        return (
            f"with {runs_text(c.n_runs)} this describes these trained models only, not the "
            "spaces (a verdict needs at least 3 runs)"
        )
    if verdict == "none":
        return f"no evidence of a difference {level}"
    what = "more accurate than" if metric == "accuracy" else "a higher macro F1 than"
    if verdict == "lower":
        what = "less accurate than" if metric == "accuracy" else "a lower macro F1 than"
    verb = "is" if metric == "accuracy" else "has"
    after = " after Holm adjustment" if metric == "accuracy" and c.p_holm is not None else ""
    return f"evidence that {c.other} {verb} {what} {c.baseline} {level}{after}"


def _power(c: PairedComparison, metric: Metric) -> str:
    mdd = c.mdd(metric)
    interval = c.accuracy if metric == "accuracy" else c.macro_f1
    text = f"; these runs detect a true difference of {abs(mdd) * 100:.2f} points with 80 % power"
    if c.verdict(metric) == "none" and abs(interval.estimate) < mdd:
        observed = points(interval.estimate)
        text += f", so a difference the size of the observed {observed} cannot be resolved"
    verdict = c.non_inferior(metric)
    if verdict is not None:
        bound = f"CI lower end {points(interval.low)}"
        margin = plural(c.margin, "point")
        text += (
            f"; non-inferior within {margin} ({bound} > −{c.margin:g})"
            if verdict
            else f"; non-inferiority within {margin} not shown ({bound} ≤ −{c.margin:g})"
        )
    return text


def _descriptions(c: PairedComparison) -> str:
    low, high = min(c.mcnemar_p), max(c.mcnemar_p)
    spread = format_p(low) if low == high else f"{format_p(low)}–{format_p(high)}"
    text = (
        f"with the trained models held fixed, image-level sign-flip p = "
        f"{format_p(c.image_test.p_value)} and McNemar p {spread}"
        + ("" if c.n_runs == 1 else " per run")
    )
    over = []
    if c.ttest_p is not None:
        over.append(f"corrected t-test p = {format_p(c.ttest_p)}")
    elif c.n_train is not None and c.n_runs >= MIN_RUNS_POPULATION:  # run, and undefined
        over.append("corrected t-test undefined (every run differs by the same amount)")
    if c.wilcoxon_p is not None:
        over.append(f"Wilcoxon p = {format_p(c.wilcoxon_p)} (descriptive)")
    if over:
        text += "; over runs, " + ", ".join(over)
    return text


def plural(count: float | None, word: str) -> str:
    """The count with its word: 1 point, 2 points, 1.5 points."""
    return f"{count:g} {word}" if count == 1 else f"{count:g} {word}s"
