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
