"""The typed record of one cell of a comparison, and its files.

A finished cell ``KEY`` leaves ``OUT/cells/KEY.json`` (a :class:`CellRecord`) and
``OUT/cells/KEY.npz`` (its :class:`Predictions`); each model's cost profile lies in
``OUT/cells/cost__*.json`` (a :class:`CostRecord`). This module is the only one that
writes or reads them: every file is written to a temporary name and renamed, and every
file read is checked (JSON shape, array names, dtypes and lengths), so a damaged or
inconsistent file raises :class:`RecordError` instead of serving wrong values. The
layout is documented in ``docs/results.md``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from rawspace.files import atomic_path, write_text

from ..cost import CostReport
from ..metrics import Scores
from ..train import EpochRecord

__all__ = [
    "SCHEMA_VERSION",
    "CellKey",
    "CellRecord",
    "CostRecord",
    "Environment",
    "InputDescription",
    "Predictions",
    "RecordError",
    "SplitDescription",
    "Training",
    "read_cell",
    "read_cost",
    "write_cell",
    "write_cost",
]

#: Version of the layout of ``cells/*.json``, ``plan.json`` and ``results.json``.
SCHEMA_VERSION = 1


class RecordError(ValueError):
    """A stored file of a comparison that is missing, damaged or inconsistent."""


@dataclass(frozen=True, order=True)
class CellKey:
    """Which cell: cache, model, input space, fold and seed.

    Examples
    --------
    >>> key = CellKey("pbc", "resnet50", "raw_packed", 0, 1)
    >>> key.name
    'pbc__resnet50__raw_packed__fold0__seed1'
    >>> CellKey.parse(key.name) == key
    True
    """

    cache: str
    model: str
    space: str
    fold: int
    seed: int

    @property
    def name(self) -> str:
        """The file stem of the cell: ``CACHE__MODEL__SPACE__foldF__seedS``."""
        return f"{self.cache}__{self.model}__{self.space}__fold{self.fold}__seed{self.seed}"

    @property
    def run(self) -> tuple[int, int]:
        """(fold, seed): the run, shared by paired cells."""
        return self.fold, self.seed

    @classmethod
    def parse(cls, name: str) -> CellKey:
        """Inverse of :attr:`name`; raises :class:`RecordError`."""
        parts = name.split("__")
        if len(parts) != 5 or not parts[3].startswith("fold") or not parts[4].startswith("seed"):
            raise RecordError(f"not a cell key: {name!r}")
        try:
            return cls(parts[0], parts[1], parts[2], int(parts[3][4:]), int(parts[4][4:]))
        except ValueError:
            raise RecordError(f"not a cell key: {name!r}") from None


@dataclass(frozen=True)
class SplitDescription:
    """How the cache's split was made (from its build configuration)."""

    source_format: str
    grouped: bool
    group_column: str | None
    test_fraction: float
    folds: int
    seed: int


@dataclass(frozen=True)
class InputDescription:
    """The exact model input of a cell (:meth:`classifiers.spaces.InputPipeline.describe`)."""

    space: str
    shape: tuple[int, ...]
    dtype: str
    source: str
    scaling: str
    description: str
    cfa: str | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    normalization: str = "the training samples' mean/std"


@dataclass(frozen=True)
class Environment:
    """Where a cell ran: the device's name, package versions and the CUDA version."""

    device: str
    versions: Mapping[str, str]
    cuda: str | None


@dataclass(frozen=True)
class Training:
    """The training run of a cell (:class:`classifiers.train.TrainResult`)."""

    history: tuple[EpochRecord, ...]
    best_epoch: int
    best_val_acc: float
    stopped_early: bool
    device: str
    resident: bool
    precision: str
    processes: int
    threads: int = 1


