"""The typed content of ``results.json``: rows, paired comparisons, the camera-shift table,
costs and the cell records they come from (layout: ``docs/results.md``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..grid.config import CompareConfig
from ..grid.record import (
    CellRecord,
    CostRecord,
    Environment,
    InputDescription,
    SplitDescription,
)
from ..stats import (
    Calibration,
    ClassSensitivity,
    PairedComparison,
    RowAccuracy,
)
from ..stats import CameraShift as ShiftInference
from .family import Family

__all__ = [
    "RESULTS_SCHEMA_VERSION",
    "CameraShift",
    "ClassSummary",
    "Comparison",
    "Results",
    "Row",
    "ShiftComparison",
    "ShiftRow",
    "Summary",
    "Timing",
    "Unseen",
]

#: Version of the layout of ``results.json`` (2: two-way inference, row intervals,
#: per-class Wilson intervals, calibration, the family, one value per run on unseen
#: cameras, the cost conventions).
RESULTS_SCHEMA_VERSION = 2


@dataclass(frozen=True)
class Summary:
    """Mean and sample standard deviation of a metric over runs."""

    mean: float
    std: float


@dataclass(frozen=True)
class ClassSummary:
    """Per-class metrics, each the mean over runs."""

    name: str
    support: int
    precision: float
    sensitivity: float
    f1: float
    auc: float


@dataclass(frozen=True)
class Timing:
    """Training speed of a row: mean epoch and model times, the median of their ratio."""

    epoch_s: float
    model_s: float
    ratio: float
    resident: bool
    precision: str
    processes: int


@dataclass(frozen=True)
class Row:
    """One model on one input space of one cache, over its runs."""

    cache: str
    model: str
    space: str
    regime: str
    runs: int
    metrics: Mapping[str, Summary]
    per_class: tuple[ClassSummary, ...]
    confusion: tuple[tuple[int, ...], ...]
    class_names: tuple[str, ...]
    input: InputDescription
    first_layer: str
    split: SplitDescription
    absent_classes: tuple[str, ...]
    timing: Timing
    cells: tuple[str, ...]
    figures: Mapping[str, str]
    accuracy_ci: RowAccuracy | None
    sensitivity: tuple[ClassSensitivity, ...]
    calibration: Calibration | None

    @property
    def near_chance(self) -> bool:
        """Whether the row's accuracy interval reaches the majority-class rate."""
        return self.accuracy_ci is not None and self.accuracy_ci.near_chance

    @property
    def title(self) -> str:
        """``cache · model · space``."""
        return f"{self.cache} · {self.model} · {self.space}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "cache": self.cache,
            "model": self.model,
            "space": self.space,
            "regime": self.regime,
            "runs": self.runs,
            "metrics": {m: asdict(s) for m, s in self.metrics.items()},
            "per_class": [asdict(c) for c in self.per_class],
            "confusion": [list(r) for r in self.confusion],
            "class_names": list(self.class_names),
            "input": asdict(self.input) | {"shape": list(self.input.shape)},
            "first_layer": self.first_layer,
            "split": asdict(self.split),
            "absent_classes": list(self.absent_classes),
            "timing": asdict(self.timing),
            "cells": list(self.cells),
            "figures": dict(self.figures),
            "accuracy_ci": None if self.accuracy_ci is None else self.accuracy_ci.to_dict(),
            "sensitivity": [
                {"name": self.class_names[c.label], **c.to_dict()} for c in self.sensitivity
            ],
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
        }


