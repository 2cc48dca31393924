"""The comparison grid: caches × models × input spaces × folds, resumable, then a report.

Each cell trains one model on one input space of one cache for one fold
(:func:`classifiers.train.fit`) and evaluates it on the cache's TEST split. Folds:

* ``folds ≥ 2`` uses the cache's ``fold`` column: run ``f`` validates on the training
  samples of fold ``f`` (early stopping and checkpoint selection) and trains on every
  other training sample (folds ≥ ``folds`` included); every run is tested on the same
  held-out test split, and metrics are reported as mean ± std over the runs.
* ``folds`` 0 or 1: one run; a stratified, seeded 10 % of the training split is carved
  out for validation.

A finished cell leaves ``OUT/cells/<cache>__<model>__<space>__fold<f>.json`` (with
``.npz`` test probabilities); a later run with the same settings reuses it instead of
training again. Costs (:func:`classifiers.cost.profile`) are cached the same way.
:func:`run` finally writes ``results.json``, ``results.csv``, ``results.md`` and the
figures (:mod:`classifiers.report`).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

import rawspace.cache
from rawspace.cache import CacheReader
from rawspace.files import write_text
from rawspace.splits import assign_splits

from . import data, models, report, spaces
from .cost import profile
from .metrics import evaluate
from .spaces import RawFormat, Space
from .train import (
    DeviceUnavailableError,
    TrainConfig,
    device_name,
    fit,
    predict,
    resolve_device,
    seed_everything,
)

__all__ = [
    "CompareConfig",
    "CompareError",
    "parse_caches",
    "parse_weights",
    "run",
]

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_VAL_FRACTION = 0.1
_STATS_BATCH = 256
_REGIMES = {"full": "full", "linear": "last layer"}


class CompareError(ValueError):
    """Bad input to a comparison (missing cache, unknown model, empty test class, …)."""


@dataclass(frozen=True)
class CompareConfig:
    """A comparison.

    Attributes
    ----------
    caches : tuple of (name, path)
        Caches to compare; names label the rows and file names.
    out : Path
        Output folder.
    models, spaces : tuple of str
        From :data:`classifiers.models.MODELS` and :data:`classifiers.spaces.SPACES`.
    mode : str
        ``"full"`` or ``"linear"`` (:func:`classifiers.models.create`).
    weights : tuple of (model, spec)
        Spec None, ``"imagenet"`` or a state-dict path, per model (missing: None).
    folds : int
        See the module docstring.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    input_size : int or None
        Side of the model input (:mod:`classifiers.spaces`); None keeps native sizes.
    workers : int
        DataLoader workers when samples do not fit in device memory.
    train : TrainConfig
    """

    caches: tuple[tuple[str, Path], ...]
    out: Path
    models: tuple[str, ...] = ("resnet50",)
    spaces: tuple[str, ...] = ("rgb", "raw_packed")
    mode: str = "full"
    weights: tuple[tuple[str, str | None], ...] = ()
    folds: int = 1
    device: str = "auto"
    input_size: int | None = 224
    workers: int = 4
    train: TrainConfig = field(default_factory=TrainConfig)

    def weights_for(self, model: str) -> str | None:
        """The weights spec of ``model``."""
        return dict(self.weights).get(model)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        out = asdict(self)
        out["caches"] = {name: str(path) for name, path in self.caches}
        out["out"] = str(self.out)
        out["weights"] = dict(self.weights)
        return out


def parse_caches(
    positional: str | os.PathLike[str] | None, named: Sequence[str] = ()
) -> tuple[tuple[str, Path], ...]:
    """Caches from a positional argument (a file, or a folder of ``*.h5`` files, each named
    by its stem) and ``NAME=PATH`` items. Raises :class:`CompareError`."""
    caches: list[tuple[str, Path]] = []
    if positional is not None:
        path = Path(positional)
        if path.is_dir():
            found = sorted(path.glob("*.h5"))
            if not found:
                raise CompareError(f"no *.h5 cache in folder {path}")
            caches += [(p.stem, p) for p in found]
        else:
            caches.append((path.stem, path))
    for item in named:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise CompareError(f"--cache needs NAME=PATH; got {item!r}")
        caches.append((name, Path(value)))
    if not caches:
        raise CompareError("no cache given: pass CACHE.h5 or --cache NAME=PATH")
    names = [n for n, _ in caches]
    for name in names:
        if not _NAME.match(name):
            raise CompareError(f"cache name must use letters, digits, '_', '.', '-'; got {name!r}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CompareError(f"cache names must be unique; repeated: {', '.join(duplicates)}")
    return tuple(caches)


def parse_weights(text: str, model_names: Sequence[str]) -> tuple[tuple[str, str | None], ...]:
    """``none``, ``imagenet``, a path, or ``MODEL=SPEC,…`` → (model, spec) pairs.

    A single spec applies to every model; with ``MODEL=SPEC`` items, unlisted models get
    None (random initialisation). Raises :class:`CompareError`.
    """

    def spec(value: str) -> str | None:
        value = value.strip()
        if value.lower() == "none":
            return None
        if value.lower() == "imagenet":
            return "imagenet"
        if not Path(value).is_file():
            raise CompareError(f"weights file not found: {value}")
        return value

    if "=" not in text:
        return tuple((m, spec(text)) for m in model_names)
    pairs = {}
    for item in text.split(","):
        model, sep, value = item.partition("=")
        model = model.strip()
        if not sep or model not in models.MODELS:
            raise CompareError(
                f"--weights items must be MODEL=SPEC with MODEL one of "
                f"{', '.join(models.MODELS)}; got {item!r}"
            )
        pairs[model] = spec(value)
    return tuple((m, pairs.get(m)) for m in model_names)


@dataclass(frozen=True)
class _Cell:
    cache: str
    model: str
    space: Space
    fold: int

    @property
    def key(self) -> str:
        return f"{self.cache}__{self.model}__{self.space.name}__fold{self.fold}"


def run(config: CompareConfig, *, log: Callable[[str], None] | None = None) -> dict[str, object]:
    """Run (or resume) the grid and write the report into ``config.out``.

    Returns
    -------
    dict
        The content of ``results.json``.

    Raises
    ------
    CompareError
        Bad input, detected before any training.
    classifiers.models.WeightsUnavailableError
        ImageNet weights neither cached nor downloadable.
    """
    readers, chosen = _validate(config)
    device = _device(config.device)
    out = Path(config.out)
    (out / "cells").mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        with open(out / "log.txt", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        if log is not None:
            log(line)

    grid = _cells(config, chosen)
    say(f"rawspace compare on {device_name(device)}: {len(grid)} cells")
    cells = {}
    for (cache, space), group in _by_data(grid).items():
        reader = readers[cache]
        samples = None
        for cell in group:
            done = _load_cell(out, cell, _fingerprint(config, cell, reader))
            if done is not None:
                say(f"{cell.key}: finished earlier, not retrained")
                cells[cell.key] = done
                continue
            if samples is None:
                samples = data.load(
                    reader,
                    space,
                    rows=np.concatenate([reader.train.rows, reader.test.rows]),
                    device=device,
                    input_size=config.input_size,
                    workers=config.workers,
                )
                where = "resident on the device" if samples.resident else "streamed (DataLoader)"
                say(f"{cache}/{space.name}: samples {where}")
            cells[cell.key] = _train_cell(config, cell, reader, samples, device, say)
        del samples
        if device.type == "cuda":
            torch.cuda.empty_cache()

    costs = _costs(config, chosen, readers, device, say)
    results = report.assemble(
        config=config.to_dict(),
        cells=list(cells.values()),
        costs=costs,
        environment=_environment(device),
        regime=_REGIMES[config.mode],
        notes=_notes(config),
    )
    report.write(out, results)
    say(f"wrote {out / 'results.md'}")
    return results


def _validate(config: CompareConfig) -> tuple[dict[str, CacheReader], tuple[Space, ...]]:
    """Check the configuration before any training; return the open caches and the spaces."""
    for model in config.models:
        if model not in models.MODELS:
            raise CompareError(f"unknown model {model!r}; choose from {', '.join(models.MODELS)}")
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
    try:
        for space in chosen:
            space.stored_shape(height=2, width=2, input_size=config.input_size)
    except ValueError as error:
        raise CompareError(str(error)) from error
    readers = {}
    for name, path in config.caches:
        try:
            reader = rawspace.cache.open(path)
        except (OSError, ValueError) as error:
            raise CompareError(str(error)) from error
        where = f"cache {name} ({path})"
        for space in chosen:
            try:
                space.check_available(layout=reader.layout, has_rgb=reader.has_rgb)
            except ValueError as error:
                raise CompareError(f"{where}: {error}") from error
            for model in config.models:
                _check_input_size(where, model, space, reader, config.input_size)
        if config.folds >= 2 and config.folds > reader.n_folds:
            raise CompareError(
                f"{where}: --folds {config.folds} but the cache has {reader.n_folds} folds"
            )
        test_labels = reader.test.labels
        empty = [c for k, c in enumerate(reader.class_names) if not np.any(test_labels == k)]
        if empty:
            raise CompareError(
                f"{where}: class {', '.join(map(repr, empty))} has no sample in the test split"
            )
        readers[name] = reader
    return readers, chosen


def _check_input_size(
    where: str, model: str, space: Space, reader: CacheReader, input_size: int | None
) -> None:
    patch = models.patch_size(model)
    c, h, w = space.stored_shape(height=reader.size, width=reader.size, input_size=input_size)
    if patch is not None and (h != w or h % patch):
        raise CompareError(
            f"{where}: {model} needs a square input whose side is a multiple of {patch}; "
            f"{space.name} gives {c}×{h}×{w} (set --input-size)"
        )


def _device(name: str) -> torch.device:
    try:
        return resolve_device(name)
    except (ValueError, DeviceUnavailableError) as error:
        raise CompareError(str(error)) from error


def _cells(config: CompareConfig, chosen: tuple[Space, ...]) -> list[_Cell]:
    folds = range(config.folds) if config.folds >= 2 else range(1)
    return [
        _Cell(cache, model, space, fold)
        for cache, _ in config.caches
        for space in chosen
        for model in config.models
        for fold in folds
    ]


def _by_data(cells: list[_Cell]) -> dict[tuple[str, Space], list[_Cell]]:
    groups: dict[tuple[str, Space], list[_Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.cache, cell.space), []).append(cell)
    return groups


def _fingerprint(config: CompareConfig, cell: _Cell, reader: CacheReader) -> dict[str, object]:
    return {
        "cache": str(Path(reader.path).resolve()),
        "cache_bytes": Path(reader.path).stat().st_size,
        "model": cell.model,
        "space": cell.space.name,
        "fold": cell.fold,
        "folds": config.folds,
        "mode": config.mode,
        "weights": config.weights_for(cell.model),
        "input_size": config.input_size,
        "train": asdict(config.train) | {"quiet": None},
        "val_fraction": _VAL_FRACTION,
    }


def _load_cell(out: Path, cell: _Cell, fingerprint: dict[str, object]) -> dict | None:
    path = out / "cells" / f"{cell.key}.json"
    if not path.is_file() or not path.with_suffix(".npz").is_file():
        return None
    stored = json.loads(path.read_text(encoding="utf-8"))
    return stored if stored.get("fingerprint") == fingerprint else None


def _split(config: CompareConfig, cell: _Cell, reader: CacheReader) -> tuple[np.ndarray, ...]:
    """Cache rows of the cell's training, validation and test samples."""
    test = reader.test.rows
    if config.folds >= 2:
        train, val = reader.fold(cell.fold)
        return train.rows, val.rows, test
    training = reader.train
    carved = assign_splits(
        training.labels, test_fraction=_VAL_FRACTION, folds=0, seed=config.train.seed
    )
    return training.rows[carved.split == 0], training.rows[carved.split == 1], test