@dataclass(frozen=True)
class CellRecord:
    """What one finished cell produced; ``OUT/cells/KEY.json``.

    ``fingerprint`` holds everything that shapes the result (the cache's content
    fingerprint and every setting); ``test_rows`` the cache rows of the test images in
    the order of the predictions; ``test_cameras`` the unseen cameras it was also tested
    on (empty for RGB spaces), ``training_cameras`` the catalogue cameras of a ``*_cam``
    space's training pool; ``checkpoint`` the exact pretrained checkpoint (None from
    scratch) and ``recipe`` the training options the model got and where they are from;
    ``seconds`` its wall time.

    Examples
    --------
    >>> from classifiers.metrics import evaluate
    >>> labels = np.array([0, 1, 1])
    >>> scores = evaluate(labels, np.eye(2)[labels], class_names=("a", "b"))
    >>> epoch = EpochRecord(1, 0.7, 0.5, 1.0, 0.6, 1e-3, 2.0, 1.5, 1.33, 0.1)
    >>> record = CellRecord(
    ...     key=CellKey("pbc", "resnet50", "rgb", 0, 0), fingerprint={"seed": 0},
    ...     class_names=("a", "b"), scores=scores,
    ...     train=Training((epoch,), 1, 1.0, False, "cpu", True, "fp32", 1),
    ...     input=InputDescription("rgb", (3, 8, 8), "float32", "cache rgb (uint8)",
    ...                            "v / 255", "sRGB", None, (0.5,) * 3, (0.2,) * 3),
    ...     first_layer="conv1: random initialisation",
    ...     split=SplitDescription("folders", False, None, 0.2, 2, 0),
    ...     environment=Environment("cpu", {"torch": "2"}, None),
    ...     n_train=4, n_val=2, n_test=3, test_rows=(7, 8, 9))
    >>> restored = CellRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    >>> restored.key == record.key and restored.test_rows == record.test_rows
    True
    >>> CellRecord.from_dict([])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    classifiers.grid.record.RecordError: not a cell record (TypeError: list indices ...)
    """

    key: CellKey
    fingerprint: Mapping[str, Any]
    class_names: tuple[str, ...]
    scores: Scores
    train: Training
    input: InputDescription
    first_layer: str
    split: SplitDescription
    environment: Environment
    n_train: int
    n_val: int
    n_test: int
    test_rows: tuple[int, ...]
    test_cameras: tuple[str, ...] = ()
    training_cameras: tuple[str, ...] = ()
    checkpoint: str | None = None
    recipe: str = ""
    seconds: float = 0.0

    @property
    def predictions(self) -> str:
        """The file name of the cell's predictions, beside its JSON file."""
        return f"{self.key.name}.npz"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (inverse of :meth:`from_dict`)."""
        train = asdict(self.train) | {"history": [asdict(e) for e in self.train.history]}
        return {
            "schema_version": SCHEMA_VERSION,
            "key": self.key.name,
            **asdict(self.key),
            "fingerprint": dict(self.fingerprint),
            "class_names": list(self.class_names),
            "scores": self.scores.to_dict(),
            "train": train,
            "input": asdict(self.input) | {"shape": list(self.input.shape)},
            "first_layer": self.first_layer,
            "split": asdict(self.split),
            "environment": asdict(self.environment) | {"versions": dict(self.environment.versions)},
            "n_train": self.n_train,
            "n_val": self.n_val,
            "n_test": self.n_test,
            "test_rows": list(self.test_rows),
            "test_cameras": list(self.test_cameras),
            "training_cameras": list(self.training_cameras),
            "checkpoint": self.checkpoint,
            "recipe": self.recipe,
            "seconds": self.seconds,
            "predictions": self.predictions,
        }

    @classmethod
    def from_dict(cls, data: Any) -> CellRecord:
        """Rebuild from :meth:`to_dict`'s output; :class:`RecordError` when ``data`` is
        not one (wrong type, missing or extra fields, inconsistent lengths)."""
        try:
            key = CellKey.parse(data["key"])
            if key != CellKey(data["cache"], data["model"], data["space"], data["fold"],
                              data["seed"]):  # fmt: skip
                raise RecordError(f"cell {data['key']}: fields disagree with its key")
            train = dict(data["train"])
            train["history"] = tuple(EpochRecord(**e) for e in train["history"])
            record = cls(
                key=key,
                fingerprint=dict(data["fingerprint"]),
                class_names=tuple(map(str, data["class_names"])),
                scores=Scores.from_dict(data["scores"]),
                train=Training(**train),
                input=_input(data["input"]),
                first_layer=str(data["first_layer"]),
                split=SplitDescription(**data["split"]),
                environment=Environment(**data["environment"]),
                n_train=int(data["n_train"]),
                n_val=int(data["n_val"]),
                n_test=int(data["n_test"]),
                test_rows=tuple(int(r) for r in data["test_rows"]),
                test_cameras=tuple(map(str, data["test_cameras"])),
                training_cameras=tuple(map(str, data.get("training_cameras", ()))),
                checkpoint=None if data.get("checkpoint") is None else str(data["checkpoint"]),
                recipe=str(data.get("recipe", "")),
                seconds=float(data["seconds"]),
            )
        except RecordError:
            raise
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as error:
            raise RecordError(f"not a cell record ({type(error).__name__}: {error})") from None
        if len(record.test_rows) != record.n_test:
            raise RecordError(f"{len(record.test_rows)} test rows but n_test {record.n_test}")
        if record.scores.confusion.shape != (len(record.class_names),) * 2:
            raise RecordError("confusion matrix does not match the class names")
        return record


def _input(data: Mapping[str, Any]) -> InputDescription:
    values = dict(data)
    for name in ("shape", "mean", "std"):
        values[name] = tuple(values[name])
    return InputDescription(**values)


@dataclass(frozen=True)
class Predictions:
    """The test predictions of a cell; ``OUT/cells/KEY.npz``.

    Attributes
    ----------
    labels : numpy.ndarray, shape (n,), int64
    probabilities : numpy.ndarray, shape (n, K), float32
    camera_probabilities : numpy.ndarray, shape (C, n, K), or None
        With each of C unseen test cameras (the camera-shift test).

    Examples
    --------
    >>> p = Predictions(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]], np.float32))
    >>> p.check(n=2, classes=2, cameras=0) is p
    True
    >>> p.check(n=3, classes=2, cameras=0)
    Traceback (most recent call last):
    ...
    classifiers.grid.record.RecordError: labels: 2 values, expected 3
    """

    labels: np.ndarray
    probabilities: np.ndarray
    camera_probabilities: np.ndarray | None = field(default=None)

    def check(self, *, n: int, classes: int, cameras: int) -> Predictions:
        """Self, when the arrays have the shapes a cell with ``n`` test images, ``classes``
        classes and ``cameras`` unseen cameras gives; else :class:`RecordError`."""
        if self.labels.shape != (n,) or self.labels.dtype.kind not in "iu":
            raise RecordError(f"labels: {self.labels.size} values, expected {n}")
        if n and (self.labels.min() < 0 or self.labels.max() >= classes):
            raise RecordError(f"labels outside 0 … {classes - 1}")
        if self.probabilities.shape != (n, classes):
            raise RecordError(f"probabilities: shape {self.probabilities.shape}, expected "
                              f"{(n, classes)}")  # fmt: skip
        expected = (cameras, n, classes)
        found = None if self.camera_probabilities is None else self.camera_probabilities.shape
        if (cameras or found is not None) and found != expected:
            raise RecordError(f"camera_probabilities: shape {found}, expected {expected}")
        return self


@dataclass(frozen=True)
class CostRecord:
    """The cost profile of one model on one input; ``OUT/cells/cost__*.json``."""

    model: str
    space: str
    classes: int
    report: CostReport

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (inverse of :meth:`from_dict`)."""
        return {"model": self.model, "space": self.space, "classes": self.classes,
                **self.report.to_dict()}  # fmt: skip

    @classmethod
    def from_dict(cls, data: Any) -> CostRecord:
        """Rebuild from :meth:`to_dict`'s output; :class:`RecordError` when it is not one."""
        try:
            names = {f.name for f in fields(CostReport)}
            values = {k: v for k, v in data.items() if k in names}
            values["input_size"] = tuple(int(s) for s in values["input_size"])
            return cls(str(data["model"]), str(data["space"]), int(data["classes"]),
                       CostReport(**values))  # fmt: skip
        except (KeyError, TypeError, AttributeError, ValueError) as error:
            raise RecordError(f"not a cost record ({type(error).__name__}: {error})") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path.name} is missing") from None
    except (OSError, ValueError) as error:
        raise RecordError(f"{path.name} cannot be read: {error}") from None


