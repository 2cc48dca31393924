"""Precise BatchNorm: running statistics recomputed over training samples before evaluation.

During training BatchNorm's running statistics are an exponential average over batches
computed with older weights, so they lag behind the weights evaluated. As pycls and
detectron2 do, :func:`recompute_batchnorm` resets them and averages them again over a
fixed set of training samples with the current weights, as the model sees them at
evaluation (no augmentation).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .data import Samples, batch_rows
from .distributed import Group
from .spaces import InputPipeline

__all__ = ["batchnorm_layers", "recompute_batchnorm"]


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``model`` that are in training mode (a frozen backbone's,
    kept in eval mode, are not).

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2), nn.BatchNorm1d(2))
    >>> len(batchnorm_layers(net.train())), len(batchnorm_layers(net.eval()))
    (2, 0)
    """
    return [
        m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training
    ]


def recompute_batchnorm(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    rows: np.ndarray,
    *,
    batch_size: int,
    group: Group | None = None,
) -> int:
    """Recompute the running statistics of ``model``'s trainable BatchNorm layers over
    ``rows`` (precise BatchNorm).

    The statistics are reset, then averaged over the full batches of ``rows`` (a last
    incomplete batch is left out unless it is the only one) as the model sees them at
    evaluation (no augmentation, float32), in training mode without gradients
    (``momentum=None``: a cumulative average). BatchNorm layers in eval mode (a frozen
    backbone) are left alone. With several processes each runs its part of each batch;
    on CUDA BatchNorm is synchronised, elsewhere the ranks' statistics are averaged.

    Parameters
    ----------
    model : torch.nn.Module
        Left in training mode.
    samples : ResidentSamples or StreamedSamples
        Holding every row of ``rows``.
    pipeline : InputPipeline
        Stored batch → model input.
    rows : numpy.ndarray
        Cache rows (shuffle them so that batches mix classes).
    batch_size : int
        The global batch.

    Returns
    -------
    int
        The number of BatchNorm layers recomputed (0 when ``rows`` is empty).

    Examples
    --------
    >>> import tempfile, pathlib, rawspace.cache
    >>> from rawspace.images import write_png
    >>> from classifiers import data, spaces
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for k in range(2):
    ...     (root / "cells" / f"c{k}").mkdir(parents=True)
    ...     for i in range(4):
    ...         _ = write_png(root / "cells" / f"c{k}" / f"{i}.png",
    ...                       np.full((16, 16, 3), 60 + 90 * k + i, np.uint8))
    >>> _ = rawspace.cache.build(root / "cells", root / "c.h5", size=16, folds=0,
    ...                          test_fraction=0.25)
    >>> reader = rawspace.cache.open(root / "c.h5")
    >>> cpu = torch.device("cpu")
    >>> samples = data.load(reader, spaces.get("rgb"), rows=reader.rows, device=cpu,
    ...                     input_size=None)
    >>> pipeline = spaces.InputPipeline(spaces.get("rgb"), spaces.RawFormat.of(reader),
    ...                                 spaces.Normalization.identity(3))
    >>> net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.BatchNorm2d(2), nn.AdaptiveAvgPool2d(1),
    ...                     nn.Flatten())
    >>> recompute_batchnorm(net, samples, pipeline, reader.train.rows, batch_size=6)
    1
    >>> int(net[1].num_batches_tracked)  # one full batch of the six training samples
    1
    """
    group = group or Group()
    model.train()
    layers = batchnorm_layers(model)
    if not layers or len(rows) == 0:
        return 0
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
    try:
        parts = [group.part(b) for b in batch_rows(rows, batch_size=batch_size, drop_last=True)]
        with torch.no_grad():
            for part, (stored, _) in zip(parts, samples.batches(parts), strict=True):
                model(pipeline(stored, train=False, rows=part))
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    synchronised = isinstance(layers[0], nn.SyncBatchNorm)
    if group.parallel and not synchronised:
        for layer in layers:
            for stat in (layer.running_mean, layer.running_var):
                if stat is not None:
                    stat.copy_(group.sum(stat.clone()) / group.world_size)
    return len(layers)
