"""classifiers: the torch add-on of rawspace — models, input spaces, training, metrics,
cost and the RGB-vs-raw comparison grid (``rawspace compare``).

Needs the ``classify`` extra (torch, torchvision, scikit-learn, scipy, matplotlib).
Modules: :mod:`~classifiers.models` (:func:`create`), :mod:`~classifiers.spaces`,
:mod:`~classifiers.augment`, :mod:`~classifiers.unprocess`, :mod:`~classifiers.data`,
:mod:`~classifiers.train`, :mod:`~classifiers.distributed`, :mod:`~classifiers.metrics`,
:mod:`~classifiers.stats`, :mod:`~classifiers.cost` (:func:`profile`),
:mod:`~classifiers.claims`, :mod:`~classifiers.compare`, :mod:`~classifiers.report`.
"""

from .cost import CostReport, profile
from .metrics import Scores, evaluate
from .models import create

__all__ = ["CostReport", "Scores", "create", "evaluate", "profile"]
