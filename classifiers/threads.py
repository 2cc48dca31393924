"""The add-on's thread pools, sized before torch starts its own (imports no torch).

Importing :mod:`classifiers` imports this module first: when torch is not loaded yet,
:func:`rawspace.cpus.configure_threads` sizes the OpenMP, BLAS and Numba pools to the CPUs
this process may use and sets a passive OpenMP wait policy, keeping what the user set;
:data:`SETTINGS` remembers what it decided, so that a run can tell the user's
``OMP_NUM_THREADS`` from the one set here (:func:`user_set_threads`).
"""

from __future__ import annotations

import os
import sys

from rawspace.cpus import ThreadSettings, configure_threads

__all__ = ["SETTINGS", "user_set_threads"]

#: What ``configure_threads`` decided at import, or None when torch was already loaded.
SETTINGS: ThreadSettings | None = None if "torch" in sys.modules else configure_threads()


def user_set_threads() -> bool:
    """Whether the user chose torch's thread count (``OMP_NUM_THREADS`` set by them).

    Examples
    --------
    >>> isinstance(user_set_threads(), bool)
    True
    """
    if SETTINGS is not None:
        return "OMP_NUM_THREADS" in SETTINGS.kept
    return "OMP_NUM_THREADS" in os.environ
