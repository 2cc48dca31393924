"""Paired statistics comparing two input spaces tested on the same images (SPEC §8).

Two spaces — a *baseline* (e.g. ``rgb``) and an *other* space (e.g. ``raw_packed``) — are
**paired** when the same runs (fold × seed) test models of both spaces on the same test
images in the same order. Every difference here is **other − baseline** ("raw_packed −
rgb"): positive means the other space scored higher. Differences are stored as fractions
(0.0027 = 0.27 percentage points); :meth:`PairedComparison.sentence` prints points.

* :func:`mcnemar_exact` — exact McNemar test on one run's (or pooled) correctness.
* :func:`paired_bootstrap` — percentile bootstrap CI of Δaccuracy and Δmacro F1: the test
  images are resampled with replacement, the same resample for both spaces and every
  run, and Δ is averaged over runs inside each resample; vectorised by turning each
  resample into per-image counts (weights) and class counts into one matrix product.
* :func:`bootstrap_indices` — the exact resamples used for a seed, to check or reuse.
* :func:`compare_paired` — all of the above plus the paired t-test and Wilcoxon
  signed-rank test over runs (at least :data:`MIN_RUNS_OVER_RUNS` runs), as a
  JSON-ready :class:`PairedComparison` with a one-sentence summary.

Macro F1 is the unweighted mean over all K classes of 2·TP / (2·TP + FP + FN), with 0
for a class that is neither present nor predicted (scikit-learn's ``f1_score(...,
labels=range(K), average="macro", zero_division=0)``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as scipy_stats

__all__ = [
    "MIN_RUNS_OVER_RUNS",
    "RESAMPLE_BLOCK",
    "BootstrapResult",
    "Metric",
    "PairedComparison",
    "Verdict",
    "bootstrap_indices",
    "compare_paired",
    "mcnemar_exact",
    "paired_bootstrap",
]

#: Fewest runs for the paired t-test and the Wilcoxon test over runs (with 5 runs the
#: exact two-sided Wilcoxon p-value cannot go below 2 / 2⁵ = 0.0625).
MIN_RUNS_OVER_RUNS = 5
#: Resamples drawn per call of the generator (see :func:`bootstrap_indices`).
RESAMPLE_BLOCK = 500

Metric = Literal["accuracy", "macro_f1"]
#: ``"higher"``/``"lower"``: evidence that the other space scores higher/lower than the
#: baseline; ``"none"``: no evidence of a difference; ``"inconclusive"``: the bootstrap
#: CI and McNemar's test disagree (accuracy only).
Verdict = Literal["higher", "lower", "none", "inconclusive"]


# ----------------------------------------------------------------------------- McNemar


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float]:
    """Exact (binomial) McNemar test of two classifiers on the same images.

    Parameters
    ----------
    correct_a, correct_b : ndarray
        (n,) bool (or 0/1 integers): whether classifier A (B) got each image right.

    Returns
    -------
    b : int
        Images A got right and B wrong.
    c : int
        Images A got wrong and B right.
    p : float
        Two-sided p-value ``min(1, 2 · P[X ≤ min(b, c)])`` with X ~ Binomial(b + c, ½),
        i.e. ``scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue``; 1 when b + c = 0.

    Raises
    ------
    ValueError
        If the arrays are not 1-D of the same length with values in {0, 1}.
    """
    a = _correctness(correct_a, "correct_a")
    b_ = _correctness(correct_b, "correct_b")
    if a.shape != b_.shape:
        raise ValueError(
            f"correct_a and correct_b must have the same shape; got {a.shape} and {b_.shape}"
        )
    b = int(np.count_nonzero(a & ~b_))
    c = int(np.count_nonzero(~a & b_))
    return b, c, _mcnemar_p(b, c)


def _mcnemar_p(b: int, c: int) -> float:
    if b + c == 0:
        return 1.0
    return float(scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue)


def _correctness(value: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array; got shape {array.shape}")
    if array.dtype != np.bool_:
        if array.size and (array.dtype.kind not in "iu" or not np.isin(array, (0, 1)).all()):
            raise ValueError(f"{name} must be bool or 0/1 integers; got dtype {array.dtype}")
        array = array.astype(np.bool_)
    return array


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class BootstrapResult:
    """Paired bootstrap distribution of Δ = other − baseline, averaged over runs.

    Attributes
    ----------
    delta_accuracy, delta_macro_f1 : ndarray
        (n_resamples,) float64: Δaccuracy and Δmacro F1 (fractions) of each resample,
        each the mean over runs of the run's other − baseline value on that resample.
    accuracy_ci, macro_f1_ci : tuple of float
        (low, high) percentiles ``100·(1 − confidence)/2`` and ``100·(1 + confidence)/2``
        of the distributions (``numpy.percentile``, linear interpolation).
    confidence : float
    n_resamples : int
    seed : int or None
        None when the resamples were passed in as ``indices``.
    """

    delta_accuracy: np.ndarray
    delta_macro_f1: np.ndarray
    accuracy_ci: tuple[float, float]
    macro_f1_ci: tuple[float, float]
    confidence: float
    n_resamples: int
    seed: int | None


def bootstrap_indices(n_test: int, *, n_resamples: int = 10_000, seed: int = 0) -> np.ndarray:
    """The resamples :func:`paired_bootstrap` draws for ``seed``.

    Exactly::

        rng = np.random.default_rng(seed)
        blocks = [rng.integers(0, n_test, size=(rows, n_test)) for rows in sizes]
        indices = np.concatenate(blocks)

    with ``sizes`` = ``n_resamples`` cut into blocks of :data:`RESAMPLE_BLOCK` rows (the
    last block smaller). Row j holds the test-image indices of resample j.

    Parameters
    ----------
    n_test : int
        Number of test images, ≥ 1.
    n_resamples : int, optional
        Number of resamples, ≥ 1.
    seed : int, optional
        Non-negative seed of ``numpy.random.default_rng``.

    Returns
    -------
    ndarray
        (n_resamples, n_test) int64, values in 0..n_test−1.
    """
    _check_int(n_test, "n_test", minimum=1)
    _check_int(n_resamples, "n_resamples", minimum=1)
    _check_int(seed, "seed", minimum=0)
    return np.concatenate(list(_index_blocks(n_test, n_resamples, seed)))


def _index_blocks(n_test: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, RESAMPLE_BLOCK):
        rows = min(RESAMPLE_BLOCK, n_resamples - start)
        yield rng.integers(0, n_test, size=(rows, n_test))


def paired_bootstrap(
    labels: np.ndarray,
    baseline_predictions: np.ndarray,
    other_predictions: np.ndarray,
    *,
    num_classes: int | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
    indices: np.ndarray | None = None,
    confidence: float = 0.95,
) -> BootstrapResult:
    """Paired percentile bootstrap of Δaccuracy and Δmacro F1 (other − baseline).

    Each resample draws n test images with replacement; the same images are used for
    both spaces and for every run, and Δ is the mean over runs of the run's
    other − baseline metric on the resample. The resamples are
    ``bootstrap_indices(n, n_resamples=n_resamples, seed=seed)`` unless ``indices`` is
    given. Computed in blocks of :data:`RESAMPLE_BLOCK` resamples: each resample becomes
    per-image counts, and the class counts (support, predicted, true positives) of every
    run and space are one matrix product with a one-hot table, so the work is
    O(n_resamples · n · K · runs) in BLAS rather than Python loops.

    Parameters
    ----------
    labels : ndarray
        (n,) integer true classes in 0..K−1.
    baseline_predictions, other_predictions : ndarray
        (runs, n) (or (n,) for one run) integer predicted classes in 0..K−1; row r of
        both is the same run (fold × seed).
    num_classes : int, optional
        K; default one more than the largest label or prediction.
    n_resamples : int, optional
        Number of resamples (≥ 1; SPEC §8 asks for ≥ 10,000).
    seed : int, optional
        Seed of the resamples (see :func:`bootstrap_indices`).
    indices : ndarray, optional
        (n_resamples, n) integer resamples to use instead of drawing them; then
        ``n_resamples`` and ``seed`` are ignored.
    confidence : float, optional
        Coverage of the interval, in (0, 1).

    Returns
    -------
    BootstrapResult

    Raises
    ------
    ValueError
        On shapes, dtypes or values that do not fit, naming the argument.
    """
    labels = _labels_1d(labels, "labels")
    n = labels.size
    base = _predictions(baseline_predictions, "baseline_predictions", n)
    other = _predictions(other_predictions, "other_predictions", n)
    if base.shape != other.shape:
        raise ValueError(
            "other_predictions must have the shape of baseline_predictions "
            f"{base.shape}; got {other.shape}"
        )
    largest = int(max(labels.max(), base.max(), other.max()))
    if num_classes is None:
        num_classes = largest + 1
    _check_int(num_classes, "num_classes", minimum=1)
    if largest >= num_classes:
        raise ValueError(f"labels and predictions must lie in 0..{num_classes - 1}; got {largest}")
    _check_fraction(confidence, "confidence")
    if indices is None:
        _check_int(n_resamples, "n_resamples", minimum=1)
        _check_int(seed, "seed", minimum=0)
        blocks: Iterator[np.ndarray] = _index_blocks(n, n_resamples, seed)
        used_seed: int | None = seed
    else:
        indices = np.asarray(indices)
        if indices.ndim != 2 or indices.shape[0] < 1 or indices.shape[1] != n:
            raise ValueError(f"indices must have shape (n_resamples, {n}); got {indices.shape}")
        if indices.dtype.kind not in "iu" or indices.min() < 0 or indices.max() >= n:
            raise ValueError(f"indices must be integers in 0..{n - 1}")
        n_resamples = indices.shape[0]
        blocks = (
            indices[start : start + RESAMPLE_BLOCK]
            for start in range(0, n_resamples, RESAMPLE_BLOCK)
        )
        used_seed = None
    delta_accuracy, delta_f1 = _bootstrap_deltas(labels, base, other, num_classes, blocks)
    return BootstrapResult(
        delta_accuracy=delta_accuracy,
        delta_macro_f1=delta_f1,
        accuracy_ci=_percentile_interval(delta_accuracy, confidence),
        macro_f1_ci=_percentile_interval(delta_f1, confidence),
        confidence=float(confidence),
        n_resamples=int(n_resamples),
        seed=used_seed,
    )


def _bootstrap_deltas(
    labels: np.ndarray,
    base: np.ndarray,
    other: np.ndarray,
    num_classes: int,
    blocks: Iterator[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    runs, n = base.shape
    k = num_classes
    predictions = np.stack([base, other])  # (2, runs, n)
    # Σ_runs (other correct − baseline correct) per image: Δaccuracy = counts · d / (n·runs).
    correct = predictions == labels
    d = (correct[1].sum(axis=0, dtype=np.int64) - correct[0].sum(axis=0, dtype=np.int64)).astype(
        np.float64
    )
    # Table: [true class (K) | predicted (2·runs·K) | true positive (2·runs·K) | d (1)].
    truth = np.eye(k, dtype=np.float64)[labels]  # (n, K)
    predicted = np.eye(k, dtype=np.float64)[predictions]  # (2, runs, n, K)
    hits = predicted * truth
    table = np.concatenate(
        [truth, _columns(predicted), _columns(hits), d[:, None]], axis=1
    )  # (n, K + 4·runs·K + 1)
    # Every product and partial sum below is an integer of magnitude ≤ n·runs, so float32
    # (twice as fast) is exact while n·runs < 2**24; float64 beyond.
    dtype = np.float32 if n * runs < 2**24 else np.float64
    table = table.astype(dtype)
    acc_parts, f1_parts = [], []
    for block in blocks:
        rows = block.shape[0]
        flat = (block + (np.arange(rows, dtype=np.int64) * n)[:, None]).ravel()
        counts = np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(dtype)
        sums = (counts @ table).astype(np.float64)
        support = sums[:, :k]
        pred = sums[:, k : k + 2 * runs * k].reshape(rows, 2, runs, k)
        tp = sums[:, k + 2 * runs * k : -1].reshape(rows, 2, runs, k)
        f1 = _macro_f1(tp, support[:, None, None, :], pred)  # (rows, 2, runs)
        acc_parts.append(sums[:, -1] / (n * runs))
        f1_parts.append((f1[:, 1] - f1[:, 0]).mean(axis=1))
    return np.concatenate(acc_parts), np.concatenate(f1_parts)


def _columns(onehot: np.ndarray) -> np.ndarray:
    """(2, runs, n, K) → (n, 2·runs·K), space-major then run then class."""
    spaces, runs, n, k = onehot.shape
    return onehot.transpose(2, 0, 1, 3).reshape(n, spaces * runs * k)


def _macro_f1(tp: np.ndarray, support: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Macro F1 over the last (class) axis: 2·TP / (support + predicted), 0 if that is 0."""
    denominator = support + predicted
    f1 = np.divide(
        2 * tp,
        denominator,
        out=np.zeros(np.broadcast(tp, denominator).shape),
        where=denominator > 0,
    )
    return f1.mean(axis=-1)


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


