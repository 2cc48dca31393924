"""classifiers: the torch add-on of rawspace — models, input spaces, training, metrics,
cost and the RGB-vs-raw comparison grid (``rawspace compare``).

Needs the ``classify`` extra (torch, torchvision, timm, scikit-learn, scipy, matplotlib).
:class:`CacheDataset` is a plain torch ``Dataset`` over any view of a cache;
:func:`create` builds a model (torchvision's, ``timm:NAME``, DinoBloom); :func:`evaluate`
scores predictions; :func:`profile` measures a model's cost.

Examples
--------
>>> import classifiers
>>> sorted(classifiers.__all__)
['CacheDataset', 'CostReport', 'Scores', 'create', 'evaluate', 'profile']
"""

from .cost import CostReport, profile
from .dataset import CacheDataset
from .metrics import Scores, evaluate
from .models import create

__all__ = ["CacheDataset", "CostReport", "Scores", "create", "evaluate", "profile"]
