"""The typed content of ``results.json``: rows, paired comparisons, the camera-shift table,
costs and the cell records they come from (layout: ``docs/results.md``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..grid.config import CompareConfig
from ..grid.record import (
    SCHEMA_VERSION,
    CellRecord,
    CostRecord,
    Environment,
    InputDescription,
    SplitDescription,
)
from ..stats import PairedComparison

__all__ = [
    "CameraShift",
    "ClassSummary",
    "Comparison",
    "Results",
    "Row",
    "ShiftRow",
    "Summary",
    "Timing",
    "Unseen",
]


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
    """A row of the camera-shift table; ``unseen`` is None for RGB rows."""

    cache: str
    model: str
    space: str
    own: Summary
    unseen: Unseen | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        unseen = None
        if self.unseen is not None:
            unseen = asdict(self.unseen) | {"per_camera": list(self.unseen.per_camera)}
        return {"cache": self.cache, "model": self.model, "space": self.space,
                "own": asdict(self.own), "unseen": unseen}  # fmt: skip


@dataclass(frozen=True)
class CameraShift:
    """The camera-shift test: the unseen cameras, the table and the paired comparisons."""

    cameras: tuple[str, ...]
    rows: tuple[ShiftRow, ...]
    comparisons: tuple[Comparison, ...]

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary, with ``schema_version``."""
        return {
            "schema_version": SCHEMA_VERSION,
            "config": self.config.to_dict(),
            "devices": list(self.devices),
            "environment": asdict(self.environment) | {"versions": dict(self.environment.versions)},
            "notes": list(self.notes),
            "rows": [r.to_dict() for r in self.rows],
            "comparisons": [c.to_dict() for c in self.comparisons],
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
