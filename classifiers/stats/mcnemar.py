"""Exact McNemar test of two classifiers on the same images: a description of one run."""

from __future__ import annotations

import numpy as np
from scipy import stats as scipy_stats

from ._checks import correctness

__all__ = ["mcnemar_exact"]


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> tuple[int, int, float]:
    """Exact (binomial) McNemar test of two classifiers on the same images.

    It holds both trained models fixed, so it describes one run (one pair of trained
    models); summing b and c over runs that reuse the test images is not a valid test
    (see :func:`~classifiers.stats.sign_flip_test`).

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

    Examples
    --------
    >>> import numpy as np
    >>> b, c, p = mcnemar_exact(np.array([1, 1, 0, 1]), np.array([0, 1, 0, 1]))
    >>> b, c, round(p, 3)
    (1, 0, 1.0)
    """
    a = correctness(correct_a, "correct_a")
    b_ = correctness(correct_b, "correct_b")
    if a.shape != b_.shape:
        raise ValueError(
            f"correct_a and correct_b must have the same shape; got {a.shape} and {b_.shape}"
        )
    b = int(np.count_nonzero(a & ~b_))
    c = int(np.count_nonzero(~a & b_))
    return b, c, mcnemar_p(b, c)


def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value of discordant counts b and c (1 when b + c = 0)."""
    if b + c == 0:
        return 1.0
    return float(scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue)
