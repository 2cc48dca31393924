"""Sensor noise model of Brooks et al.: heteroscedastic Gaussian shot and read noise.

A raw value ``x`` in [0, 1] becomes ``x + N(0, sqrt(x * shot + read))``; ``shot``
and ``read`` are variances per unit signal and at zero signal. This is also the
model of a DNG's NoiseProfile (``S = shot``, ``O = read``), so a camera read from a
DNG with one (:attr:`rawspace.CameraParams.noise_profile`) gives its own levels.
The constants are those of :mod:`rawspace.spec`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .params import CameraParams
from .spec import LOG_READ_OFFSET, LOG_READ_SIGMA, LOG_READ_SLOPE, LOG_SHOT_RANGE

__all__ = ["NoiseLevels", "camera_noise_levels", "resolve_noise", "sample_noise_levels"]

NoiseLevels = tuple[float, float]

_CHOICES = "None, 'brooks' or (shot, read), or 'camera' (the camera's noise profile)"


def sample_noise_levels(rng: np.random.Generator) -> NoiseLevels:
    """Draw ``(shot, read)`` as Brooks et al. do (natural logarithms).

    ``log_shot ~ U(ln 1e-4, ln 0.012)``; ``log_read = 2.18 log_shot + 1.20 + N(0, 0.26)``.

    Examples
    --------
    >>> shot, read = sample_noise_levels(np.random.default_rng(0))
    >>> 1e-4 <= shot <= 0.012 and read > 0
    True
    """
    log_shot = rng.uniform(*LOG_SHOT_RANGE)
    log_read = LOG_READ_SLOPE * log_shot + LOG_READ_OFFSET + rng.normal(0.0, LOG_READ_SIGMA)
    return float(math.exp(log_shot)), float(math.exp(log_read))


def camera_noise_levels(params: CameraParams) -> NoiseLevels:
    """``(shot, read)`` of a camera's noise profile.

    The pipeline applies one pair to every colour plane; a profile with one pair per
    plane gives the mean of its ``S`` and of its ``O`` values.

    Raises
    ------
    ValueError
        The camera has no noise profile.

    Examples
    --------
    >>> camera = CameraParams.sample(0)
    >>> import dataclasses
    >>> camera = dataclasses.replace(camera, noise_profile=((2e-4, 1e-6),) * 3)
    >>> camera_noise_levels(camera)
    (0.0002, 1e-06)
    """
    if not isinstance(params, CameraParams):
        raise TypeError(f"params must be a CameraParams, got {type(params).__name__}")
    if params.noise_profile is None:
        raise ValueError(
            "noise='camera' needs a camera with a noise_profile (a DNG with a NoiseProfile "
            "tag read by rawspace.read_camera, or CameraParams(..., noise_profile=...)); "
            f"this camera has none: {params.name or 'unnamed camera'}"
        )
    pairs = np.array(params.noise_profile, dtype=np.float64)
    shot, read = pairs.mean(axis=0)
    return float(shot), float(read)


def resolve_noise(
    noise: Any, rng: np.random.Generator, params: CameraParams | None = None
) -> NoiseLevels | None:
    """Turn the ``noise`` argument of :func:`rawspace.invert` into levels.

    Parameters
    ----------
    noise : None, "brooks", "camera" or (shot, read)
        No noise, levels drawn with :func:`sample_noise_levels`, the camera's noise
        profile (:func:`camera_noise_levels`), or explicit non-negative finite variances.
    rng : numpy.random.Generator
        Used for ``"brooks"``.
    params : CameraParams, optional
        The camera; required for ``"camera"``.

    Examples
    --------
    >>> resolve_noise((1e-3, 1e-5), np.random.default_rng(0))
    (0.001, 1e-05)
    >>> resolve_noise(None, np.random.default_rng(0)) is None
    True
    """
    if noise is None:
        return None
    if isinstance(noise, str):
        if noise == "brooks":
            return sample_noise_levels(rng)
        if noise == "camera":
            if params is None:
                raise ValueError("noise='camera' needs the camera (params) to read its profile")
            return camera_noise_levels(params)
        raise ValueError(f"noise must be {_CHOICES}, got {noise!r}")
    try:
        shot, read = (float(v) for v in noise)
    except (TypeError, ValueError):
        raise ValueError(f"noise must be {_CHOICES}, got {noise!r}") from None
    if not (math.isfinite(shot) and math.isfinite(read)) or shot < 0 or read < 0:
        raise ValueError(f"noise levels must be finite and >= 0, got (shot, read) = {noise!r}")
    return shot, read
