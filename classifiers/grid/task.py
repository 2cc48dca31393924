"""The task of one cell: train one model on one input space of one cache for one fold
and seed (:func:`classifiers.train.fit`), test it on the cache's TEST split (and, for raw
spaces, on the unseen cameras), and return its :class:`~classifiers.grid.record.CellRecord`
and :class:`~classifiers.grid.record.Predictions`.

Folds: ``folds ≥ 2`` uses the cache's ``fold`` column (run ``f`` validates on the
training samples of fold ``f`` and trains on every other training sample); ``folds`` 0
or 1 carves a stratified 10 % validation set out of the training split with the run's
seed. Two spaces are *paired*: the same fold and seed give the same training images,
batch order and initialisation (but for the first layer), and the same test images.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rawspace import CameraParams
from rawspace.cache import CacheReader

from .. import data, distributed, models, pretrained, spaces
from ..metrics import evaluate
from ..spaces import RawFormat
from ..train import TrainResult, device_name, fit, predict, seed_everything
from . import shift
from .config import CompareConfig
from .plan import Cell, split_rows
from .record import (
    CellRecord,
    Environment,
    InputDescription,
    Predictions,
    SplitDescription,
    Training,
)

__all__ = ["CellContext", "train_cell"]

_STATS_BATCH = 256
Samples = data.ResidentSamples | data.StreamedSamples


@dataclass(frozen=True)
class CellContext:
    """What the cells of one (cache, space) share: the open cache, its loaded samples,
    the device and process group, the unseen test cameras, the log and the heartbeat."""

    config: CompareConfig
    reader: CacheReader
    samples: Samples
    device: torch.device
    group: distributed.Group
    test_cameras: Sequence[tuple[str, CameraParams]]
    say: Callable[[str], None]
    heartbeat: Callable[[], None]


def _split_description(reader: CacheReader) -> SplitDescription:
    config = reader.config
    return SplitDescription(
        source_format=str(config["source_format"]),
        grouped=reader.groups is not None,
        group_column="group" if reader.groups is not None else None,
        test_fraction=float(config["test_fraction"]),
        folds=int(config["folds"]),
        seed=int(reader.attrs["seed"]),
    )


def _environment(device: torch.device) -> Environment:
    packages = ("torchvision", "numpy", "scipy", "scikit-learn", "h5py", "rawspace")
    versions = {"python": platform.python_version(), "torch": str(torch.__version__)}
    versions |= {name: importlib.metadata.version(name) for name in packages}
    return Environment(
        device=device_name(device),
        versions=versions,
        cuda=torch.version.cuda if device.type == "cuda" else None,
    )


def _first_layer_note(
    model: str, channels: int, weights: str | None, colors: tuple[int, ...] | None
) -> str:
    layer = models.first_layer_name(model)
    if weights is None:
        return f"{layer}: in_channels={channels}, random initialisation"
    if channels == 3:
        return f"{layer}: pretrained RGB kernels"
    if colors is None:
        return f"{layer}: pretrained RGB kernels, mean × 3/{channels} per channel"
    names = "".join("RGB"[c] for c in colors)
    return f"{layer}: pretrained kernels of colours {names}, each divided by its count"


def _pipeline(
    cell: Cell,
    context: CellContext,
    train_rows: np.ndarray,
    shape: tuple[int, int, int],
    own: pretrained.InputNormalization | None,
) -> spaces.InputPipeline:
    """The cell's input pipeline, normalised as a pretrained backbone was (``own``: its
    mean and std), or else with the training samples' statistics."""
    reader, space = context.reader, cell.space
    cameras = (
        shift.camera_schedule(reader, train_rows, cell.key.seed, context.device)
        if space.camera
        else None
    )
    pipeline = spaces.InputPipeline(
        space, RawFormat.of(reader), spaces.Normalization.identity(shape[0]), cameras=cameras
    )
    if own is not None:
        return dataclasses.replace(pipeline, normalization=spaces.Normalization(own.mean, own.std))
    batches = data.batch_rows(train_rows, batch_size=_STATS_BATCH)
    normalization = spaces.fit_normalization(
        pipeline.unit(stored, rows=rows)
        for rows, (stored, _) in zip(batches, context.samples.batches(batches), strict=True)
    )
    return dataclasses.replace(pipeline, normalization=normalization)


def _training(result: TrainResult) -> Training:
    return Training(
        history=tuple(result.history),
        best_epoch=result.best_epoch,
        best_val_acc=result.best_val_acc,
        stopped_early=result.stopped_early,
        device=result.device,
        resident=result.resident,
        precision=result.precision,
        processes=result.processes,
        threads=result.threads,
    )