def _train_cell(
    config: CompareConfig,
    cell: _Cell,
    reader: CacheReader,
    samples: data.ResidentSamples | data.StreamedSamples,
    device: torch.device,
    say: Callable[[str], None],
) -> dict[str, object]:
    start = time.perf_counter()
    train_idx, val_idx, test_idx = _split(config, cell, reader)
    say(
        f"{cell.key}: training on {len(train_idx)}, validating on {len(val_idx)}, "
        f"testing on {len(test_idx)}"
    )
    fmt = RawFormat.of(reader)
    space = cell.space
    normalization = spaces.fit_normalization(
        space, (s for s, _ in samples.batches(train_idx, batch_size=_STATS_BATCH)), fmt=fmt
    )
    pipeline = spaces.InputPipeline(space, fmt, normalization)
    shape = space.stored_shape(height=reader.size, width=reader.size, input_size=config.input_size)
    weights = config.weights_for(cell.model)
    colors = space.channel_colors(reader.cfa)
    seed_everything(config.train.seed)
    model = models.create(
        cell.model,
        num_classes=len(reader.class_names),
        in_channels=shape[0],
        weights=weights,
        mode=config.mode,
        image_size=shape[1],
        channel_colors=colors,
    )
    result = fit(
        model,
        samples,
        pipeline,
        train_indices=train_idx,
        val_indices=val_idx,
        config=config.train,
        device=device,
        log=lambda line: say(f"{cell.key}: {line}"),
    )
    probabilities, labels = predict(
        model, samples, pipeline, test_idx, device=device, batch_size=config.train.batch_size
    )
    scores = evaluate(labels, probabilities, class_names=reader.class_names)
    say(
        f"{cell.key}: test accuracy {100 * scores.accuracy:.2f} % F1 {scores.f1:.3f} "
        f"wAUC {scores.wauc:.3f} (best epoch {result.best_epoch})"
    )
    cell_data = {
        "key": cell.key,
        "cache": cell.cache,
        "model": cell.model,
        "space": space.name,
        "fold": cell.fold,
        "fingerprint": _fingerprint(config, cell, reader),
        "class_names": list(reader.class_names),
        "scores": scores.to_dict(),
        "train": result.to_dict(),
        "input": pipeline.describe(shape),
        "first_layer": _first_layer_note(cell.model, shape[0], weights, colors),
        "n_train": len(train_idx),
        "n_val": len(val_idx),
        "n_test": len(test_idx),
        "seconds": time.perf_counter() - start,
    }
    path = Path(config.out) / "cells" / f"{cell.key}.json"
    np.savez_compressed(path.with_suffix(".npz"), labels=labels, probabilities=probabilities)
    write_text(path, json.dumps(cell_data, indent=1))
    del model
    return cell_data


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


