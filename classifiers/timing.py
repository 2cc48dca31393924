"""The pure model time of a run: forward + backward passes on pre-made batches.

A training epoch's wall time includes reading, converting and augmenting the samples;
:func:`time_model` measures what the model alone costs on the same batches, so that an
epoch record can say how much the data path adds.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from .data import Samples, batch_rows
from .distributed import Group
from .runtime import Runtime
from .spaces import InputPipeline

__all__ = ["time_model"]


def time_model(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    rows: np.ndarray,
    *,
    batch_size: int,
    batches: int,
    seed: int,
    run: Runtime,
    loss_fn: nn.Module,
    group: Group | None = None,
) -> float:
    """Seconds of one forward + backward pass, averaged over pre-made training batches.

    The batches are the first ``batches`` full batches of ``rows`` in the order seeded by
    ``seed``, prepared before the clock starts; one extra pass warms up. Buffers
    (BatchNorm statistics) are restored and gradients cleared afterwards, so training is
    unchanged.

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
    >>> seconds = time_model(net, samples, pipeline, reader.train.rows, batch_size=2,
    ...                      batches=2, seed=0, run=Runtime.of(cpu),
    ...                      loss_fn=nn.CrossEntropyLoss())
    >>> seconds > 0, float(net[1].running_mean.abs().sum())  # statistics restored
    (True, 0.0)
    """
    group = group or Group()
    order = batch_rows(rows, batch_size=batch_size, shuffle=True, seed=seed, drop_last=True)
    generator = torch.Generator(device=run.device).manual_seed(seed)
    parts = [group.part(b) for b in order[: batches + 1]]
    inputs = [
        (run.prepare(pipeline(stored, train=True, generator=generator, rows=part)), labels)
        for part, (stored, labels) in zip(parts, samples.batches(parts), strict=True)
    ]
    saved = {name: b.detach().clone() for name, b in model.named_buffers()}
    model.train()

    def step(x: torch.Tensor, labels: torch.Tensor) -> None:
        with run.autocast():
            logits = model(x)
        loss_fn(logits.float(), labels).backward()

    try:
        step(*inputs[0])  # warm-up
        timed = inputs[1:] or inputs
        run.sync()
        start = time.perf_counter()
        for x, labels in timed:
            step(x, labels)
        run.sync()
        return (time.perf_counter() - start) / len(timed)
    finally:
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(saved[name])
        model.zero_grad(set_to_none=True)
