"""The plan of a comparison: its cells, their fingerprints, their shards, ``plan.json``.

Every run writes ``OUT/plan.json``: the configuration and every planned cell with its
fingerprint (everything that shapes its result). ``shard=(K, N)`` trains only the cells
that :func:`shard_cells` assigns to shard K of N, a deterministic, cost-balanced
assignment of the whole grid that every process computes alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from rawspace import CameraParams
from rawspace.cache import CacheReader
from rawspace.files import write_text
from rawspace.splits import assign_splits

from ..spaces import Space
from .config import CompareConfig, CompareError
from .record import SCHEMA_VERSION, CellKey

__all__ = [
    "PLAN",
    "TRAINING_CAMERAS",
    "VAL_FRACTION",
    "Cell",
    "Plan",
    "fingerprint",
    "plan_cells",
    "read_plan",
    "shard_cells",
    "split_rows",
]

PLAN = "plan.json"
#: Where the ``*_cam`` spaces' training cameras come from
#: (:meth:`classifiers.unprocess.CameraSchedule.create`'s ``source``).
TRAINING_CAMERAS: Final = "training"
#: Fraction of the training split carved out for validation when ``folds`` < 2.
VAL_FRACTION = 0.1
#: Relative training cost of one image at 224×224 per model: 1 / images per second of
#: bf16 training on one H200 (SPEC §7); MobileNetV3-Small is an estimate from its
#: multiply-accumulates. Used only to balance shards.
_TRAIN_COST = {
    "resnet50": 1 / 4230,
    "densenet121": 1 / 1294,
    "vit_b_16": 1 / 2183,
    "vit_b_32": 1 / 3608,
    "vit_l_16": 1 / 776,
    "vit_l_32": 1 / 1712,
    "mobilenet_v3_small": 1 / 20000,
}
_DEFAULT_COST = 1 / 2000


@dataclass(frozen=True)
class Cell:
    """One planned training run: its key, its input space and its expected cost."""

    key: CellKey
    space: Space
    cost: float


def plan_cells(
    config: CompareConfig, chosen: Sequence[Space], readers: Mapping[str, CacheReader]
) -> list[Cell]:
    """Every cell of the grid, in the order caches × spaces × models × folds × seeds."""
    folds = range(config.folds) if config.folds >= 2 else range(1)
    seeds = range(config.train.seed, config.train.seed + config.seeds)
    cells = []
    for cache, _ in config.caches:
        reader = readers[cache]
        for space in chosen:
            _, h, w = space.input_shape(
                height=reader.size, width=reader.size, input_size=config.input_size
            )
            for model in config.models:
                # expected cost: per-image cost × input area × training images × epochs
                per_image = _TRAIN_COST.get(model, _DEFAULT_COST)
                cost = per_image * (h * w) / 224**2 * len(reader.train) * config.train.epochs
                cells += [
                    Cell(CellKey(cache, model, space.name, fold, seed), space, cost)
                    for fold in folds
                    for seed in seeds
                ]
    return cells


def split_rows(
    reader: CacheReader, *, folds: int, fold: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cache rows of the training, validation and test samples of run (``fold``, ``seed``).

    ``folds ≥ 2``: validation on the training samples of fold ``fold``, training on every
    other training sample; else a stratified :data:`VAL_FRACTION` of the training split,
    drawn with ``seed``, is carved out for validation. Testing: the cache's test split.
    """
    test = reader.test.rows
    if folds >= 2:
        train, val = reader.fold(fold)
        return train.rows, val.rows, test
    training = reader.train
    carved = assign_splits(training.labels, test_fraction=VAL_FRACTION, folds=0, seed=seed)
    return training.rows[carved.split == 0], training.rows[carved.split == 1], test


