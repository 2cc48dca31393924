"""The comparison grid: caches × models × input spaces × folds × seeds, resumable and
shardable, then a report with paired statistics.

Each *cell* trains one model on one input space of one cache for one fold and seed
(:func:`classifiers.train.fit`) and evaluates it on the cache's TEST split. Folds:

* ``folds ≥ 2`` uses the cache's ``fold`` column: run ``f`` validates on the training
  samples of fold ``f`` (early stopping and checkpoint selection) and trains on every
  other training sample; every run is tested on the same held-out test split.
* ``folds`` 0 or 1: one run per seed; a stratified 10 % of the training split, drawn
  with the run's seed, is carved out for validation.

``seeds`` runs every fold with that many seeds (``train.seed``, ``train.seed + 1``, …).
Two spaces are *paired*: the same fold and seed give the same training images, batch
order and initialisation (but for the first layer), and the same test images; the
report compares them with paired statistics (:mod:`classifiers.stats`).

Cells and outputs
-----------------
A finished cell leaves ``OUT/cells/<cache>__<model>__<space>__fold<f>__seed<s>.json``
(its scores, training history, input description and a *fingerprint*: the cache's
content fingerprint and every setting that shapes the run) and ``.npz`` test
probabilities. A later run reuses a cell whose fingerprint matches and retrains one
whose fingerprint differs, saying why. Every run writes ``OUT/plan.json``: the
configuration and every planned cell with its fingerprint.

Scaling out
-----------
``shard=(K, N)`` trains only the cells that :func:`shard_cells` assigns to shard K of N
(a deterministic, cost-balanced assignment of the whole grid), so N SLURM array tasks
share one ``OUT``; a cell is *claimed* before training (:mod:`classifiers.claims`), so two
processes never train the same cell, and a claim left by a killed process is taken over
by a rerun. :func:`write_report` then assembles ``results.*`` from the finished cells of
``OUT/plan.json`` and lists the missing ones; a run without ``shard`` trains what is
left and writes the report itself. Under ``torchrun`` (``WORLD_SIZE`` > 1) every cell
trains over all the processes (:mod:`classifiers.distributed`); rank 0 alone writes.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import platform
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

import rawspace.cache
from rawspace import CameraParams, shards
from rawspace.cache import CacheReader
from rawspace.cameras import load_camera, stable_seed
from rawspace.files import write_text
from rawspace.splits import assign_splits

from . import data, distributed, models, report, spaces, unprocess
from .grid import claims
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
    "parse_shard",
    "parse_weights",
    "run",
    "shard_cells",
    "write_report",
]

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_VAL_FRACTION = 0.1
_STATS_BATCH = 256
_REGIMES = {"full": "full", "linear": "last layer"}
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
_PLAN = "plan.json"


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
    seeds : int
        Runs per fold, with seeds ``train.seed``, ``train.seed + 1``, …
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    input_size : int or None
        Side of the model input (:mod:`classifiers.spaces`); None keeps native sizes.
    workers : int
        DataLoader workers when samples do not fit in device memory.
    train : TrainConfig
    test_cameras : int
        Unseen cameras drawn (``CameraParams.sample``, from a seed of their own) on which
        every trained raw model is also tested (the camera-shift test).
    test_camera_files : tuple of str
        Further unseen cameras: real raw files or camera JSON files
        (:func:`rawspace.cameras.load_camera`).
    """

    caches: tuple[tuple[str, Path], ...]
    out: Path
    models: tuple[str, ...] = ("resnet50",)
    spaces: tuple[str, ...] = ("rgb", "raw_packed")
    mode: str = "full"
    weights: tuple[tuple[str, str | None], ...] = ()
    folds: int = 1
    seeds: int = 1
    device: str = "auto"
    input_size: int | None = 224
    workers: int = 4
    train: TrainConfig = field(default_factory=TrainConfig)
    test_cameras: int = 0
    test_camera_files: tuple[str, ...] = ()

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