# ---------------------------------------------------------------------- the comparison


@dataclass(frozen=True)
class PairedComparison:
    """Paired comparison of an *other* space against a *baseline* space (SPEC §8).

    Every Δ is other − baseline, as a fraction (×100 for percentage points).

    Attributes
    ----------
    baseline, other : str
        Names of the spaces.
    runs : tuple of str
        Names of the paired runs (fold × seed), in order.
    n_test : int
        Test images per run (the same images for every run and both spaces).
    num_classes : int
    baseline_accuracy, other_accuracy : tuple of float
        Per-run accuracies.
    delta_accuracy, delta_macro_f1 : tuple of float
        Per-run Δaccuracy and Δmacro F1.
    mean_delta_accuracy, mean_delta_macro_f1 : float
        Means of the per-run Δs (the observed estimates).
    accuracy_ci, macro_f1_ci : tuple of float
        Paired percentile bootstrap interval (low, high), see :func:`paired_bootstrap`.
    mcnemar_b, mcnemar_c : tuple of int
        Per run: images the baseline got right and the other wrong (b), and the reverse
        (c).
    mcnemar_p : tuple of float
        Per-run exact McNemar p-values.
    pooled_b, pooled_c : int
        b and c summed over runs (all runs test the same images).
    pooled_p : float
        Exact McNemar p-value of the pooled b and c.
    ttest_p, wilcoxon_p : float or None
        Two-sided p-values over the runs' accuracies (``scipy.stats.ttest_rel`` and
        ``scipy.stats.wilcoxon``); None with fewer than :data:`MIN_RUNS_OVER_RUNS` runs.
        Both are 1 when every run's Δ is 0; the t-test's p is 0 when every run has the
        same nonzero Δ (zero variance, infinite t — the sentence says so).
    alpha, confidence : float
        Significance level of :meth:`verdict` and coverage of the intervals.
    n_resamples, seed : int
        Bootstrap resamples and their seed.
    """

    baseline: str
    other: str
    runs: tuple[str, ...]
    n_test: int
    num_classes: int
    baseline_accuracy: tuple[float, ...]
    other_accuracy: tuple[float, ...]
    delta_accuracy: tuple[float, ...]
    delta_macro_f1: tuple[float, ...]
    mean_delta_accuracy: float
    accuracy_ci: tuple[float, float]
    mean_delta_macro_f1: float
    macro_f1_ci: tuple[float, float]
    mcnemar_b: tuple[int, ...]
    mcnemar_c: tuple[int, ...]
    mcnemar_p: tuple[float, ...]
    pooled_b: int
    pooled_c: int
    pooled_p: float
    ttest_p: float | None
    wilcoxon_p: float | None
    alpha: float
    confidence: float
    n_resamples: int
    seed: int

    @property
    def n_runs(self) -> int:
        """Number of paired runs."""
        return len(self.runs)

    def verdict(self, metric: Metric = "accuracy") -> Verdict:
        """What the data say at level ``alpha``.

        Accuracy: ``"higher"``/``"lower"`` when the bootstrap CI excludes 0 *and* the
        pooled McNemar p < alpha (direction from the side of 0 the CI lies on);
        ``"none"`` when the CI includes 0 and p ≥ alpha; ``"inconclusive"`` otherwise.
        Macro F1 (no McNemar analogue): ``"higher"``/``"lower"`` when its CI excludes 0,
        else ``"none"``.
        """
        _check_metric(metric)
        low, high = self.accuracy_ci if metric == "accuracy" else self.macro_f1_ci
        side: Verdict = "higher" if low > 0 else "lower" if high < 0 else "none"
        if metric == "macro_f1":
            return side
        significant = self.pooled_p < self.alpha
        if side == "none":
            return "inconclusive" if significant else "none"
        return side if significant else "inconclusive"

    def sentence(self, metric: Metric = "accuracy") -> str:
        """One plain sentence summarising the comparison, e.g.

        "raw_packed − rgb: +0.27 points, 95 % CI [−0.41, +0.95], McNemar p = 0.52
        (pooled over 5 runs): no evidence of a difference at α = 0.05; over the 5 runs,
        paired t-test p = 0.41, Wilcoxon p = 0.44."

        Points are percentage points of ``metric`` (other − baseline).
        """
        verdict = self.verdict(metric)
        conf = f"{self.confidence * 100:g} %"
        low, high = self.accuracy_ci if metric == "accuracy" else self.macro_f1_ci
        mean = self.mean_delta_accuracy if metric == "accuracy" else self.mean_delta_macro_f1
        head = f"{self.other} − {self.baseline}"
        runs = "1 run" if self.n_runs == 1 else f"{self.n_runs} runs"
        level = f"at α = {self.alpha:g}"
        ci = f"{conf} CI [{_points(low)}, {_points(high)}]"
        if metric == "macro_f1":
            higher, lower = "has a higher macro F1 than", "has a lower macro F1 than"
            text = f"{head} macro F1: {_points(mean)} points, {ci} (mean over {runs}): "
        else:
            higher, lower = "is more accurate than", "is less accurate than"
            pooled = "1 run" if self.n_runs == 1 else f"pooled over {runs}"
            text = (
                f"{head}: {_points(mean)} points, {ci}, "
                f"McNemar p = {_format_p(self.pooled_p)} ({pooled}): "
            )
        if verdict == "higher":
            text += f"evidence that {self.other} {higher} {self.baseline} {level}"
        elif verdict == "lower":
            text += f"evidence that {self.other} {lower} {self.baseline} {level}"
        elif verdict == "none":
            text += f"no evidence of a difference {level}"
        elif low > 0 or high < 0:
            text += f"inconclusive {level} (the CI excludes 0 but McNemar p ≥ {self.alpha:g})"
        else:
            text += f"inconclusive {level} (McNemar p < {self.alpha:g} but the CI includes 0)"
        if metric == "accuracy":
            text += "; " + self._over_runs()
        return text + "."

    def _over_runs(self) -> str:
        if self.ttest_p is None or self.wilcoxon_p is None:
            return (
                f"no t-test or Wilcoxon test over runs ({self.n_runs} "
                f"run{'' if self.n_runs == 1 else 's'}, at least {MIN_RUNS_OVER_RUNS} needed)"
            )
        ttest = _format_p(self.ttest_p)
        counts = {round(d * self.n_test) for d in self.delta_accuracy}
        if self.ttest_p == 0 and len(counts) == 1:
            ttest += " (every run has the same difference)"
        return (
            f"over the {self.n_runs} runs, paired t-test p = {ttest}, "
            f"Wilcoxon p = {_format_p(self.wilcoxon_p)}"
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary (plain lists, floats, ints, None and strings), including
        the two sentences and verdicts; inverse of :meth:`from_dict`."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        out["convention"] = f"{self.other} − {self.baseline} (fractions; ×100 for points)"
        for metric in ("accuracy", "macro_f1"):
            out[f"verdict_{metric}"] = self.verdict(metric)
            out[f"sentence_{metric}"] = self.sentence(metric)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> PairedComparison:
        """Rebuild from :meth:`to_dict`'s output (extra keys are ignored)."""
        values = {}
        for name, spec in cls.__dataclass_fields__.items():
            value = data[name]
            values[name] = tuple(value) if str(spec.type).startswith("tuple") else value
        return cls(**values)


def compare_paired(
    labels: np.ndarray,
    baseline_probabilities: np.ndarray | Sequence[np.ndarray],
    other_probabilities: np.ndarray | Sequence[np.ndarray],
    *,
    names: tuple[str, str],
    run_names: Sequence[str] | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> PairedComparison:
    """Compare an other space against a baseline space on paired runs (SPEC §8).

    Parameters
    ----------
    labels : ndarray
        (n,) integer true classes in 0..K−1, the same for every run; or (runs, n) whose
        rows must all be identical (same test images in the same order).
    baseline_probabilities, other_probabilities : ndarray or sequence of ndarray
        (runs, n, K) stacked, or a sequence of one (n, K) array per run, or a single
        (n, K) array for one run; class probabilities (predictions are the argmax).
        Run r of both is the same fold × seed.
    names : tuple of str
        (baseline name, other name), e.g. ``("rgb", "raw_packed")``.
    run_names : sequence of str, optional
        One name per run; default ``"run 0"``, ``"run 1"``, ….
    n_resamples, seed : int, optional
        Bootstrap resamples and seed (see :func:`paired_bootstrap`).
    alpha : float, optional
        Significance level of the verdict and sentence.
    confidence : float, optional
        Coverage of the bootstrap intervals.

    Returns
    -------
    PairedComparison

    Raises
    ------
    ValueError
        If shapes, labels or options do not fit, naming the argument and what it got.
    """
    if (
        not isinstance(names, (tuple, list))
        or len(names) != 2
        or not all(isinstance(s, str) and s for s in names)
    ):
        raise ValueError(f"names must be (baseline name, other name), two strings; got {names!r}")
    base_p = _probabilities(baseline_probabilities, "baseline_probabilities")
    other_p = _probabilities(other_probabilities, "other_probabilities")
    if other_p.shape != base_p.shape:
        raise ValueError(
            "other_probabilities must have the shape of baseline_probabilities "
            f"(runs, n, K) = {base_p.shape}; got {other_p.shape}"
        )
    runs, n, k = base_p.shape
    labels = _run_labels(labels, runs, n, k)
    if run_names is None:
        run_names = tuple(f"run {r}" for r in range(runs))
    else:
        run_names = tuple(run_names)
        if len(run_names) != runs or not all(isinstance(s, str) for s in run_names):
            raise ValueError(
                f"run_names must be {runs} strings, one per run; got {list(run_names)!r}"
            )
    _check_fraction(alpha, "alpha")
    base = base_p.argmax(axis=2)
    other = other_p.argmax(axis=2)

    correct_base, correct_other = base == labels, other == labels
    count_base = correct_base.sum(axis=1)
    count_other = correct_other.sum(axis=1)
    base_acc = count_base / n
    other_acc = count_other / n
    exact_delta = (count_other - count_base) / n  # equal counts → bit-identical Δs
    truth = np.eye(k, dtype=np.int64)[labels]
    support = truth.sum(axis=0)
    f1 = []
    for predictions in (base, other):
        onehot = np.eye(k, dtype=np.int64)[predictions]  # (runs, n, K)
        f1.append(_macro_f1((onehot * truth).sum(axis=1), support, onehot.sum(axis=1)))
    delta_f1 = f1[1] - f1[0]

    tests = [mcnemar_exact(correct_base[r], correct_other[r]) for r in range(runs)]
    pooled_b = sum(t[0] for t in tests)
    pooled_c = sum(t[1] for t in tests)
    ttest_p, wilcoxon_p = _over_runs(base_acc, other_acc, exact_delta)
    boot = paired_bootstrap(
        labels,
        base,
        other,
        num_classes=k,
        n_resamples=n_resamples,
        seed=seed,
        confidence=confidence,
    )
    return PairedComparison(
        baseline=names[0],
        other=names[1],
        runs=run_names,
        n_test=n,
        num_classes=k,
        baseline_accuracy=tuple(float(x) for x in base_acc),
        other_accuracy=tuple(float(x) for x in other_acc),
        delta_accuracy=tuple(float(x) for x in other_acc - base_acc),
        delta_macro_f1=tuple(float(x) for x in delta_f1),
        mean_delta_accuracy=float(np.mean(other_acc - base_acc)),
        accuracy_ci=boot.accuracy_ci,
        mean_delta_macro_f1=float(np.mean(delta_f1)),
        macro_f1_ci=boot.macro_f1_ci,
        mcnemar_b=tuple(t[0] for t in tests),
        mcnemar_c=tuple(t[1] for t in tests),
        mcnemar_p=tuple(t[2] for t in tests),
        pooled_b=pooled_b,
        pooled_c=pooled_c,
        pooled_p=_mcnemar_p(pooled_b, pooled_c),
        ttest_p=ttest_p,
        wilcoxon_p=wilcoxon_p,
        alpha=float(alpha),
        confidence=float(confidence),
        n_resamples=int(n_resamples),
        seed=int(seed),
    )


def _over_runs(
    base_acc: np.ndarray, other_acc: np.ndarray, exact_delta: np.ndarray
) -> tuple[float | None, float | None]:
    """Two-sided paired t-test and Wilcoxon signed-rank p over runs, or None if too few.

    All Δs zero → both 1 (scipy would give NaN or raise). The t-test is
    ``ttest_rel(other_acc, base_acc)``; with equal nonzero Δs in every run its statistic
    is infinite and p = 0, as scipy reports. Wilcoxon (defaults: zero Δs dropped,
    exact or normal approximation as scipy chooses) runs on ``exact_delta`` —
    ``(correct_other − correct_base) / n`` — the same numbers as other − baseline
    accuracy but with equal count differences bit-identical, so ties are seen as ties.
    """
    if exact_delta.size < MIN_RUNS_OVER_RUNS:
        return None, None
    if not exact_delta.any():
        return 1.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ttest = float(scipy_stats.ttest_rel(other_acc, base_acc).pvalue)
        wilcoxon = float(scipy_stats.wilcoxon(exact_delta).pvalue)
    return ttest, wilcoxon


# ------------------------------------------------------------------------- validation


def _probabilities(value: np.ndarray | Sequence[np.ndarray], name: str) -> np.ndarray:
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


def _run_labels(value: np.ndarray, runs: int, n: int, k: int) -> np.ndarray:
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
    labels = _labels_1d(labels, "labels")
    if labels.size != n:
        raise ValueError(f"labels must have {n} entries, one per test image; got {labels.size}")
    if labels.max() >= k:
        raise ValueError(f"labels must lie in 0..{k - 1} (K = {k}); got {labels.max()}")
    return labels


def _labels_1d(value: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be a non-empty 1-D integer array; got {array.dtype} {array.shape}"
        )
    if array.min() < 0:
        raise ValueError(f"{name} must be non-negative class indices; got {array.min()}")
    return array.astype(np.int64)


def _predictions(value: np.ndarray, name: str, n: int) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != n:
        raise ValueError(f"{name} must be (runs, {n}) or ({n},); got {np.shape(value)}")
    if array.dtype.kind not in "iu" or array.min() < 0:
        raise ValueError(f"{name} must be non-negative integer classes; got dtype {array.dtype}")
    return array.astype(np.int64)


def _check_int(value: object, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer ≥ {minimum}; got {value!r}")


def _check_fraction(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {value!r}")


def _check_metric(metric: object) -> None:
    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric must be 'accuracy' or 'macro_f1'; got {metric!r}")


# -------------------------------------------------------------------------- formatting


def _points(fraction: float) -> str:
    """Signed percentage points with two decimals and a true minus sign: +0.27, −0.41."""
    value = round(fraction * 100, 2)
    if value == 0:
        return "0.00"
    return f"{'+' if value > 0 else '−'}{abs(value):.2f}"


def _format_p(p: float) -> str:
    """1, 0.52, 0.0496, 1.2e-14, 0 (three significant digits near the usual levels)."""
    if p == 1 or p == 0:
        return f"{p:g}"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.2g}" if p >= 0.1 else f"{p:.3g}"
