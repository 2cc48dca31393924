"""Sensor noise model of Brooks et al.: heteroscedastic Gaussian shot and read noise.

A raw value ``x`` in [0, 1] becomes ``x + N(0, sqrt(x * shot + read))``; ``shot``
and ``read`` are variances per unit signal and at zero signal.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["NoiseLevels", "resolve_noise", "sample_noise_levels"]

NoiseLevels = tuple[float, float]

_LOG_SHOT_RANGE = (math.log(1e-4), math.log(0.012))


def sample_noise_levels(rng: np.random.Generator) -> NoiseLevels:
    """Draw ``(shot, read)`` as Brooks et al. do (natural logarithms).

    ``log_shot ~ U(ln 1e-4, ln 0.012)``; ``log_read = 2.18 log_shot + 1.20 + N(0, 0.26)``.
    """
    log_shot = rng.uniform(*_LOG_SHOT_RANGE)
    log_read = 2.18 * log_shot + 1.20 + rng.normal(0.0, 0.26)
    return float(math.exp(log_shot)), float(math.exp(log_read))


def resolve_noise(noise: Any, rng: np.random.Generator) -> NoiseLevels | None:
    """Turn the ``noise`` argument of :func:`rawspace.invert` into levels.

    Parameters
    ----------
    noise : None, "brooks" or (shot, read)
        No noise, levels drawn with :func:`sample_noise_levels`, or explicit
        non-negative finite variances.
    rng : numpy.random.Generator
        Used for ``"brooks"``.
    """
    if noise is None:
        return None
    if isinstance(noise, str):
        if noise != "brooks":
            raise ValueError(f"noise must be None, 'brooks' or (shot, read), got {noise!r}")
        return sample_noise_levels(rng)
    try:
        shot, read = (float(v) for v in noise)
    except (TypeError, ValueError):
        raise ValueError(f"noise must be None, 'brooks' or (shot, read), got {noise!r}") from None
    if not (math.isfinite(shot) and math.isfinite(read)) or shot < 0 or read < 0:
        raise ValueError(f"noise levels must be finite and >= 0, got (shot, read) = {noise!r}")
    return shot, read