def parse_shard(text: str, environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``"K/N"`` or ``"auto"`` (in a SLURM array job) → (K, N), as
    :func:`rawspace.shards.parse_shard` reads it. Raises :class:`CompareError`."""
    try:
        return shards.parse_shard(text, environ)
    except ValueError as error:
        raise CompareError(str(error)) from None


@dataclass(frozen=True)
class _Cell:
    cache: str
    model: str
    space: Space
    fold: int
    seed: int
    cost: float

    @property
    def key(self) -> str:
        return f"{self.cache}__{self.model}__{self.space.name}__fold{self.fold}__seed{self.seed}"


def shard_cells(costs: Sequence[float], shards: int) -> list[int]:
    """The shard (1 to ``shards``) of each cell, balancing the expected cost.

    Cells are placed from the most to the least expensive (ties in list order), each on
    the shard with the least expected cost so far (ties: the lowest number) — the
    longest-processing-time rule. Deterministic: every process computes the same
    assignment from the same grid.
    """
    load = np.zeros(shards)
    assignment = [0] * len(costs)
    for index in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        target = int(np.argmin(load))
        assignment[index] = target + 1
        load[target] += costs[index]
    return assignment


def run(
    config: CompareConfig,
    *,
    shard: tuple[int, int] | None = None,
    reclaim: bool = False,
    claim_timeout_s: float = 2 * 3600.0,
    log: Callable[[str], None] | None = None,
) -> dict[str, object] | None:
    """Train this process's cells of the grid; without ``shard``, then write the report.

    Parameters
    ----------
    shard : (int, int), optional
        Train only the cells of shard K of N (:func:`shard_cells`); the report is left to
        :func:`write_report` (or a final run without ``shard``).
    reclaim : bool
        Take over the claims of other processes (they are known to be gone).
    claim_timeout_s : float
        A claim whose holder has not shown a sign of life for this long is taken over.
    log : callable, optional
        Receives progress lines (they also go to ``OUT/log.txt``).

    Returns
    -------
    dict or None
        The content of ``results.json``; None for a shard.

    Raises
    ------
    CompareError
        Bad input, detected before any training.
    classifiers.models.WeightsUnavailableError
        ImageNet weights neither cached nor downloadable.
    """
    readers, chosen = _validate(config)
    cameras = {name: _test_cameras(config, reader) for name, reader in readers.items()}
    device = _device(config.device)
    group = distributed.from_environment(device)
    if group.parallel and device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())
    out = Path(config.out)
    cells = _cells(config, chosen, readers)
    contents = {name: reader.fingerprint() for name, reader in readers.items()}
    fingerprints = {
        cell.key: _fingerprint(config, cell, contents[cell.cache], cameras[cell.cache])
        for cell in cells
    }
    say = _logger(out, log, enabled=group.is_main)
    if group.is_main:
        (out / "cells").mkdir(parents=True, exist_ok=True)
        plan = {"config": config.to_dict(), "cells": fingerprints}
        write_text(out / _PLAN, json.dumps(plan, indent=1))
    if shard is not None:
        assignment = shard_cells([cell.cost for cell in cells], shard[1])
        cells = [cell for cell, k in zip(cells, assignment, strict=True) if k == shard[0]]
    where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    processes = f" × {group.world_size} processes" if group.parallel else ""
    say(f"rawspace compare on {device_name(device)}{processes}: {len(cells)} cells{where}")
    for (cache, space), members in _by_data(cells).items():
        reader = readers[cache]
        samples = None
        for cell in members:
            fingerprint = fingerprints[cell.key]
            if _finished(out, cell.key, fingerprint, say):
                continue
            held = _claim(out, cell.key, group, reclaim=reclaim, timeout_s=claim_timeout_s)
            if held is None:
                say(f"{cell.key}: {claims.describe(_claim_path(out, cell.key))}; skipped")
                continue
            try:
                if samples is None:
                    samples = data.load(
                        reader,
                        space,
                        rows=np.concatenate([reader.train.rows, reader.test.rows]),
                        device=device,
                        input_size=config.input_size,
                        workers=config.workers,
                    )
                    kind = "resident on the device" if samples.resident else "streamed (DataLoader)"
                    say(f"{cache}/{space.name}: samples {kind}")
                _train_cell(
                    config, cell, reader, samples, device, group, fingerprint, say, held,
                    cameras[cache],
                )  # fmt: skip
            finally:
                if held is not True:
                    held.release()
        del samples
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if group.is_main:
        _costs(config, cells, readers, device, say)
    group.wait()
    results = write_report(out, log=log) if shard is None and group.is_main else None
    group.close()
    return results


def write_report(out: str | os.PathLike[str], *, log: Callable[[str], None] | None = None) -> dict:
    """Assemble ``results.json``, ``.csv``, ``.md`` and the figures from the finished cells.

    Reads ``OUT/plan.json`` (written by :func:`run`); a planned cell whose files are
    missing is listed as missing, and a cell file whose fingerprint differs from the plan
    (made with other settings, or from another cache) is refused and listed.

    Returns
    -------
    dict
        The content of ``results.json``.

    Raises
    ------
    CompareError
        ``OUT/plan.json`` is missing or unreadable, or no planned cell is finished.
    """
    out = Path(out)
    say = _logger(out, log, enabled=True)
    try:
        plan = json.loads((out / _PLAN).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompareError(f"{out} holds no {_PLAN}: run rawspace compare into it first") from None
    except (OSError, ValueError) as error:
        raise CompareError(f"{out / _PLAN} cannot be read: {error}") from None
    finished, missing, refused = [], [], []
    for key, fingerprint in plan["cells"].items():
        stored = _stored(out, key)
        if stored is None:
            missing.append(key)
        elif stored.get("fingerprint") != fingerprint:
            refused.append(key)
        else:
            finished.append(stored)
    if not finished:
        raise CompareError(f"{out}: none of the {len(plan['cells'])} planned cells is finished")
    if missing or refused:
        say(f"report: {len(missing)} cell(s) missing, {len(refused)} refused")
    config = plan["config"]
    results = report.assemble(
        out,
        config=config,
        cells=finished,
        costs=_stored_costs(out),
        missing=missing,
        refused=refused,
        regime=_REGIMES[config["mode"]],
        notes=_notes(config),
    )
    report.write(out, results)
    say(f"wrote {out / 'results.md'}")
    return results


# -------------------------------------------------------------------------- planning
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
    if isinstance(config.seeds, bool) or not isinstance(config.seeds, int) or config.seeds < 1:
        raise CompareError(f"seeds must be a positive integer; got {config.seeds!r}")
    if config.test_cameras < 0:
        raise CompareError(f"test cameras must be ≥ 0; got {config.test_cameras}")
    shifting = config.test_cameras > 0 or bool(config.test_camera_files)
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
        if shifting and not reader.has_rgb and any(space.raw for space in chosen):
            raise CompareError(
                f"{where}: the camera-shift test unprocesses the cache's rgb images, which it "
                "does not hold (built with --no-rgb)"
            )
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
    c, h, w = space.input_shape(height=reader.size, width=reader.size, input_size=input_size)
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


def _cells(
    config: CompareConfig, chosen: tuple[Space, ...], readers: dict[str, CacheReader]
) -> list[_Cell]:
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
                cost = (
                    _TRAIN_COST[model] * (h * w) / 224**2 * len(reader.train) * config.train.epochs
                )
                cells += [
                    _Cell(cache, model, space, fold, seed, cost) for fold in folds for seed in seeds
                ]
    return cells


def _by_data(cells: list[_Cell]) -> dict[tuple[str, Space], list[_Cell]]:
    groups: dict[tuple[str, Space], list[_Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.cache, cell.space), []).append(cell)
    return groups


def _fingerprint(
    config: CompareConfig,
    cell: _Cell,
    content: str,
    cameras: list[tuple[str, CameraParams]],
) -> dict[str, object]:
    """Everything that shapes a cell's result: a stored cell with another one is retrained.
    ``content`` is the cache's content fingerprint (:meth:`CacheReader.fingerprint`)."""
    return {
        "cache": content,
        "model": cell.model,
        "space": cell.space.name,
        "fold": cell.fold,
        "seed": cell.seed,
        "folds": config.folds,
        "mode": config.mode,
        "weights": config.weights_for(cell.model),
        "input_size": config.input_size,
        "train": asdict(config.train) | {"quiet": None, "seed": None},
        "val_fraction": _VAL_FRACTION,
        "test_cameras": [[n, c.to_dict()] for n, c in cameras] if cell.space.raw else [],
    }


# ----------------------------------------------------------------------------- cells
def _logger(
    out: Path, log: Callable[[str], None] | None, *, enabled: bool
) -> Callable[[str], None]:
    def say(line: str) -> None:
        if not enabled:
            return
        with open(out / "log.txt", "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        if log is not None:
            log(line)

    return say


def _stored(out: Path, key: str) -> dict | None:
    """The stored cell ``key`` when both its files exist, else None."""
    path = out / "cells" / f"{key}.json"
    if not path.is_file() or not path.with_suffix(".npz").is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def _finished(out: Path, key: str, fingerprint: dict, say: Callable[[str], None]) -> bool:
    """Whether cell ``key`` is finished with this fingerprint (else say why it is retrained)."""
    stored = _stored(out, key)
    if stored is None:
        return False
    old = stored.get("fingerprint") or {}
    if old == fingerprint:
        say(f"{key}: finished earlier, not retrained")
        return True
    changed = sorted(k for k in set(old) | set(fingerprint) if old.get(k) != fingerprint.get(k))
    reasons = ["the cache's contents" if k == "cache" else k for k in changed]
    say(f"{key}: retrained: the stored result was made with other {', '.join(reasons)}")
    return False


def _claim_path(out: Path, key: str) -> Path:
    return out / "cells" / f"{key}.claim"


def _claim(
    out: Path, key: str, group: distributed.Group, *, reclaim: bool, timeout_s: float
) -> claims.Claim | bool | None:
    """Rank 0 claims the cell and tells the others: a Claim (rank 0), True (other ranks:
    train it) or None (another process holds it)."""
    held = None
    if group.is_main:
        held = claims.claim(_claim_path(out, key), timeout_s=timeout_s, reclaim=reclaim)
    if not group.parallel:
        return held
    granted = group.broadcast(held is not None)
    return held if group.is_main else (True if granted else None)


def _cache_camera(reader: CacheReader, **fields: object) -> CameraParams:
    """A camera in the cache's raw format (CFA, levels, curves), drawn as Brooks et al."""
    attrs = reader.attrs
    options = {
        "cfa": reader.cfa,
        "black_level": reader.black_level,
        "white_level": reader.white_level,
        "tone": attrs["tone"],
        "gamma": attrs["gamma"],
    }
    return CameraParams.sample(**(options | fields))


def _evaluation_camera(reader: CacheReader) -> CameraParams:
    """The camera that validation and test samples of the camera spaces are unprocessed
    with: the cache's own when all its samples share one; else one fixed camera drawn
    from the cache's seed."""
    if reader.attrs["n_cameras"] == 1:
        return reader.params(0)
    return _cache_camera(
        reader, seed_or_rng=stable_seed(int(reader.attrs["seed"]), "evaluation-camera")
    )


def _camera_schedule(
    reader: CacheReader, train_rows: np.ndarray, seed: int, device: torch.device
) -> unprocess.CameraSchedule:
    return unprocess.CameraSchedule.create(
        train_rows=train_rows, evaluation=_evaluation_camera(reader), seed=seed, device=device
    )


def _test_cameras(config: CompareConfig, reader: CacheReader) -> list[tuple[str, CameraParams]]:
    """The unseen cameras of the camera-shift test, each in the cache's CFA: drawn from the
    stream ``stable_seed(train.seed, "test-cameras")`` (unrelated to any training camera),
    then read from the given files."""
    rng = np.random.default_rng(stable_seed(config.train.seed, "test-cameras"))
    found = [(f"sampled {k + 1}", _cache_camera(reader, seed_or_rng=rng))
             for k in range(config.test_cameras)]  # fmt: skip
    for path in config.test_camera_files:
        try:
            camera = load_camera(path)
        except (OSError, ValueError) as error:
            raise CompareError(f"--test-camera {path}: {error}") from error
        found.append((Path(path).name, dataclasses.replace(camera, cfa=reader.cfa)))
    return found


def _raw_rows(
    reader: CacheReader, rows: np.ndarray, camera: CameraParams, device: torch.device
) -> np.ndarray:
    """The cache's rgb images of ``rows`` inverted with ``camera`` into the cache's raw
    layout and levels (uint16, rounded as :func:`rawspace.invert` rounds): what a cache
    built with that camera would hold, without noise."""
    rgb = torch.from_numpy(reader.read("rgb", rows)).to(device).permute(0, 3, 1, 2)
    unit = unprocess.invert(rgb, camera, layout=reader.layout).double()
    span = reader.white_level - reader.black_level
    values = torch.floor(unit * span + (reader.black_level + 0.5)).to(torch.int32)
    array = values.cpu().numpy().astype(np.uint16)
    if reader.layout == "bayer":
        return array[:, 0]
    return array.transpose(0, 2, 3, 1)  # (n, h, w, C): packed planes or camera RGB


def _camera_shift(
    model: torch.nn.Module,
    pipeline: spaces.InputPipeline,
    reader: CacheReader,
    test_rows: np.ndarray,
    cameras: list[tuple[str, CameraParams]],
    config: CompareConfig,
    device: torch.device,
    group: distributed.Group,
    samples: data.ResidentSamples | data.StreamedSamples,
) -> np.ndarray:
    """Test probabilities (C, n, K) of ``model`` with each unseen camera."""
    found = []
    for _, camera in cameras:
        if pipeline.space.camera:
            shifted = dataclasses.replace(
                pipeline, cameras=pipeline.cameras.with_evaluation(camera)
            )
            these = samples
        else:
            shifted = pipeline
            these = data.ResidentSamples(
                reader,
                pipeline.space,
                rows=test_rows,
                device=device,
                input_size=config.input_size,
                read=lambda rows, camera=camera: _raw_rows(reader, rows, camera, device),
            )
        probabilities, _ = predict(
            model, these, shifted, test_rows, device=device,
            batch_size=config.train.batch_size, group=group,
        )  # fmt: skip
        found.append(probabilities)
    return np.stack(found)


def _split(cell: _Cell, reader: CacheReader, folds: int) -> tuple[np.ndarray, ...]:
    """Cache rows of the cell's training, validation and test samples."""
    test = reader.test.rows
    if folds >= 2:
        train, val = reader.fold(cell.fold)
        return train.rows, val.rows, test
    training = reader.train
    carved = assign_splits(training.labels, test_fraction=_VAL_FRACTION, folds=0, seed=cell.seed)
    return training.rows[carved.split == 0], training.rows[carved.split == 1], test


def _split_description(reader: CacheReader) -> dict[str, object]:
    config = reader.config
    return {
        "source_format": config["source_format"],
        "grouped": reader.groups is not None,
        "group_column": "group" if reader.groups is not None else None,
        "test_fraction": config["test_fraction"],
        "folds": config["folds"],
        "seed": reader.attrs["seed"],
    }


def _train_cell(
    config: CompareConfig,
    cell: _Cell,
    reader: CacheReader,
    samples: data.ResidentSamples | data.StreamedSamples,
    device: torch.device,
    group: distributed.Group,
    fingerprint: dict[str, object],
    say: Callable[[str], None],
    held: claims.Claim | bool,
    test_cameras: list[tuple[str, CameraParams]],
) -> None:
    start = time.perf_counter()
    train_rows, val_rows, test_rows = _split(cell, reader, config.folds)
    say(
        f"{cell.key}: training on {len(train_rows)}, validating on {len(val_rows)}, "
        f"testing on {len(test_rows)}"
    )
    fmt = RawFormat.of(reader)
    space = cell.space
    shape = space.input_shape(height=reader.size, width=reader.size, input_size=config.input_size)
    cameras = _camera_schedule(reader, train_rows, cell.seed, device) if space.camera else None
    pipeline = spaces.InputPipeline(
        space, fmt, spaces.Normalization.identity(shape[0]), cameras=cameras
    )
    batches = data.batch_rows(train_rows, batch_size=_STATS_BATCH)
    normalization = spaces.fit_normalization(
        pipeline.unit(stored, rows=rows)
        for rows, (stored, _) in zip(batches, samples.batches(batches), strict=True)
    )
    pipeline = dataclasses.replace(pipeline, normalization=normalization)
    weights = config.weights_for(cell.model)
    colors = space.channel_colors(reader.cfa)
    train_config = dataclasses.replace(config.train, seed=cell.seed)
    seed_everything(cell.seed)
    model = models.create(
        cell.model,
        num_classes=len(reader.class_names),
        in_channels=shape[0],
        weights=weights,
        mode=config.mode,
        image_size=shape[1],
        channel_colors=colors,
    )

    def epoch_done(line: str) -> None:
        if isinstance(held, claims.Claim):
            held.touch()
        say(f"{cell.key}: {line}")

    result = fit(
        model,
        samples,
        pipeline,
        train_rows=train_rows,
        val_rows=val_rows,
        config=train_config,
        device=device,
        group=group,
        log=epoch_done,
    )
    probabilities, labels = predict(
        model,
        samples,
        pipeline,
        test_rows,
        device=device,
        batch_size=config.train.batch_size,
        group=group,
    )
    scores = evaluate(labels, probabilities, class_names=reader.class_names)
    say(
        f"{cell.key}: test accuracy {100 * scores.accuracy:.2f} % macro F1 "
        f"{scores.macro_f1:.3f} wAUC {scores.wauc:.3f} (best epoch {result.best_epoch})"
    )
    shift = {}
    if space.raw and test_cameras:
        shift["camera_probabilities"] = _camera_shift(
            model, pipeline, reader, test_rows, test_cameras, config, device, group, samples
        )
        accuracy = (shift["camera_probabilities"].argmax(-1) == labels).mean(-1)
        say(
            f"{cell.key}: unseen cameras: accuracy "
            + ", ".join(f"{100 * a:.2f} %" for a in accuracy)
        )
    if not group.is_main:
        return
    cell_data = {
        "key": cell.key,
        "cache": cell.cache,
        "model": cell.model,
        "space": space.name,
        "fold": cell.fold,
        "seed": cell.seed,
        "fingerprint": fingerprint,
        "class_names": list(reader.class_names),
        "scores": scores.to_dict(),
        "train": result.to_dict(),
        "input": pipeline.describe(shape),
        "first_layer": _first_layer_note(cell.model, shape[0], weights, colors),
        "split": _split_description(reader),
        "environment": _environment(device),
        "n_train": len(train_rows),
        "n_val": len(val_rows),
        "n_test": len(test_rows),
        "test_rows": test_rows.tolist(),
        "test_cameras": [name for name, _ in test_cameras] if shift else [],
        "seconds": time.perf_counter() - start,
    }
    path = Path(config.out) / "cells" / f"{cell.key}.json"
    np.savez_compressed(
        path.with_suffix(".npz"), labels=labels, probabilities=probabilities, **shift
    )
    write_text(path, json.dumps(cell_data, indent=1))


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


# ------------------------------------------------------------------------------ costs
def _cost_key(model: str, space: Space, shape: tuple[int, ...], classes: int) -> str:
    return f"cost__{model}__{space.name}__{'x'.join(map(str, shape))}__{classes}"


def _costs(
    config: CompareConfig,
    cells: list[_Cell],
    readers: dict[str, CacheReader],
    device: torch.device,
    say: Callable[[str], None],
) -> None:
    """Profile each (model, space, input) of ``cells`` once into ``OUT/cells/cost__*.json``;
    a profile measured on CUDA is kept, one from the CPU is redone on CUDA."""
    for cell in cells:
        reader = readers[cell.cache]
        shape = cell.space.input_shape(
            height=reader.size, width=reader.size, input_size=config.input_size
        )
        classes = len(reader.class_names)
        path = (
            Path(config.out) / "cells" / f"{_cost_key(cell.model, cell.space, shape, classes)}.json"
        )
        stored = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        if stored is not None and (stored["latency_ms"] is not None or device.type != "cuda"):
            continue
        net = models.create(
            cell.model, num_classes=classes, in_channels=shape[0], image_size=shape[1]
        ).to(device)
        stored = {
            "model": cell.model,
            "space": cell.space.name,
            "classes": classes,
            **profile(net, shape).to_dict(),
        }
        write_text(path, json.dumps(stored, indent=1))
        del net
        say(f"cost of {cell.model} on {cell.space.name} {shape}: {stored['gmacs']:.2f} GMACs")


def _stored_costs(out: Path) -> list[dict[str, object]]:
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((out / "cells").glob("cost__*.json"))
    ]


def _environment(device: torch.device) -> dict[str, object]:
    packages = ("torchvision", "numpy", "scipy", "scikit-learn", "h5py", "rawspace")
    return {
        "device": device_name(device),
        "versions": {"python": platform.python_version(), "torch": torch.__version__}
        | {name: importlib.metadata.version(name) for name in packages},
        "cuda": torch.version.cuda if device.type == "cuda" else None,
    }


def _notes(config: dict[str, object]) -> list[str]:
    folds, seeds = config["folds"], config["seeds"]
    if folds >= 2:
        runs = (
            f"{folds} folds × {seeds} seed(s): run (f, s) validates on the training samples "
            f"of fold f (early stopping, best epoch) and trains on all other training samples "
            f"with seed s; every run is tested on the same held-out test split."
        )
    else:
        runs = (
            f"{seeds} seed(s): each run trains on the training split minus a stratified 10 % "
            f"validation set drawn with its seed (early stopping, best epoch) and is tested "
            f"on the held-out test split."
        )
    return [
        runs,
        "Validation and test logits are computed in float32; BatchNorm statistics are "
        "recomputed over (up to "
        f"{config['train']['precise_bn']}) training samples before every validation.",
        "GMACs = half of torch FlopCounterMode's count (the study's 'FLOPs'); activations = "
        "outputs of Conv2d and Linear layers incl. attention in/out projections.",
        "Epoch time covers the whole training pass (data included); model time is the pure "
        "forward + backward time per batch, measured once per run on pre-made batches, × "
        "batches per epoch.",
    ]