def shard_cells(costs: Sequence[float], shards: int) -> list[int]:
    """The shard (1 to ``shards``) of each cell, balancing the expected cost.

    Cells are placed from the most to the least expensive (ties in list order), each on
    the shard with the least expected cost so far (ties: the lowest number) — the
    longest-processing-time rule. Deterministic: every process computes the same
    assignment from the same grid.

    Examples
    --------
    >>> shard_cells([5.0, 1.0, 1.0, 3.0, 2.0, 2.0], 2)
    [1, 2, 2, 2, 2, 1]
    >>> shard_cells([1.0] * 4, 2)
    [1, 2, 1, 2]
    """
    load = np.zeros(shards)
    assignment = [0] * len(costs)
    for index in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        target = int(np.argmin(load))
        assignment[index] = target + 1
        load[target] += costs[index]
    return assignment


def fingerprint(
    config: CompareConfig,
    cell: Cell,
    content: str,
    cameras: Sequence[tuple[str, CameraParams]],
) -> dict[str, Any]:
    """Everything that shapes a cell's result: a stored cell with another one is retrained.
    ``content`` is the cache's content fingerprint (:meth:`CacheReader.fingerprint`).

    ``train`` holds the model's own training options (:meth:`CompareConfig.train_for`,
    its recipe) but the seed, the log switch and the thread count; a pretrained model's
    cell also says that it is standardised with the backbone's own statistics, and a
    ``*_cam`` cell where its training cameras come from."""
    train = asdict(config.train_for(cell.key.model)) | {"quiet": None, "seed": None,
                                                         "threads": None}  # fmt: skip
    weights = config.weights_for(cell.key.model)
    found = {
        "cache": content,
        "model": cell.key.model,
        "space": cell.space.name,
        "fold": cell.key.fold,
        "seed": cell.key.seed,
        "folds": config.folds,
        "mode": config.mode,
        "weights": weights,
        "input_size": config.input_size,
        "train": train,
        "val_fraction": VAL_FRACTION,
        "test_cameras": [[n, c.to_dict()] for n, c in cameras] if cell.space.raw else [],
    }
    if weights is not None:
        found["normalization"] = "backbone"
    if cell.space.camera:
        found["training_cameras"] = TRAINING_CAMERAS
    return found


@dataclass(frozen=True)
class Plan:
    """The content of ``OUT/plan.json``: the configuration and each cell's fingerprint.

    Examples
    --------
    >>> config = CompareConfig(caches=(("pbc", Path("pbc.h5")),), out=Path("out"))
    >>> plan = Plan(config, {"pbc__resnet50__rgb__fold0__seed0": {"seed": 0}})
    >>> Plan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan
    True
    """

    config: CompareConfig
    cells: Mapping[str, Mapping[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (inverse of :meth:`from_dict`)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "config": self.config.to_dict(),
            "cells": {k: dict(v) for k, v in self.cells.items()},
        }

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        """Rebuild from :meth:`to_dict`'s output; :class:`CompareError` when not one."""
        if not isinstance(data, dict) or not all(
            isinstance(data.get(part), dict) for part in ("config", "cells")
        ):
            raise CompareError("not a comparison plan")
        if not all(isinstance(v, dict) for v in data["cells"].values()):
            raise CompareError("not a comparison plan")
        for name in data["cells"]:
            CellKey.parse(name)
        return cls(CompareConfig.from_dict(data["config"]), data["cells"])

    def write(self, out: Path) -> None:
        """Write ``OUT/plan.json`` atomically."""
        write_text(out / PLAN, json.dumps(self.to_dict(), indent=1))


def read_plan(out: Path) -> Plan:
    """``OUT/plan.json``; :class:`CompareError` naming the file when it is missing or is
    not a plan."""
    path = out / PLAN
    try:
        return Plan.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise CompareError(f"{out} holds no {PLAN}: run rawspace compare into it first") from None
    except (OSError, ValueError) as error:  # CompareError and RecordError are ValueErrors
        raise CompareError(f"{path} cannot be read: {error}") from None
