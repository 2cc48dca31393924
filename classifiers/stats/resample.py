"""Resampling: the seeded draws of both bootstraps and the images-only paired bootstrap.

* :func:`bootstrap_indices` — test-image resamples of :func:`paired_bootstrap`.
* :func:`two_way_indices` — the runs × images ("pigeonhole") resamples of
  :mod:`classifiers.stats.two_way`: runs and test images drawn independently, with
  replacement, optionally within classes (stratified) so no class vanishes.
* :func:`paired_bootstrap` — the bootstrap over test images with the trained models held
  fixed: a statement about *these trained models*, kept as a description beside the
  two-way inference.

Macro F1 is the unweighted mean over all K classes of 2·TP / (2·TP + FP + FN), with 0
for a class that is neither present nor predicted (scikit-learn's ``f1_score(...,
labels=range(K), average="macro", zero_division=0)``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ._checks import check_fraction, check_int, paired_predictions

__all__ = [
    "RESAMPLE_BLOCK",
    "BootstrapResult",
    "bootstrap_indices",
    "paired_bootstrap",
    "two_way_indices",
]

#: Resamples drawn per call of the generator (see :func:`bootstrap_indices`).
RESAMPLE_BLOCK = 500


@dataclass(frozen=True)
class BootstrapResult:
    """Images-only paired bootstrap distribution of Δ = other − baseline over runs.

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

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1, 0, 1])
    >>> paired_bootstrap(labels, labels, labels, n_resamples=5).n_resamples
    5
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

    Examples
    --------
    >>> bootstrap_indices(3, n_resamples=2, seed=0).shape
    (2, 3)
    """
    check_int(n_test, "n_test", minimum=1)
    check_int(n_resamples, "n_resamples", minimum=1)
    check_int(seed, "seed", minimum=0)
    return np.concatenate(list(index_blocks(n_test, n_resamples, seed)))


def two_way_indices(
    n_runs: int,
    strata: np.ndarray,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The runs × images resamples of the two-way bootstrap for ``seed``.

    Exactly, for each block of :data:`RESAMPLE_BLOCK` resamples (the last smaller)::

        rng = np.random.default_rng(seed)          # once
        runs = rng.integers(0, n_runs, size=(rows, n_runs))
        for s in np.unique(strata):                # ascending
            where = np.flatnonzero(strata == s)
            images[:, where] = where[rng.integers(0, where.size, size=(rows, where.size))]

    so with one stratum (``strata`` all equal) the images are drawn from all n test
    images, and with ``strata = labels`` each class keeps its test count.

    Parameters
    ----------
    n_runs : int
        Runs R ≥ 1 (rows of the runs × images table).
    strata : ndarray
        (n,) integer stratum of each test image (zeros: unstratified; labels: stratified).
    n_resamples, seed : int, optional
        Number of resamples (≥ 1) and non-negative seed.

    Returns
    -------
    runs : ndarray
        (n_resamples, R) int64 drawn run indices.
    images : ndarray
        (n_resamples, n) int64 drawn image indices (image j of a resample stays in the
        stratum of image j).

    Examples
    --------
    >>> import numpy as np
    >>> runs, images = two_way_indices(2, np.array([0, 0, 1]), n_resamples=4, seed=1)
    >>> runs.shape, images.shape, bool((images[:, 2] == 2).all())
    ((4, 2), (4, 3), True)
    """
    blocks = list(two_way_blocks(n_runs, strata, n_resamples, seed))
    return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])


