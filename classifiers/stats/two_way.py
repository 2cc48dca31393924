"""Two sources of variance: the runs × images ("pigeonhole") bootstrap and its interval.

A result has two sources of variance: training (runs = folds × seeds) and test sampling
(images, reused by every run). Each two-way resample draws R runs with replacement and,
independently, n test images with replacement (:func:`~classifiers.stats.two_way_indices`)
and computes the mean over the drawn runs and images; the same resample serves both
spaces of a comparison.

**The interval** (:data:`INTERVAL_RULE`, the words the report quotes). Let θ̂ be the
observed mean over runs and images, V* the variance of the B two-way resampled means,
Δ_r the per-run values and V_R = Σ_r (Δ_r − Δ̄)² / R² the runs-only bootstrap variance.
The bootstrap's run component is V_R, an (R − 1)/R underestimate of var(Δ_r)/R with R
runs, so V = V* + V_R / (R − 1) restores it. The share of the runs f = min(1, V_R · R /
((R − 1) · V)) sets Satterthwaite-like degrees of freedom ν = 1 / (f² / (R − 1) +
(1 − f)² / (n − 1)): the run part is known on R − 1 df, the image part on n − 1. The
interval is θ̂ ± t_ν · √V and p = 2 · P(T_ν > |θ̂| / √V), so the interval excludes 0
exactly when p < 1 − confidence. With one run, V = V* and ν = n − 1.

Assumptions: runs are exchangeable draws of the training randomness and test images
exchangeable draws from the test population; the mean is close to normal. The
two-way bootstrap counts the run × image interaction more than once, so the interval is
conservative when test sampling dominates. Runs on folds share training data, so their
spread understates a fresh training set's (the corrected t-test over runs addresses
that). Simulated (5 runs, 1,836 test images, 96.6 % accuracy, images correlated across
runs; ``tests/classifiers/test_stats_null.py``, 1,000 studies a setting): false positives
0.3 %, 1.5 % and 5.5 % at a run-to-run SD of the true difference of 0.4, 0.8 and 1.6
points (the plain percentile interval: 0.6 %, 1.9 % and 11.1 %), power 99.8 % at +2 points
and 84 % at +1.2 points with SD 0.4. Over other seeds and image correlations (2,000
studies): 0.6–0.8 %, 2.2–2.4 %, 3.9–4.2 %, and 4.2–4.4 % at 2.4 points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np
from scipy import stats as scipy_stats

from ._checks import check_fraction, check_int, paired_predictions, table
from .resample import class_columns, counts, macro_f1, two_way_blocks

__all__ = [
    "INTERVAL_RULE",
    "MIN_RUNS_POPULATION",
    "TwoWayBatch",
    "TwoWayInterval",
    "evidence",
    "two_way_difference",
    "two_way_macro_f1",
    "two_way_mean",
    "two_way_mean_batch",
    "two_way_means",
]

#: Fewest runs for a verdict about the spaces (fewer: about these trained models only).
MIN_RUNS_POPULATION = 3

#: The interval construction in one paragraph, for the report.
INTERVAL_RULE = (
    "Two-way bootstrap over runs and test images (Owen 2007): each resample draws runs "
    "and test images with replacement, the same resample for both spaces. The interval is "
    "the observed mean ± t_ν · SE, where SE² is the bootstrap variance with its run part "
    "corrected from (R − 1)/R² to 1/R of the runs' variance and ν Satterthwaite-like "
    "degrees of freedom (R − 1 for the run share, n − 1 for the image share). It assumes "
    "exchangeable runs and test images and a near-normal mean; it is conservative when "
    "test sampling dominates. Folds share training data, so the run spread may understate "
    "a fresh training set's."
)


@dataclass(frozen=True)
class TwoWayBatch:
    """Two-way intervals of S tables at once (every field (S,) float64).

    Attributes
    ----------
    estimate, low, high, se, df, p_value : ndarray
        θ̂, the interval, √V, ν and the two-sided p-value (see the module docstring).
    bootstrap_se, run_se : ndarray
        √V* (plain two-way bootstrap SD) and √(var(Δ_r)/R) (0 with one run).
    percentile_low, percentile_high : ndarray
        Plain percentile interval of the resampled means (a description).

    Examples
    --------
    >>> import numpy as np
    >>> two_way_mean_batch(np.ones((2, 3, 4)), n_resamples=10).estimate.tolist()
    [1.0, 1.0]
    """

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    se: np.ndarray
    df: np.ndarray
    p_value: np.ndarray
    bootstrap_se: np.ndarray
    run_se: np.ndarray
    percentile_low: np.ndarray
    percentile_high: np.ndarray


@dataclass(frozen=True)
class TwoWayInterval:
    """The two-way interval of one mean (fractions; ×100 for points).

    Attributes
    ----------
    estimate : float
        Observed mean over runs and test images.
    low, high : float
        The interval (module docstring); ``low ≤ estimate ≤ high``.
    se, df, p_value : float
        √V, ν and the two-sided p-value of "mean = 0".
    bootstrap_se, run_se : float
        Plain two-way bootstrap SD and the runs' standard error √(var(Δ_r)/R).
    percentile : tuple of float
        Plain two-way percentile interval (description only).
    n_runs, n_test, n_resamples, seed : int
    confidence : float
    stratified : bool
        Whether test images were resampled within classes.

    Examples
    --------
    >>> import numpy as np
    >>> interval = two_way_mean(np.ones((3, 4)), n_resamples=10)
    >>> TwoWayInterval.from_dict(interval.to_dict()) == interval
    True
    """

    estimate: float
    low: float
    high: float
    se: float
    df: float
    p_value: float
    bootstrap_se: float
    run_se: float
    percentile: tuple[float, float]
    n_runs: int
    n_test: int
    n_resamples: int
    seed: int
    confidence: float
    stratified: bool

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary; inverse of :meth:`from_dict`."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in fields(self)
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TwoWayInterval:
        """Rebuild from :meth:`to_dict`'s output (extra keys are ignored)."""
        values = {f.name: data[f.name] for f in fields(cls)}
        values["percentile"] = tuple(values["percentile"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def evidence(low: np.ndarray | float, high: np.ndarray | float, n_runs: int) -> np.ndarray:
    """The verdict rule: evidence of a difference when the interval excludes 0 and there
    are at least :data:`MIN_RUNS_POPULATION` runs.

    Examples
    --------
    >>> evidence([0.001, -0.01], [0.02, 0.01], 5).tolist()
    [True, False]
    >>> evidence(0.001, 0.02, 2).tolist()
    False
    """
    low_, high_ = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    return ((low_ > 0) | (high_ < 0)) & (n_runs >= MIN_RUNS_POPULATION)


def two_way_mean_batch(
    tables: np.ndarray,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> TwoWayBatch:
    """Two-way intervals of the means of S runs × images tables, one seeded resample set.

    Parameters
    ----------
    tables : ndarray
        (S, R, n) numeric: S tables of R runs × n test images (e.g. per-image correctness
        differences other − baseline, in {−1, 0, 1}).
    n_resamples, seed : int, optional
        Two-way resamples (≥ 1; the report uses ≥ 10,000) and their seed
        (:func:`~classifiers.stats.two_way_indices`, unstratified).
    confidence : float, optional
        Coverage, in (0, 1).

    Returns
    -------
    TwoWayBatch

    Examples
    --------
    >>> import numpy as np
    >>> batch = two_way_mean_batch(np.zeros((2, 3, 4)), n_resamples=50)
    >>> batch.low.tolist(), batch.p_value.tolist()
    ([0.0, 0.0], [1.0, 1.0])
    """
    values = table(tables, "tables")
    if values.ndim != 3:
        raise ValueError(f"tables must be (S, runs, n); got shape {values.shape}")
    check_int(n_resamples, "n_resamples", minimum=1)
    check_int(seed, "seed", minimum=0)
    check_fraction(confidence, "confidence")
    _, runs, n = values.shape
    exact = bool(np.all(values == np.round(values))) and np.abs(values).max() * n * runs < 2**24
    product = values.astype(np.float32 if exact else np.float64)
    parts = []
    for run_idx, image_idx in two_way_blocks(runs, np.zeros(n, np.int64), n_resamples, seed):
        image_counts = counts(image_idx, n, product.dtype.type)
        per_run = (product @ image_counts.T).astype(np.float64)  # (S, R, rows)
        parts.append(np.einsum("srb,br->sb", per_run, counts(run_idx, runs)) / (runs * n))
    return interval_from_resamples(
        values.mean(axis=(1, 2)), np.concatenate(parts, axis=1), values.mean(axis=2), n, confidence
    )


def interval_from_resamples(
    estimate: np.ndarray,
    resampled: np.ndarray,
    per_run: np.ndarray,
    n_test: int,
    confidence: float,
) -> TwoWayBatch:
    """The interval rule of the module docstring, vectorised over S.

    ``estimate`` (S,), ``resampled`` (S, B) two-way resampled means, ``per_run`` (S, R).
    """
    runs = per_run.shape[1]
    boot_var = resampled.var(axis=1, ddof=1) if resampled.shape[1] > 1 else 0 * estimate
    runs_var = ((per_run - per_run.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / runs**2
    if runs > 1:
        variance = boot_var + runs_var / (runs - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(variance > 0, runs_var * runs / (runs - 1) / variance, 0.0)
        share = np.clip(share, 0.0, 1.0)
        df = 1 / (share**2 / (runs - 1) + (1 - share) ** 2 / max(n_test - 1, 1))
    else:
        variance, df = boot_var, np.full(estimate.shape, float(max(n_test - 1, 1)))
    se = np.sqrt(variance)
    quantile = scipy_stats.t.ppf((1 + confidence) / 2, df)
    zero = se <= 1e-15 * np.maximum(1.0, np.abs(estimate))
    with np.errstate(invalid="ignore", divide="ignore"):
        tails = 2 * scipy_stats.t.sf(np.abs(estimate) / se, df)
    p = np.where(zero, np.where(estimate == 0, 1.0, 0.0), tails)
    half = np.where(zero, 0.0, quantile * se)
    tail = 100 * (1 - confidence) / 2
    pct_low, pct_high = np.percentile(resampled, [tail, 100 - tail], axis=1)
    return TwoWayBatch(
        estimate=estimate,
        low=estimate - half,
        high=estimate + half,
        se=np.where(zero, 0.0, se),
        df=df,
        p_value=p,
        bootstrap_se=np.sqrt(boot_var),
        run_se=np.sqrt(runs_var * runs / (runs - 1)) if runs > 1 else 0 * estimate,
        percentile_low=pct_low,
        percentile_high=pct_high,
    )


def two_way_means(
    tables: np.ndarray,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[TwoWayInterval, ...]:
    """Two-way intervals of several (R, n) tables under one and the same resample set.

    Parameters
    ----------
    tables : ndarray
        (S, R, n) numeric, e.g. ``np.stack([other − baseline, baseline, other])``.
    n_resamples, seed, confidence
        As in :func:`two_way_mean_batch`.

    Returns
    -------
    tuple of TwoWayInterval
        One per table, in order.

    Examples
    --------
    >>> import numpy as np
    >>> tables = np.stack([np.zeros((3, 4)), np.ones((3, 4))])
    >>> [t.estimate for t in two_way_means(tables, n_resamples=20)]
    [0.0, 1.0]
    """
    batch = two_way_mean_batch(tables, n_resamples=n_resamples, seed=seed, confidence=confidence)
    shape = np.shape(tables)[1:]
    return tuple(
        _single(batch, shape, n_resamples, seed, confidence, stratified=False, index=i)
        for i in range(batch.estimate.size)
    )


def two_way_mean(
    values: np.ndarray,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> TwoWayInterval:
    """Two-way interval of the mean of one runs × images table.

    Parameters
    ----------
    values : ndarray
        (R, n) numeric, e.g. per-image correctness (0/1) of R runs: a row's accuracy.
    n_resamples, seed, confidence
        As in :func:`two_way_mean_batch`.

    Returns
    -------
    TwoWayInterval

    Examples
    --------
    >>> import numpy as np
    >>> correct = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [1, 1, 1, 1]])
    >>> result = two_way_mean(correct, n_resamples=200)
    >>> round(result.estimate, 4), result.low < result.estimate < result.high
    (0.8333, True)
    """
    array = table(values, "values")
    if array.ndim != 2:
        raise ValueError(f"values must be (runs, n); got shape {array.shape}")
    batch = two_way_mean_batch(
        array[None], n_resamples=n_resamples, seed=seed, confidence=confidence
    )
    return _single(batch, array.shape, n_resamples, seed, confidence, stratified=False)


def two_way_difference(
    correct_baseline: np.ndarray,
    correct_other: np.ndarray,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> TwoWayInterval:
    """Two-way interval of Δaccuracy = other − baseline on paired runs.

    Parameters
    ----------
    correct_baseline, correct_other : ndarray
        (R, n) bool or numbers in [0, 1] (e.g. a mean over cameras): per-image
        correctness; row r of both is the same run, column i the same test image.
    n_resamples, seed, confidence
        As in :func:`two_way_mean_batch`; the same resample for both spaces.

    Returns
    -------
    TwoWayInterval

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1, 1, 0, 1], [1, 0, 1, 1], [1, 1, 1, 0]], bool)
    >>> result = two_way_difference(a, a, n_resamples=100)
    >>> result.estimate, result.low, result.high, result.p_value
    (0.0, 0.0, 0.0, 1.0)
    """
    base = table(correct_baseline, "correct_baseline")
    other = table(correct_other, "correct_other")
    if base.ndim != 2 or base.shape != other.shape:
        raise ValueError(
            "correct_baseline and correct_other must both be (runs, n) of one shape; got "
            f"{base.shape} and {other.shape}"
        )
    return two_way_mean(other - base, n_resamples=n_resamples, seed=seed, confidence=confidence)


def two_way_macro_f1(
    labels: np.ndarray,
    baseline_predictions: np.ndarray,
    other_predictions: np.ndarray,
    *,
    num_classes: int | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
) -> TwoWayInterval:
    """Two-way interval of Δmacro F1 = other − baseline, images resampled within classes.

    Each resample draws runs with replacement and, within each class, that class's test
    images with replacement (``two_way_indices(R, labels, ...)``), so every class keeps
    its test count and no class vanishes; Δ is the mean over the drawn runs of the run's
    macro-F1 difference on the drawn images. The interval rule is the module's, with the
    per-run Δmacro F1 on all test images as Δ_r.

    Parameters
    ----------
    labels : ndarray
        (n,) integer true classes in 0..K−1.
    baseline_predictions, other_predictions : ndarray
        (R, n) integer predicted classes; row r of both is the same run.
    num_classes : int, optional
        K; default one more than the largest label or prediction.
    n_resamples, seed, confidence
        As in :func:`two_way_mean_batch`.

    Returns
    -------
    TwoWayInterval

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1, 2])
    >>> same = np.stack([labels, labels, labels])
    >>> two_way_macro_f1(labels, same, same, n_resamples=50).high
    0.0
    """
    labels, base, other, k = paired_predictions(
        labels, baseline_predictions, other_predictions, num_classes
    )
    n = labels.size
    check_fraction(confidence, "confidence")
    runs = base.shape[0]
    truth = np.eye(k)[labels]  # (n, K)
    predicted = np.eye(k)[np.stack([base, other])]  # (2, R, n, K)
    columns = np.concatenate([truth, class_columns(predicted), class_columns(predicted * truth)], 1)
    full = _f1_delta(np.ones((1, n)) @ columns, k, runs)[0]  # (R,)
    parts = []
    for run_idx, image_idx in two_way_blocks(runs, labels, n_resamples, seed):
        delta = _f1_delta(counts(image_idx, n) @ columns, k, runs)  # (rows, R)
        parts.append((delta * counts(run_idx, runs)).sum(axis=1) / runs)
    batch = interval_from_resamples(
        np.array([full.mean()]), np.concatenate(parts)[None], full[None], n, confidence
    )
    return _single(batch, (runs, n), n_resamples, seed, confidence, stratified=True)


def _f1_delta(sums: np.ndarray, k: int, runs: int) -> np.ndarray:
    """Class-count sums (rows, K + 4·R·K) → (rows, R) other − baseline macro F1."""
    rows = sums.shape[0]
    support = sums[:, :k][:, None, None, :]
    pred = sums[:, k : k + 2 * runs * k].reshape(rows, 2, runs, k)
    tp = sums[:, k + 2 * runs * k :].reshape(rows, 2, runs, k)
    f1 = macro_f1(tp, support, pred)
    return f1[:, 1] - f1[:, 0]


def _single(
    batch: TwoWayBatch,
    shape: tuple[int, ...],
    n_resamples: int,
    seed: int,
    confidence: float,
    *,
    stratified: bool,
    index: int = 0,
) -> TwoWayInterval:
    i = index
    return TwoWayInterval(
        estimate=float(batch.estimate[i]),
        low=float(batch.low[i]),
        high=float(batch.high[i]),
        se=float(batch.se[i]),
        df=float(batch.df[i]),
        p_value=float(batch.p_value[i]),
        bootstrap_se=float(batch.bootstrap_se[i]),
        run_se=float(batch.run_se[i]),
        percentile=(float(batch.percentile_low[i]), float(batch.percentile_high[i])),
        n_runs=int(shape[0]),
        n_test=int(shape[1]),
        n_resamples=int(n_resamples),
        seed=int(seed),
        confidence=float(confidence),
        stratified=stratified,
    )
