"""The configuration of a comparison and the parsing of its command-line values."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from rawspace import shards

from .. import models, pretrained
from ..train import TrainConfig

__all__ = [
    "RECIPE_FIELDS",
    "CompareConfig",
    "CompareError",
    "parse_caches",
    "parse_shard",
    "parse_weights",
]

#: The :class:`~classifiers.train.TrainConfig` fields a model's fine-tuning recipe
#: (:func:`classifiers.pretrained.recipe`) sets unless the user chose them.
RECIPE_FIELDS = ("lr", "warmup_epochs", "weight_decay", "layer_decay")

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


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
        ``K ≥ 2``: one run per cache fold, validated on it; 0 or 1: one run per seed,
        validated on a stratified 10 % of the training split.
    seeds : int
        Runs per fold, with seeds ``train.seed``, ``train.seed + 1``, …
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    input_size : int or None
        Side of the model input (:mod:`classifiers.spaces`); None keeps native sizes.
    workers : int
        DataLoader workers when samples do not fit in device memory.
    train : TrainConfig
        The training options; its :data:`RECIPE_FIELDS` are replaced per model by the
        model's recipe (:meth:`train_for`) but for those named in ``train_given``.
    train_given : tuple of str
        The :data:`RECIPE_FIELDS` the user chose (``--lr``, ``--warmup-epochs``, …): kept
        for every model.
    test_cameras : int
        Unseen cameras drawn from the held-out part of the camera catalogue
        (:func:`classifiers.unprocess.unseen_cameras`, from a seed of their own), on which
        every trained raw model is also tested (the camera-shift test); the ``*_cam``
        spaces train on cameras of the catalogue's training part.
    test_camera_files : tuple of str
        Further unseen cameras: real raw files or camera JSON files
        (:func:`rawspace.cameras.load_camera`).
    test_camera_curves : {"cache", "own"}
        A camera file's tone and gamma curves: the cache's (only the camera changes) or
        the file's own.
    primary : str or None
        The report's primary comparison ``"A-B"`` of two of ``spaces``; None: ``rgb``
        against the first raw space named (:mod:`classifiers.report`).
    margin : float or None
        Non-inferiority margin in percentage points (> 0) of the report, or None.

    The report's options (``primary``, ``margin``) shape no cell: they are in no
    fingerprint.

    Examples
    --------
    >>> config = CompareConfig(caches=(("pbc", Path("pbc.h5")),), out=Path("out"))
    >>> CompareConfig.from_dict(config.to_dict()) == config
    True
    >>> config.weights_for("resnet50") is None
    True
    >>> config.train_for("resnet50").lr
    0.001
    >>> CompareConfig(caches=config.caches, out=Path("out"), primary="rgb-raw_bayer")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    classifiers.grid.config.CompareError: --primary: 'raw_bayer' is not one of the spaces ...
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
    train_given: tuple[str, ...] = ()
    test_cameras: int = 0
    test_camera_files: tuple[str, ...] = ()
    test_camera_curves: Literal["cache", "own"] = "cache"
    primary: str | None = None
    margin: float | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.train_given) - set(RECIPE_FIELDS))
        if unknown:
            raise CompareError(f"train_given must name {', '.join(RECIPE_FIELDS)}; got {unknown}")
        if self.test_camera_curves not in ("cache", "own"):
            raise CompareError(
                f"--test-camera-curves must be cache or own; got {self.test_camera_curves!r}"
            )
        if self.margin is not None and not (
            isinstance(self.margin, (int, float)) and 0 < self.margin < 100
        ):
            raise CompareError(f"--margin must be between 0 and 100 points; got {self.margin!r}")
        if self.primary is not None:
            from ..report.family import parse_primary  # the report's own reading of A-B

            try:
                parse_primary(self.primary, self.spaces)
            except ValueError as error:
                raise CompareError(f"--{error}") from None

    def weights_for(self, model: str) -> str | None:
        """The weights spec of ``model``."""
        return dict(self.weights).get(model)

    def recipe_for(self, model: str) -> pretrained.Recipe:
        """The fine-tuning recipe of ``model`` with its weights in this ``mode``
        (:func:`classifiers.pretrained.recipe`)."""
        return pretrained.recipe(model, weights=self.weights_for(model), mode=self.mode)

    def train_for(self, model: str) -> TrainConfig:
        """The training options of ``model``: :attr:`train` with the model's recipe in
        every :data:`RECIPE_FIELDS` field the user did not choose (``train_given``)."""
        tuned = self.recipe_for(model).apply(self.train)
        kept = {name: getattr(self.train, name) for name in self.train_given}
        return dataclasses.replace(tuned, **kept)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the ``config`` of ``plan.json`` and ``results.json``)."""
        out = asdict(self)
        out["caches"] = {name: str(path) for name, path in self.caches}
        out["out"] = str(self.out)
        out["weights"] = dict(self.weights)
        out["models"], out["spaces"] = list(self.models), list(self.spaces)
        out["test_camera_files"] = list(self.test_camera_files)
        out["train_given"] = list(self.train_given)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompareConfig:
        """Rebuild from :meth:`to_dict`'s output; raises :class:`CompareError` when
        ``data`` is not such a dictionary."""
        try:
            train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
            train = TrainConfig(**{k: v for k, v in data["train"].items() if k in train_fields})
            return cls(
                caches=tuple((str(n), Path(p)) for n, p in data["caches"].items()),
                out=Path(data["out"]),
                models=tuple(map(str, data["models"])),
                spaces=tuple(map(str, data["spaces"])),
                mode=str(data["mode"]),
                weights=tuple(data["weights"].items()),
                folds=int(data["folds"]),
                seeds=int(data["seeds"]),
                device=str(data["device"]),
                input_size=None if data["input_size"] is None else int(data["input_size"]),
                workers=int(data["workers"]),
                train=train,
                test_cameras=int(data["test_cameras"]),
                test_camera_files=tuple(map(str, data["test_camera_files"])),
                train_given=tuple(map(str, data.get("train_given", RECIPE_FIELDS))),
                test_camera_curves=data.get("test_camera_curves", "own"),
                primary=None if data.get("primary") is None else str(data["primary"]),
                margin=None if data.get("margin") is None else float(data["margin"]),
            )
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise CompareError(f"not a comparison configuration ({error!r})") from None