def two_way_blocks(
    n_runs: int, strata: np.ndarray, n_resamples: int, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Blocks of (run indices, image indices) as documented in :func:`two_way_indices`."""
    check_int(n_runs, "n_runs", minimum=1)
    check_int(n_resamples, "n_resamples", minimum=1)
    check_int(seed, "seed", minimum=0)
    strata = np.asarray(strata)
    if strata.ndim != 1 or strata.size == 0 or strata.dtype.kind not in "iu":
        raise ValueError(f"strata must be a non-empty 1-D integer array; got {strata.shape}")
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)]
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, RESAMPLE_BLOCK):
        rows = min(RESAMPLE_BLOCK, n_resamples - start)
        runs = rng.integers(0, n_runs, size=(rows, n_runs))
        if len(groups) == 1:  # where = 0..n−1: the same draws without the scatter
            yield runs, rng.integers(0, strata.size, size=(rows, strata.size))
            continue
        images = np.empty((rows, strata.size), dtype=np.int64)
        for where in groups:
            images[:, where] = where[rng.integers(0, where.size, size=(rows, where.size))]
        yield runs, images


def counts(indices: np.ndarray, size: int, dtype: type = np.float64) -> np.ndarray:
    """(rows, m) drawn indices in 0..size−1 → (rows, size) draw counts of ``dtype``."""
    rows = indices.shape[0]
    flat = (indices + (np.arange(rows, dtype=np.int64) * size)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * size).reshape(rows, size).astype(dtype)


def index_blocks(n_test: int, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
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
    """Images-only paired percentile bootstrap of Δaccuracy and Δmacro F1 (other − baseline).

    The trained models are held fixed, so the interval is about *these trained models*
    (test-sampling variance only); the verdict about the spaces reads the two-way
    interval of :func:`~classifiers.stats.two_way_difference`. Each resample draws n test
    images with replacement; the same images are used for both spaces and for every run,
    and Δ is the mean over runs of the run's other − baseline metric on the resample. The
    resamples are ``bootstrap_indices(n, n_resamples=n_resamples, seed=seed)`` unless
    ``indices`` is given; each block of resamples becomes per-image counts and the class
    counts of every run and space one matrix product with a one-hot table.

    Parameters
    ----------
    labels : ndarray
        (n,) integer true classes in 0..K−1.
    baseline_predictions, other_predictions : ndarray
        (runs, n) (or (n,) for one run) integer predicted classes in 0..K−1; row r of
        both is the same run (fold × seed).
    num_classes : int, optional
        K; default one more than the largest label or prediction.
    n_resamples, seed : int, optional
        Number of resamples (≥ 1) and their seed (see :func:`bootstrap_indices`).
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

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1, 0, 1])
    >>> result = paired_bootstrap(labels, labels, labels, n_resamples=20)
    >>> result.accuracy_ci
    (0.0, 0.0)
    """
    labels, base, other, num_classes = paired_predictions(
        labels, baseline_predictions, other_predictions, num_classes
    )
    n = labels.size
    check_fraction(confidence, "confidence")
    blocks, n_resamples, used_seed = _blocks(n, n_resamples, seed, indices)
    delta_accuracy, delta_f1 = _bootstrap_deltas(labels, base, other, num_classes, blocks)
    return BootstrapResult(
        delta_accuracy=delta_accuracy,
        delta_macro_f1=delta_f1,
        accuracy_ci=percentile_interval(delta_accuracy, confidence),
        macro_f1_ci=percentile_interval(delta_f1, confidence),
        confidence=float(confidence),
        n_resamples=int(n_resamples),
        seed=used_seed,
    )


def _blocks(
    n: int, n_resamples: int, seed: int, indices: np.ndarray | None
) -> tuple[Iterator[np.ndarray], int, int | None]:
    """Blocks of resamples (drawn for ``seed`` or cut from ``indices``), count and seed."""
    if indices is None:
        check_int(n_resamples, "n_resamples", minimum=1)
        check_int(seed, "seed", minimum=0)
        return index_blocks(n, n_resamples, seed), n_resamples, seed
    indices = np.asarray(indices)
    if indices.ndim != 2 or indices.shape[0] < 1 or indices.shape[1] != n:
        raise ValueError(f"indices must have shape (n_resamples, {n}); got {indices.shape}")
    if indices.dtype.kind not in "iu" or indices.min() < 0 or indices.max() >= n:
        raise ValueError(f"indices must be integers in 0..{n - 1}")
    rows = indices.shape[0]
    blocks = (indices[start : start + RESAMPLE_BLOCK] for start in range(0, rows, RESAMPLE_BLOCK))
    return blocks, rows, None


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
        [truth, class_columns(predicted), class_columns(hits), d[:, None]], axis=1
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
        f1 = macro_f1(tp, support[:, None, None, :], pred)  # (rows, 2, runs)
        acc_parts.append(sums[:, -1] / (n * runs))
        f1_parts.append((f1[:, 1] - f1[:, 0]).mean(axis=1))
    return np.concatenate(acc_parts), np.concatenate(f1_parts)


def class_columns(onehot: np.ndarray) -> np.ndarray:
    """(2, runs, n, K) → (n, 2·runs·K), space-major then run then class."""
    spaces, runs, n, k = onehot.shape
    return onehot.transpose(2, 0, 1, 3).reshape(n, spaces * runs * k)


def macro_f1(tp: np.ndarray, support: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Macro F1 over the last (class) axis: 2·TP / (support + predicted), 0 if that is 0."""
    denominator = support + predicted
    f1 = np.divide(
        2 * tp,
        denominator,
        out=np.zeros(np.broadcast(tp, denominator).shape),
        where=denominator > 0,
    )
    return f1.mean(axis=-1)


def percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """(low, high) percentiles ``100·(1 ∓ confidence)/2`` of ``values``."""
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
