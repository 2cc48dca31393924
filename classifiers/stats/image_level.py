"""A test with the test image as the unit: sign-flip permutation over images.

Every run tests the same images, so summing McNemar's discordant counts over runs counts
each image once per run and is anti-conservative. Here each image contributes one number,
its correctness difference summed over runs, s_i = Σ_r (other_ri − baseline_ri); under
"no difference" the sign of each s_i is exchangeable, so flipping signs at random gives
the null distribution of T = Σ_i s_i.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from ._checks import check_int, table
from .resample import RESAMPLE_BLOCK

__all__ = ["SignFlipTest", "sign_flip_test"]


@dataclass(frozen=True)
class SignFlipTest:
    """Result of :func:`sign_flip_test`.

    Attributes
    ----------
    statistic : float
        T = Σ_i s_i (for 0/1 correctness: other's correct count minus baseline's, summed
        over runs).
    p_value : float
        Two-sided Monte-Carlo p-value (1 + #{|T*| ≥ |T|}) / (1 + B); 1 when every s_i is 0.
    n_images : int
        Images with s_i ≠ 0 (the only ones whose sign can flip).
    n_resamples, seed : int

    Examples
    --------
    >>> result = SignFlipTest(statistic=3.0, p_value=0.25, n_images=3, n_resamples=99, seed=0)
    >>> SignFlipTest.from_dict(result.to_dict()) == result
    True
    """

    statistic: float
    p_value: float
    n_images: int
    n_resamples: int
    seed: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary; inverse of :meth:`from_dict`."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SignFlipTest:
        """Rebuild from :meth:`to_dict`'s output (extra keys are ignored)."""
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})  # type: ignore[arg-type]


def sign_flip_test(
    correct_baseline: np.ndarray,
    correct_other: np.ndarray,
    *,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> SignFlipTest:
    """Sign-flip permutation test of "no difference" with the test image as the unit.

    The signs are drawn exactly as, per block of :data:`~classifiers.stats.RESAMPLE_BLOCK`
    rows (the last smaller)::

        rng = np.random.default_rng(seed)                   # once
        signs = 2 * rng.integers(0, 2, size=(rows, n)) - 1  # ±1 per image
        flipped = signs @ s                                 # T* of each resample

    and p = (1 + #{|T*| ≥ |T|}) / (1 + n_resamples) (|T*| ≥ |T| − 1e-9 for float sums).

    Parameters
    ----------
    correct_baseline, correct_other : ndarray
        (R, n) or (n,) bool or numbers in [0, 1] (e.g. a mean over cameras): per-image
        correctness of paired runs on the same test images.
    n_resamples : int, optional
        Sign-flip resamples, ≥ 1.
    seed : int, optional
        Non-negative seed.

    Returns
    -------
    SignFlipTest

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1, 1, 0, 1], [1, 0, 1, 1]])
    >>> sign_flip_test(a, a, n_resamples=99).p_value
    1.0
    >>> b = np.ones((2, 4), int)
    >>> sign_flip_test(a, b, n_resamples=99).statistic
    2.0
    """
    base = table(np.atleast_2d(correct_baseline), "correct_baseline")
    other = table(np.atleast_2d(correct_other), "correct_other")
    if base.ndim != 2 or base.shape != other.shape:
        raise ValueError(
            "correct_baseline and correct_other must both be (runs, n) of one shape; got "
            f"{base.shape} and {other.shape}"
        )
    check_int(n_resamples, "n_resamples", minimum=1)
    check_int(seed, "seed", minimum=0)
    per_image = (other - base).sum(axis=0)
    statistic = float(per_image.sum())
    n = per_image.size
    rng = np.random.default_rng(seed)
    reached = 0
    for start in range(0, n_resamples, RESAMPLE_BLOCK):
        rows = min(RESAMPLE_BLOCK, n_resamples - start)
        signs = 2.0 * rng.integers(0, 2, size=(rows, n)) - 1.0
        reached += int(np.count_nonzero(np.abs(signs @ per_image) >= abs(statistic) - 1e-9))
    return SignFlipTest(
        statistic=statistic,
        p_value=(1 + reached) / (1 + n_resamples),
        n_images=int(np.count_nonzero(per_image)),
        n_resamples=int(n_resamples),
        seed=int(seed),
    )
