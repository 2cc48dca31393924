"""The two passes over data of a run: one training epoch, and one evaluation pass.

:func:`train_one_epoch` steps the optimiser and schedule once per batch (forward under
the run's autocast, float32 loss); :func:`evaluate` computes float32 logits in eval mode.
Both take batches as cache rows and split them over the processes of a
:class:`classifiers.distributed.Group`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .data import Samples, batch_rows
from .distributed import Group
from .runtime import Runtime
from .spaces import InputPipeline

__all__ = ["EpochTotals", "evaluate", "train_one_epoch"]


@dataclass(frozen=True)
class EpochTotals:
    """What one :func:`train_one_epoch` measured: mean loss and accuracy over the samples
    it trained on (all ranks), and its wall time in seconds.

    Examples
    --------
    >>> EpochTotals(loss=0.5, accuracy=0.75, seconds=1.5).accuracy
    0.75
    """

    loss: float
    accuracy: float
    seconds: float


def train_one_epoch(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    batches: Sequence[np.ndarray],
    *,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    loss_fn: nn.Module,
    run: Runtime,
    generator: torch.Generator,
    epoch: int,
    group: Group | None = None,
    show: bool = False,
) -> EpochTotals:
    """One pass over ``batches`` (arrays of cache rows, global batches): forward under the
    run's autocast, float32 loss, backward, an optimiser and a schedule step per batch.

    Each rank trains on its part of every batch; ``epoch`` and ``generator`` drive the
    pipeline's augmentation and cameras. ``show`` draws a progress bar.

    Returns
    -------
    EpochTotals
        Mean loss and accuracy over the epoch's samples (all ranks), and its seconds.

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
    >>> net = nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    >>> optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    >>> totals = train_one_epoch(
    ...     net, samples, pipeline, data.batch_rows(reader.train.rows, batch_size=2),
    ...     optimizer=optimizer, schedule=schedule, loss_fn=nn.CrossEntropyLoss(),
    ...     run=Runtime.of(cpu), generator=torch.Generator(), epoch=1)
    >>> 0 <= totals.accuracy <= 1 and totals.loss > 0
    True
    >>> logits, labels = evaluate(net, samples, pipeline, reader.test.rows, batch_size=4,
    ...                           run=Runtime.of(cpu))
    >>> tuple(logits.shape), logits.dtype, labels.tolist()
    ((2, 2), torch.float32, [0, 1])
    """
    group = group or Group()
    model.train()
    run.sync()
    start = time.perf_counter()
    totals = torch.zeros(3, device=run.device, dtype=torch.float64)  # loss sum, correct, seen
    parts = [group.part(rows) for rows in batches]
    for rows, (stored, labels) in tqdm(
        zip(parts, samples.batches(parts), strict=True),
        total=len(parts), desc=f"epoch {epoch}", disable=not show, leave=False,
    ):  # fmt: skip
        x = run.prepare(pipeline(stored, train=True, generator=generator, rows=rows, epoch=epoch))
        with run.autocast():
            logits = model(x)
        loss = loss_fn(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            seen = torch.tensor(labels.shape[0], device=run.device, dtype=torch.float64)
            correct = (logits.argmax(1) == labels).sum().double()
            totals += torch.stack([loss.detach().double() * labels.shape[0], correct, seen])
    run.sync()
    seconds = time.perf_counter() - start
    loss_sum, correct_sum, seen_sum = group.sum(totals).tolist()
    return EpochTotals(loss=loss_sum / seen_sum, accuracy=correct_sum / seen_sum, seconds=seconds)


def evaluate(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    rows: np.ndarray,
    *,
    batch_size: int,
    run: Runtime,
    group: Group | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 logits and labels of ``rows`` in eval mode, without autocast.

    With several processes each computes its contiguous part of ``rows`` and the parts
    are gathered in order, so every rank returns the whole.

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Logits (n, num_classes) float32 and labels (n,) int64, on the run's device, in
        the order of ``rows``.

    Examples
    --------
    See :func:`train_one_epoch`.
    """
    group = group or Group()
    model.eval()
    outputs, targets = [], []
    parts = batch_rows(group.part(rows), batch_size=batch_size)
    with torch.inference_mode():
        for part, (stored, labels) in zip(parts, samples.batches(parts), strict=True):
            outputs.append(model(run.prepare(pipeline(stored, train=False, rows=part))).float())
            targets.append(labels)
    classes = _num_classes(model)
    logits = torch.cat(outputs) if outputs else torch.zeros((0, classes), device=run.device)
    labels = torch.cat(targets) if targets else torch.zeros(0, dtype=torch.long, device=run.device)
    return group.gather(logits), group.gather(labels)


def _num_classes(model: nn.Module) -> int:
    """Outputs of the model's last linear layer (for an empty evaluation part)."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return last[-1].out_features if last else 0