def _costs(
    config: CompareConfig,
    chosen: tuple[Space, ...],
    readers: dict[str, CacheReader],
    device: torch.device,
    say: Callable[[str], None],
) -> list[dict[str, object]]:
    costs = {}
    for name, _ in config.caches:
        reader = readers[name]
        for model in config.models:
            for space in chosen:
                shape = space.stored_shape(
                    height=reader.size, width=reader.size, input_size=config.input_size
                )
                classes = len(reader.class_names)
                key = f"cost__{model}__{space.name}__{'x'.join(map(str, shape))}__{classes}"
                if key in costs:
                    continue
                path = Path(config.out) / "cells" / f"{key}.json"
                stored = json.loads(path.read_text()) if path.is_file() else None
                if stored is None or stored.get("device") != device_name(device):
                    net = models.create(
                        model, num_classes=classes, in_channels=shape[0], image_size=shape[1]
                    ).to(device)
                    stored = {
                        "model": model,
                        "space": space.name,
                        "classes": classes,
                        **profile(net, shape).to_dict(),
                        "device": device_name(device),
                    }
                    write_text(path, json.dumps(stored, indent=1))
                    del net
                    say(f"cost of {model} on {space.name} {shape}: {stored['gmacs']:.2f} GMACs")
                costs[key] = stored
    return list(costs.values())


