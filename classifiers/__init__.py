"""classifiers: the torch add-on of rawspace — models, input spaces, training, metrics,
cost and the RGB-vs-raw comparison grid (``rawspace compare``).

Needs the ``classify`` extra (torch, torchvision, timm, scikit-learn, scipy, matplotlib).
:class:`CacheDataset` is a plain torch ``Dataset`` over any view of a cache;
:func:`create` builds a model (torchvision's, ``timm:NAME``, DinoBloom); :func:`evaluate`
scores predictions; :func:`profile` measures a model's cost.

Imported before torch, it sizes the OpenMP, BLAS and Numba pools to the CPUs the process
may use and sets a passive OpenMP wait policy (:mod:`classifiers.threads`), keeping
what the user set.

Examples
--------
>>> import classifiers
>>> sorted(classifiers.__all__)
['CacheDataset', 'CostReport', 'Scores', 'create', 'evaluate', 'profile']
"""

import importlib
from typing import TYPE_CHECKING, Any

# First, before torch starts its OpenMP pool: thread counts sized to the CPUs this process
# may use and a passive wait policy, each unless the user set it.
from . import threads as _threads  # noqa: F401

if TYPE_CHECKING:
    from .cost import CostReport, profile
    from .dataset import CacheDataset
    from .metrics import Scores, evaluate
    from .models import create

__all__ = ["CacheDataset", "CostReport", "Scores", "create", "evaluate", "profile"]

# Imported on first use, so that ``import classifiers.commands`` (``rawspace compare
# --help``) loads neither torch nor h5py.
_HOMES = {
    "CacheDataset": "dataset",
    "CostReport": "cost",
    "Scores": "metrics",
    "create": "models",
    "evaluate": "metrics",
    "profile": "cost",
}


def __getattr__(name: str) -> Any:
    """The package's names, and its submodules (``classifiers.models``), on first use."""
    if name in _HOMES:
        return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    try:
        return importlib.import_module(f".{name}", __name__)
    except ModuleNotFoundError as error:
        if error.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module 'classifiers' has no attribute {name!r}") from None
