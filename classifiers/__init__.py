"""classifiers: the torch add-on of rawspace — models, input spaces, training, metrics,
cost and the RGB-vs-raw comparison grid (``rawspace compare``).

Needs the ``classify`` extra (torch, torchvision, timm, scikit-learn, scipy, matplotlib).
:class:`CacheDataset` is a plain torch ``Dataset`` over any view of a cache;
:func:`create` builds a model (torchvision's, ``timm:NAME``, DinoBloom); :func:`evaluate`
scores predictions; :func:`profile` measures a model's cost.

Imported before torch, it sizes the OpenMP, BLAS and Numba pools to the CPUs the process
may use and sets a passive OpenMP wait policy (:func:`rawspace.cpus.configure_threads`),
keeping what the user set.

Examples
--------
>>> import classifiers
>>> sorted(classifiers.__all__)
['CacheDataset', 'CostReport', 'Scores', 'create', 'evaluate', 'profile']
"""

import sys

if "torch" not in sys.modules:
    # Before torch starts its OpenMP pool: thread counts sized to the CPUs this process may
    # use and a passive wait policy, each unless the user set it.
    from rawspace.cpus import configure_threads

    configure_threads()

from .cost import CostReport, profile
from .dataset import CacheDataset
from .metrics import Scores, evaluate
from .models import create

__all__ = ["CacheDataset", "CostReport", "Scores", "create", "evaluate", "profile"]
