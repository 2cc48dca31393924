"""Multiplicity: Holm's step-down adjustment over a family of comparisons.

One declared primary comparison per model is read as is; every other comparison of the
report is Holm-adjusted over the family of those others, and both p-values are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from .comparison import PairedComparison

__all__ = ["adjust_family", "holm"]


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (controls the family-wise error rate).

    With the m p-values sorted ascending p₍₁₎ ≤ … ≤ p₍ₘ₎, the adjusted value of p₍ᵢ₎ is
    ``min(1, max_{j ≤ i} (m − j + 1) · p₍ⱼ₎)``, returned in the input order (equal to
    ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``).

    Parameters
    ----------
    p_values : sequence of float
        (m,) p-values in [0, 1]; m may be 0.

    Returns
    -------
    ndarray
        (m,) float64 adjusted p-values.

    Examples
    --------
    >>> holm([0.018, 0.04, 0.3, 0.01]).round(3).tolist()
    [0.054, 0.08, 0.3, 0.04]
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"p_values must be a 1-D sequence in [0, 1]; got {p!r}")
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(scaled, 1.0)
    return adjusted


def adjust_family(
    comparisons: Sequence[PairedComparison],
    *,
    is_primary: Callable[[PairedComparison], bool],
) -> list[PairedComparison]:
    """Mark the primary comparisons and Holm-adjust all others over the family.

    Parameters
    ----------
    comparisons : sequence of PairedComparison
        Every comparison of the report (all models and caches): the family.
    is_primary : callable
        True for the declared primary comparison(s) (at most one per model is the
        convention; the function does not enforce it).

    Returns
    -------
    list of PairedComparison
        The same comparisons in order, with ``primary`` set, ``family_size`` the number
        of non-primary comparisons, and ``p_holm`` the Holm-adjusted two-way p-value of
        accuracy for each non-primary one (None for primaries). Their verdicts then read
        ``p_holm``.

    Examples
    --------
    >>> import numpy as np
    >>> from classifiers.stats import compare_paired
    >>> labels = np.array([0, 1, 0, 1])
    >>> p = np.eye(2)[np.array([[0, 1, 0, 1]] * 3)]
    >>> one = compare_paired(labels, p, p, names=("rgb", "raw"), n_resamples=20)
    >>> two = compare_paired(labels, p, p, names=("rgb", "raw_aug"), n_resamples=20)
    >>> out = adjust_family([one, two], is_primary=lambda c: c.other == "raw")
    >>> [(c.primary, c.p_holm, c.family_size) for c in out]
    [(True, None, 1), (False, 1.0, 1)]
    """
    flags = [bool(is_primary(c)) for c in comparisons]
    others = [c.p_value for c, primary in zip(comparisons, flags, strict=True) if not primary]
    adjusted = iter(holm(others).tolist())
    return [
        replace(
            c,
            primary=primary,
            p_holm=None if primary else next(adjusted),
            family_size=len(others),
        )
        for c, primary in zip(comparisons, flags, strict=True)
    ]
