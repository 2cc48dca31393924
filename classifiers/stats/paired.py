"""Computing a paired comparison of two input spaces: :func:`compare_paired` fills the
record :class:`~classifiers.stats.comparison.PairedComparison`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._checks import (
    check_fraction,
    check_int,
    check_names,
    check_run_names,
    probabilities,
    run_labels,
)
from .comparison import PairedComparison
from .image_level import sign_flip_test
from .intervals import row_record
from .mcnemar import mcnemar_exact
from .over_runs import corrected_ttest, wilcoxon_over_runs
from .power import non_inferior
from .resample import macro_f1
from .two_way import (
    MIN_RUNS_POPULATION,
    two_way_macro_f1,
    two_way_means,
)

__all__ = ["compare_paired"]


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