def write_cell(cells: Path, record: CellRecord, predictions: Predictions) -> None:
    """Write ``record`` and ``predictions`` into the folder ``cells``, each atomically; the
    predictions first, so a JSON file always has its predictions beside it."""
    arrays = {"labels": predictions.labels, "probabilities": predictions.probabilities}
    if predictions.camera_probabilities is not None:
        arrays["camera_probabilities"] = predictions.camera_probabilities
    with atomic_path(cells / record.predictions) as temporary:
        np.savez_compressed(temporary, **arrays)  # type: ignore[arg-type]
    write_text(cells / f"{record.key.name}.json", json.dumps(record.to_dict(), indent=1))


def read_cell(cells: Path, name: str) -> CellRecord:
    """The record of cell ``name`` in ``cells``, its predictions checked; raises
    :class:`RecordError` when either file is missing, damaged or inconsistent."""
    record = CellRecord.from_dict(_read_json(cells / f"{name}.json"))
    if record.key.name != name:
        raise RecordError(f"{name}.json holds cell {record.key.name}")
    read_predictions(cells, record)
    return record


def read_predictions(cells: Path, record: CellRecord) -> Predictions:
    """The checked predictions of ``record`` (see :meth:`Predictions.check`)."""
    path = cells / record.predictions
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: np.asarray(stored[name]) for name in stored.files}
    except FileNotFoundError:
        raise RecordError(f"{path.name} is missing") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise RecordError(f"{path.name} cannot be read: {error}") from None
    if set(arrays) - {"labels", "probabilities", "camera_probabilities"} or not {
        "labels", "probabilities"} <= set(arrays):  # fmt: skip
        raise RecordError(f"{path.name} holds arrays {sorted(arrays)}")
    predictions = Predictions(
        arrays["labels"], arrays["probabilities"], arrays.get("camera_probabilities")
    )
    try:
        return predictions.check(
            n=record.n_test, classes=len(record.class_names), cameras=len(record.test_cameras)
        )
    except RecordError as error:
        raise RecordError(f"{path.name}: {error}") from None


def write_cost(path: Path, record: CostRecord) -> None:
    """Write ``record`` to ``path`` atomically."""
    write_text(path, json.dumps(record.to_dict(), indent=1))


def read_cost(path: Path) -> CostRecord:
    """The cost record at ``path``; :class:`RecordError` when missing or damaged."""
    return CostRecord.from_dict(_read_json(path))