def _environment(device: torch.device) -> dict[str, object]:
    packages = ("torchvision", "numpy", "scipy", "scikit-learn", "h5py", "rawspace")
    return {
        "device": device_name(device),
        "versions": {"python": platform.python_version(), "torch": torch.__version__}
        | {name: importlib.metadata.version(name) for name in packages},
        "cuda": torch.version.cuda if device.type == "cuda" else None,
    }


def _notes(config: CompareConfig) -> list[str]:
    if config.folds >= 2:
        folds = (
            f"{config.folds} runs over the cache's folds: run f validates on the training "
            f"samples of fold f (early stopping, best epoch) and trains on all other "
            f"training samples; every run is tested on the held-out test split; mean ± "
            f"sample std over the runs."
        )
    else:
        folds = (
            "one run: trained on the training split minus a stratified, seeded 10 % "
            "validation set (early stopping, best epoch); tested on the held-out test split."
        )
    return [
        folds,
        "Metrics weighted by class support; wAUC is one-vs-rest ROC-AUC on softmax "
        "probabilities (scikit-learn, average='weighted').",
        "GMACs = half of torch FlopCounterMode's count (the study's 'FLOPs'); activations = "
        "outputs of Conv2d and Linear layers incl. attention in/out projections; latency and "
        "memory: batch 1, fp32, CUDA only.",
        "Epoch time covers the whole training pass (data included); model time is pure "
        "forward + backward time per batch on pre-made batches × batches per epoch.",
    ]
