"""The cost profile of each (model, space, input) of a grid, measured once into
``OUT/cells/cost__*.json`` (:class:`~classifiers.grid.record.CostRecord`): parameters,
MACs, activations, and latency and memory on CUDA (:func:`classifiers.cost.profile`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch

from rawspace.cache import CacheReader

from .. import models
from ..cost import profile
from .config import CompareConfig
from .plan import Cell
from .record import CostRecord, RecordError, read_cost, write_cost
from .store import cost_path

__all__ = ["profile_cells"]


def _stem(model: str, space: str, shape: Sequence[int], classes: int) -> str:
    return f"{model}__{space}__{'x'.join(map(str, shape))}__{classes}"


def profile_cells(
    config: CompareConfig,
    cells: Sequence[Cell],
    readers: Mapping[str, CacheReader],
    device: torch.device,
    say: Callable[[str], None],
) -> None:
    """Profile each (model, space, input) of ``cells`` once; a profile measured on CUDA is
    kept, one from the CPU is redone on CUDA, a damaged one is redone."""
    folder = Path(config.out) / "cells"
    for cell in cells:
        reader = readers[cell.key.cache]
        shape = cell.space.input_shape(
            height=reader.size, width=reader.size, input_size=config.input_size
        )
        classes = len(reader.class_names)
        path = cost_path(folder, _stem(cell.key.model, cell.space.name, shape, classes))
        if path.is_file():
            try:
                stored = read_cost(path)
            except RecordError as error:
                say(f"{path.name}: profiled again: {error}")
            else:
                if stored.report.latency_ms is not None or device.type != "cuda":
                    continue
        net = models.create(
            cell.key.model, num_classes=classes, in_channels=shape[0], image_size=shape[1]
        ).to(device)
        record = CostRecord(cell.key.model, cell.space.name, classes, profile(net, shape))
        write_cost(path, record)
        del net
        say(f"cost of {cell.key.model} on {cell.space.name} {shape}: "
            f"{record.report.gmacs:.2f} GMACs")  # fmt: skip
