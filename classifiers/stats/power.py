"""Power and equivalence: what a comparison could have detected, and non-inferiority."""

from __future__ import annotations

from scipy import stats as scipy_stats

from ._checks import check_fraction

__all__ = ["minimum_detectable_difference", "non_inferior"]


def minimum_detectable_difference(se: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true difference a two-sided level-``alpha`` test detects with ``power``.

    (z₁₋α/₂ + z_power) · SE, with SE the two-way standard error of the difference
    (:attr:`~classifiers.stats.TwoWayInterval.se`); 2.8016 · SE at α = 0.05, 80 %.

    Parameters
    ----------
    se : float
        Standard error ≥ 0 (fraction).
    alpha, power : float, optional
        In (0, 1).

    Returns
    -------
    float
        The difference, in the unit of ``se``.

    Examples
    --------
    >>> round(minimum_detectable_difference(0.004), 5)
    0.01121
    """
    if not se >= 0:
        raise ValueError(f"se must be ≥ 0; got {se!r}")
    check_fraction(alpha, "alpha")
    check_fraction(power, "power")
    z = scipy_stats.norm.ppf
    return float((z(1 - alpha / 2) + z(power)) * se)


def non_inferior(low: float, margin_points: float) -> bool:
    """Non-inferiority of *other* against the baseline with margin M (points): the
    interval's lower end (a fraction) lies above −M / 100.

    Examples
    --------
    >>> non_inferior(-0.0041, 1.0), non_inferior(-0.012, 1.0)
    (True, False)
    """
    if not margin_points > 0:
        raise ValueError(f"margin_points must be > 0 percentage points; got {margin_points!r}")
    return bool(low > -margin_points / 100)
