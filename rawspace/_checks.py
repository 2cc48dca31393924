"""Argument checks shared by the public functions: clear errors naming the argument."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["check_array", "check_choice", "check_unit_range"]


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int,
    channels: int | None = None,
    finite: bool = False,
) -> np.ndarray:
    """Check that ``value`` is a real numeric ndarray of the expected shape.

    Parameters
    ----------
    name : str
        Argument name used in error messages.
    value : numpy.ndarray
        Array to check; it is returned as is (never copied or modified).
    ndim : int
        Required number of dimensions.
    channels : int, optional
        Required size of the last axis.
    finite : bool
        Reject NaN and infinities (only floats are scanned).
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(value).__name__}")
    if value.dtype == np.bool_ or not (
        np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
    ):
        raise TypeError(f"{name} must have an integer or float dtype, got {value.dtype}")
    if value.ndim != ndim:
        expected = {2: "(H, W)", 3: "(H, W, C)"}.get(ndim, f"{ndim} dimensions")
        raise ValueError(f"{name} must have shape {expected}, got shape {value.shape}")
    if channels is not None and value.shape[-1] != channels:
        raise ValueError(
            f"{name} must have {channels} channels in its last axis, got shape {value.shape}"
        )
    if finite and np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        raise ValueError(f"{name} contains {bad} NaN or infinite values")
    return value


def check_unit_range(name: str, value: np.ndarray) -> None:
    """For float arrays: raise ``ValueError`` unless every value is finite and in [0, 1]."""
    if not np.issubdtype(value.dtype, np.floating) or value.size == 0:
        return
    lo = float(np.min(value))
    hi = float(np.max(value))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        check_array(name, value, ndim=value.ndim, finite=True)
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} is a float image and must lie in [0, 1], got values in [{lo:.6g}, {hi:.6g}]"
        )