def parse_caches(
    positional: str | os.PathLike[str] | None, named: Sequence[str] = ()
) -> tuple[tuple[str, Path], ...]:
    """Caches from a positional argument (a file, or a folder of ``*.h5`` files, each named
    by its stem) and ``NAME=PATH`` items. Raises :class:`CompareError`.

    Examples
    --------
    >>> parse_caches("data/pbc.h5", ["per_image=data/pbc_cams.h5"])
    (('pbc', PosixPath('data/pbc.h5')), ('per_image', PosixPath('data/pbc_cams.h5')))
    >>> parse_caches(None, ["x.h5"])
    Traceback (most recent call last):
    ...
    classifiers.grid.config.CompareError: --cache needs NAME=PATH; got 'x.h5'
    """
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
    """``none``, a named weight (:data:`classifiers.models.PRETRAINED`: ``imagenet``, …), a
    path, or ``MODEL=SPEC,…`` → (model, spec) pairs.

    A single spec applies to every model; with ``MODEL=SPEC`` items, unlisted models get
    None (random initialisation). Raises :class:`CompareError`.

    Examples
    --------
    >>> parse_weights("imagenet", ["resnet50", "vit_b_16"])
    (('resnet50', 'imagenet'), ('vit_b_16', 'imagenet'))
    >>> parse_weights("vit_b_16=imagenet", ["resnet50", "vit_b_16"])
    (('resnet50', None), ('vit_b_16', 'imagenet'))
    """

    def spec(value: str) -> str | None:
        value = value.strip()
        if value.lower() == "none":
            return None
        if value.lower() in models.PRETRAINED:
            return value.lower()
        if not Path(value).is_file():
            raise CompareError(f"weights file not found: {value}")
        return value

    if "=" not in text:
        return tuple((m, spec(text)) for m in model_names)
    pairs = {}
    for item in text.split(","):
        model, sep, value = item.partition("=")
        model = model.strip()
        if not sep or model not in model_names:
            raise CompareError(
                f"--weights items must be MODEL=SPEC with MODEL one of "
                f"{', '.join(model_names)} (the --models); got {item!r}"
            )
        pairs[model] = spec(value)
    return tuple((m, pairs.get(m)) for m in model_names)


def parse_shard(text: str, environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``"K/N"`` or ``"auto"`` (in a SLURM array job) → (K, N), as
    :func:`rawspace.shards.parse_shard` reads it. Raises :class:`CompareError`.

    Examples
    --------
    >>> parse_shard("2/8")
    (2, 8)
    """
    try:
        return shards.parse_shard(text, environ)
    except ValueError as error:
        raise CompareError(str(error)) from None