@dataclass(frozen=True)
class Comparison:
    """The paired comparison of two spaces of one (cache, model)."""

    cache: str
    model: str
    result: PairedComparison

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: cache, model and :meth:`PairedComparison.to_dict`."""
        return {"cache": self.cache, "model": self.model, **self.result.to_dict()}


@dataclass(frozen=True)
class Unseen:
    """Accuracy of a raw row on the unseen cameras (each the mean over runs)."""

    per_camera: tuple[float, ...]
    mean: float
    worst: float
    worst_camera: str


@dataclass(frozen=True)
class ShiftRow:
    """A row of the camera-shift table; ``unseen`` is None for RGB rows.

    ``training_camera`` says which camera(s) the row's model was trained and first tested
    on; ``unseen_cameras`` names the cameras of ``unseen.per_camera`` (empty for RGB)."""

    cache: str
    model: str
    space: str
    own: Summary
    unseen: Unseen | None
    training_camera: str
    unseen_cameras: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        unseen = None
        if self.unseen is not None:
            unseen = asdict(self.unseen) | {"per_camera": list(self.unseen.per_camera)}
        return {"cache": self.cache, "model": self.model, "space": self.space,
                "own": asdict(self.own), "unseen": unseen,
                "training_camera": self.training_camera,
                "unseen_cameras": list(self.unseen_cameras)}  # fmt: skip


@dataclass(frozen=True)
class ShiftComparison:
    """The camera-shift comparison of two spaces of one (cache, model): one value per run
    (the mean over unseen cameras), a camera-independent baseline once per run.

    ``baseline_cameras`` and ``other_cameras`` say what each side was tested with;
    ``p_holm`` is the two-way p Holm-adjusted over the report's camera-shift comparisons
    (a family of their own, apart from the comparisons on the training camera)."""

    cache: str
    model: str
    result: ShiftInference
    baseline_cameras: str
    other_cameras: str
    p_holm: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary: cache, model, the sides' cameras, ``p_holm`` and
        :meth:`classifiers.stats.CameraShift.to_dict`."""
        return {"cache": self.cache, "model": self.model,
                "baseline_cameras": self.baseline_cameras,
                "other_cameras": self.other_cameras, "p_holm": self.p_holm,
                **self.result.to_dict()}  # fmt: skip


@dataclass(frozen=True)
class CameraShift:
    """The camera-shift test: the unseen cameras, the table and the paired comparisons."""

    cameras: tuple[str, ...]
    rows: tuple[ShiftRow, ...]
    comparisons: tuple[ShiftComparison, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "cameras": list(self.cameras),
            "rows": [r.to_dict() for r in self.rows],
            "comparisons": [c.to_dict() for c in self.comparisons],
        }


@dataclass(frozen=True)
class Results:
    """Everything the report shows; :meth:`to_dict` is the content of ``results.json``."""

    config: CompareConfig
    devices: tuple[str, ...]
    environment: Environment
    notes: tuple[str, ...]
    rows: tuple[Row, ...]
    comparisons: tuple[Comparison, ...]
    camera_shift: CameraShift | None
    cost: tuple[CostRecord, ...]
    missing: tuple[str, ...]
    refused: tuple[str, ...]
    cells: tuple[CellRecord, ...]
    family: Family
    margin: float | None
    method: tuple[str, ...]
    figures: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary, with ``schema_version``."""
        return {
            "schema_version": RESULTS_SCHEMA_VERSION,
            "config": self.config.to_dict(),
            "devices": list(self.devices),
            "environment": asdict(self.environment) | {"versions": dict(self.environment.versions)},
            "notes": list(self.notes),
            "rows": [r.to_dict() for r in self.rows],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "family": self.family.to_dict(),
            "margin": self.margin,
            "method": list(self.method),
            "figures": dict(self.figures),
            "camera_shift": None if self.camera_shift is None else self.camera_shift.to_dict(),
            "cost": [c.to_dict() for c in self.cost],
            "missing": list(self.missing),
            "refused": list(self.refused),
            "cells": [c.to_dict() for c in self.cells],
        }

    def members(self, row: Row) -> Sequence[CellRecord]:
        """The cell records of ``row``, in run order."""
        by_name = {c.key.name: c for c in self.cells}
        return [by_name[name] for name in row.cells]
