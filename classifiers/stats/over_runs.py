"""Tests over runs: the Nadeau–Bengio corrected resampled t-test and a descriptive Wilcoxon.

Runs on folds share training data (and seeds on one fold share all of it), so their
differences are positively correlated and the plain paired t-test over runs is
anti-conservative. Nadeau & Bengio (2003) inflate the variance of the mean by
(1/J + n_test/n_train) in place of 1/J.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as scipy_stats

from ._checks import check_int

__all__ = ["MIN_RUNS_OVER_RUNS", "corrected_ttest", "wilcoxon_over_runs"]

#: Fewest runs for the Wilcoxon signed-rank test over runs (with 5 runs its exact
#: two-sided p cannot go below 2 / 2⁵ = 0.0625): a description, never the verdict.
MIN_RUNS_OVER_RUNS = 5


def corrected_ttest(
    differences: np.ndarray, *, n_train: int, n_test: int
) -> tuple[float, float, int] | None:
    """Nadeau–Bengio corrected resampled t-test of "mean difference = 0" over J runs.

    t = mean(d) / √((1/J + n_test/n_train) · s²), s² the sample variance (ddof 1) of
    the J per-run differences, on J − 1 degrees of freedom; two-sided p.

    Parameters
    ----------
    differences : ndarray
        (J,) per-run differences other − baseline, J ≥ 2.
    n_train, n_test : int
        Training and test images of one run (≥ 1).

    Returns
    -------
    (t, p, df) or None
        The statistic, its two-sided p-value and J − 1; ``(0.0, 1.0, J − 1)`` when every
        difference is 0. None when the runs all differ by the same nonzero amount: the
        run-to-run variance is then 0 and the test is undefined (no finite t, no p that
        means anything), which the report shows as a missing p rather than p = 0.

    Examples
    --------
    >>> import numpy as np
    >>> t, p, df = corrected_ttest(np.array([0.01, 0.02, 0.0, 0.015]), n_train=800, n_test=200)
    >>> round(t, 3), round(p, 3), df
    (1.863, 0.159, 3)
    >>> corrected_ttest(np.array([0.01, 0.01, 0.01]), n_train=800, n_test=200) is None
    True
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 1 or d.size < 2 or not np.isfinite(d).all():
        raise ValueError(f"differences must be ≥ 2 finite per-run values; got shape {d.shape}")
    check_int(n_train, "n_train", minimum=1)
    check_int(n_test, "n_test", minimum=1)
    j = d.size
    mean = float(d.mean())
    variance = float(d.var(ddof=1))
    if variance <= 1e-30 * max(1.0, mean * mean):
        return (0.0, 1.0, j - 1) if mean == 0 else None
    t = mean / math.sqrt((1 / j + n_test / n_train) * variance)
    return t, float(2 * scipy_stats.t.sf(abs(t), j - 1)), j - 1


def wilcoxon_over_runs(differences: np.ndarray) -> float | None:
    """Descriptive two-sided Wilcoxon signed-rank p over runs, or None with fewer than
    :data:`MIN_RUNS_OVER_RUNS` runs; 1 when every difference is 0.

    Pass differences that are bit-identical for equal count differences (e.g.
    ``(count_other − count_base) / n``) so ties are ranked as ties; scipy's defaults
    (zero differences dropped, exact or normal as it chooses).

    Examples
    --------
    >>> import numpy as np
    >>> wilcoxon_over_runs(np.array([3, 3, 3, 8, 10]) / 300) == 0.0625
    True
    >>> wilcoxon_over_runs(np.zeros(3)) is None
    True
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.size < MIN_RUNS_OVER_RUNS:
        return None
    if not d.any():
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(scipy_stats.wilcoxon(d).pvalue)
