"""The checks of a comparison before any training: models, spaces, options and every
cache, each failure one :class:`~classifiers.grid.config.CompareError` naming what is
wrong."""

from __future__ import annotations

import numpy as np

import rawspace.cache
from rawspace.cache import CacheReader

from .. import models, spaces
from ..spaces import Space
from . import shift
from .config import CompareConfig, CompareError
from .plan import VAL_FRACTION, split_rows

__all__ = ["check_config"]


def _check_weights(config: CompareConfig) -> None:
    """Every weights file holds a state dict of tensors for its model, read as
    :func:`classifiers.models.create` will read it (:func:`classifiers.models.read_weights`)."""
    for model, spec in config.weights:
        if spec is None or spec in models.PRETRAINED:
            continue
        try:
            models.read_weights(model, spec)
        except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, …
            reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise CompareError(
                f"--weights {spec} (for {model}) is not a state dict of that model's weights: "
                f"{type(error).__name__}{': ' + reason if reason else ''}"
            ) from None


def _check_options(config: CompareConfig) -> tuple[Space, ...]:
    for model in config.models:
        try:
            models.check_model(model)
        except ValueError:
            known = ", ".join((*models.MODELS, *models.DINOBLOOM))
            raise CompareError(
                f"unknown model {model!r}; choose from {known} or timm:NAME (any timm model)"
            ) from None
    for name in config.spaces:
        if name not in spaces.SPACES:
            raise CompareError(f"unknown space {name!r}; choose from {', '.join(spaces.SPACES)}")
    chosen = tuple(map(spaces.get, config.spaces))
    if not config.models or not config.spaces:
        raise CompareError("need at least one model and one space")
    if config.mode not in models.MODES:
        raise CompareError(f"unknown mode {config.mode!r}; choose from {', '.join(models.MODES)}")
    if config.folds < 0:
        raise CompareError(f"folds must be ≥ 0; got {config.folds}")
    if isinstance(config.seeds, bool) or not isinstance(config.seeds, int) or config.seeds < 1:
        raise CompareError(f"seeds must be a positive integer; got {config.seeds!r}")
    shift.check_count(config.test_cameras)
    _check_weights(config)
    try:
        for space in chosen:
            space.stored_shape(height=2, width=2, input_size=config.input_size)
    except ValueError as error:
        raise CompareError(str(error)) from error
    return chosen


def _check_input_size(
    where: str, model: str, space: Space, reader: CacheReader, input_size: int | None
) -> None:
    patch = models.patch_size(model)
    c, h, w = space.input_shape(height=reader.size, width=reader.size, input_size=input_size)
    if patch is not None and (h != w or h % patch):
        raise CompareError(
            f"{where}: {model} needs a square input whose side is a multiple of {patch}; "
            f"{space.name} gives {c}×{h}×{w} (set --input-size)"
        )


def _check_cache(
    config: CompareConfig, where: str, reader: CacheReader, chosen: tuple[Space, ...]
) -> None:
    for space in chosen:
        try:
            space.check_available(layout=reader.layout, has_rgb=reader.has_rgb)
        except ValueError as error:
            raise CompareError(f"{where}: {error}") from error
        for model in config.models:
            _check_input_size(where, model, space, reader, config.input_size)
    shifting = config.test_cameras > 0 or bool(config.test_camera_files)
    if shifting and not reader.has_rgb and any(space.raw for space in chosen):
        raise CompareError(
            f"{where}: the camera-shift test unprocesses the cache's rgb images, which it "
            "does not hold (built with --no-rgb)"
        )
    if config.folds >= 2 and config.folds > reader.n_folds:
        raise CompareError(
            f"{where}: --folds {config.folds} but the cache has {reader.n_folds} folds"
        )
    _check_classes(where, reader)
    _check_training_rows(config, where, reader)


def _check_classes(where: str, reader: CacheReader) -> None:
    if len(reader.class_names) < 2:
        raise CompareError(
            f"{where}: a classifier needs at least 2 classes; the cache has "
            f"{len(reader.class_names)} ({', '.join(reader.class_names) or 'none'})"
        )
    test_labels = reader.test.labels
    empty = [c for k, c in enumerate(reader.class_names) if not np.any(test_labels == k)]
    if empty:
        raise CompareError(
            f"{where}: class {', '.join(map(repr, empty))} has no sample in the test split"
        )


def _check_training_rows(config: CompareConfig, where: str, reader: CacheReader) -> None:
    """Every run of the grid has training and validation samples."""
    folds = range(config.folds) if config.folds >= 2 else range(1)
    for fold in folds:
        for seed in range(config.train.seed, config.train.seed + config.seeds):
            train, val, _ = split_rows(reader, folds=config.folds, fold=fold, seed=seed)
            if len(train) and len(val):
                continue
            run = f"fold {fold}" if config.folds >= 2 else f"seed {seed}"
            how = (
                "" if config.folds >= 2
                else f" (--folds {config.folds} validates on {VAL_FRACTION:.0%} of the "
                "training split; build the cache with --folds K and pass --folds K)"
            )  # fmt: skip
            raise CompareError(
                f"{where}: {run} leaves {len(train)} training and {len(val)} validation "
                f"samples; a run needs both{how}"
            )


def check_config(config: CompareConfig) -> tuple[dict[str, CacheReader], tuple[Space, ...]]:
    """Check the configuration before any training; return the open caches and the spaces."""
    chosen = _check_options(config)
    readers = {}
    for name, path in config.caches:
        try:
            reader = rawspace.cache.open(path)
        except (OSError, ValueError) as error:
            raise CompareError(str(error)) from error
        _check_cache(config, f"cache {name} ({path})", reader, chosen)
        readers[name] = reader
    return readers, chosen