def _input_description(
    pipeline: spaces.InputPipeline,
    shape: Sequence[int],
    own: pretrained.InputNormalization | None,
) -> InputDescription:
    d = pipeline.describe(shape)
    return InputDescription(
        space=str(d["space"]), shape=tuple(shape), dtype=str(d["dtype"]),
        source=str(d["source"]), scaling=str(d["scaling"]), description=str(d["description"]),
        cfa=None if d["cfa"] is None else str(d["cfa"]),
        mean=tuple(pipeline.normalization.mean), std=tuple(pipeline.normalization.std),
        **({} if own is None else {"normalization": own.source}),
    )  # fmt: skip


def train_cell(
    cell: Cell, context: CellContext, fingerprint: Mapping[str, Any]
) -> tuple[CellRecord, Predictions]:
    """Train, test and describe one cell (on every process of the group); ``fingerprint``
    is its planned fingerprint (:func:`classifiers.grid.plan.fingerprint`)."""
    start = time.perf_counter()
    config, reader, say, name = context.config, context.reader, context.say, cell.key.name
    train_rows, val_rows, test_rows = split_rows(
        reader, folds=config.folds, fold=cell.key.fold, seed=cell.key.seed
    )
    say(f"{name}: training on {len(train_rows)}, validating on {len(val_rows)}, "
        f"testing on {len(test_rows)}")  # fmt: skip
    space = cell.space
    shape = space.input_shape(height=reader.size, width=reader.size, input_size=config.input_size)
    weights = config.weights_for(cell.key.model)
    colors = space.channel_colors(reader.cfa)
    own = pretrained.input_normalization(
        cell.key.model, weights=weights, in_channels=shape[0], channel_colors=colors
    )
    pipeline = _pipeline(cell, context, train_rows, shape, own)
    seed_everything(cell.key.seed)
    model = models.create(
        cell.key.model, num_classes=len(reader.class_names), in_channels=shape[0],
        weights=weights, mode=config.mode, image_size=shape[1], channel_colors=colors,
    )  # fmt: skip

    def epoch_done(line: str) -> None:
        context.heartbeat()
        say(f"{name}: {line}")

    result = fit(
        model, context.samples, pipeline, train_rows=train_rows, val_rows=val_rows,
        config=dataclasses.replace(config.train_for(cell.key.model), seed=cell.key.seed),
        device=context.device,
        group=context.group, log=epoch_done,
    )  # fmt: skip
    probabilities, labels = predict(
        model, context.samples, pipeline, test_rows, device=context.device,
        batch_size=config.train.batch_size, group=context.group,
    )  # fmt: skip
    scores = evaluate(labels, probabilities, class_names=reader.class_names)
    say(f"{name}: test accuracy {100 * scores.accuracy:.2f} % macro F1 {scores.macro_f1:.3f} "
        f"wAUC {scores.wauc:.3f} (best epoch {result.best_epoch})")  # fmt: skip
    shifted = None
    if space.raw and context.test_cameras:
        shifted = shift.predict_shifted(
            model, pipeline, reader, test_rows, context.test_cameras, config=config,
            device=context.device, group=context.group, samples=context.samples,
        )  # fmt: skip
        accuracy = (shifted.argmax(-1) == labels).mean(-1)
        say(f"{name}: unseen cameras: accuracy " + ", ".join(f"{100 * a:.2f} %" for a in accuracy))
    record = CellRecord(
        key=cell.key, fingerprint=fingerprint, class_names=tuple(reader.class_names), scores=scores,
        train=_training(result), input=_input_description(pipeline, shape, own),
        first_layer=_first_layer_note(cell.key.model, shape[0], weights, colors),
        split=_split_description(reader), environment=_environment(context.device),
        n_train=len(train_rows), n_val=len(val_rows), n_test=len(test_rows),
        test_rows=tuple(int(r) for r in test_rows),
        test_cameras=tuple(n for n, _ in context.test_cameras) if shifted is not None else (),
        seconds=time.perf_counter() - start,
        training_cameras=pipeline.cameras.pool_cameras if pipeline.cameras is not None else (),
        checkpoint=pretrained.checkpoint_name(cell.key.model, weights=weights),
        recipe=config.recipe_for(cell.key.model).source,
    )  # fmt: skip
    return record, Predictions(np.asarray(labels), np.asarray(probabilities), shifted)
