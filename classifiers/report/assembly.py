"""Cell records → :class:`~classifiers.report.results.Results`: a row per (cache, model,
space) with its metrics over the runs, the paired comparisons of input spaces
(:mod:`classifiers.stats`) and the camera-shift table. Nothing is chosen by test accuracy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from ..grid.config import CompareConfig
from ..grid.record import CellRecord, CostRecord, read_predictions
from ..metrics import Scores, summarize
from ..stats import compare_paired
from .results import (
    CameraShift,
    ClassSummary,
    Comparison,
    Results,
    Row,
    ShiftRow,
    Summary,
    Timing,
    Unseen,
)
from .text import REGIMES, notes

__all__ = ["assemble", "comparisons"]

Groups = Mapping[tuple[str, str, str], Sequence[CellRecord]]
Pairs = list[tuple[CellRecord, CellRecord]]


def comparisons(spaces: Sequence[str]) -> list[tuple[str, str]]:
    """The (baseline, other) pairs of input spaces the report compares, in order.

    ``X_aug`` against ``X``; ``X_cam`` against ``X_aug`` (the same geometric
    augmentation; the camera draw replaces the photometric jitter), or ``X`` without
    it; every raw space against ``rgb``; raw ``*_aug`` spaces against ``rgb_aug``.

    Examples
    --------
    >>> comparisons(["rgb", "raw_packed", "raw_packed_aug"])
    [('rgb', 'raw_packed'), ('raw_packed', 'raw_packed_aug'), ('rgb', 'raw_packed_aug')]
    """
    present = list(spaces)
    pairs = []
    for other in present:
        base = other.removesuffix("_aug").removesuffix("_cam")
        twin = None
        if other.endswith("_aug"):
            twin = base
        elif other.endswith("_cam"):
            twin = f"{base}_aug" if f"{base}_aug" in present else base
        candidates = [
            twin,
            "rgb" if other.startswith("raw_") else None,
            "rgb_aug" if other.startswith("raw_") and other.endswith("_aug") else None,
        ]
        for baseline in dict.fromkeys(candidates):
            if baseline is not None and baseline in present:
                pairs.append((baseline, other))
    return pairs


def _per_class(scores: Sequence[Scores]) -> tuple[ClassSummary, ...]:
    out = []
    for k, first in enumerate(scores[0].per_class):
        mean = {
            m: float(np.mean([getattr(s.per_class[k], m) for s in scores]))
            for m in ("precision", "sensitivity", "f1", "auc")
        }
        out.append(ClassSummary(name=first.name, support=first.support, **mean))
    return tuple(out)


def _row(members: Sequence[CellRecord], regime: str) -> Row:
    first = members[0]
    key = first.key
    scores = [c.scores for c in members]
    epochs = [e for c in members for e in c.train.history]
    stem = f"{key.cache}__{key.model}__{key.space}"
    confusion = np.sum([s.confusion for s in scores], axis=0)
    return Row(
        cache=key.cache, model=key.model, space=key.space, regime=regime, runs=len(members),
        metrics={m: Summary(mu, sd) for m, (mu, sd) in summarize(scores).items()},
        per_class=_per_class(scores),
        confusion=tuple(tuple(int(v) for v in line) for line in confusion),
        class_names=first.class_names, input=first.input, first_layer=first.first_layer,
        split=first.split,
        absent_classes=tuple(sorted({a for s in scores for a in s.absent_classes})),
        timing=Timing(
            epoch_s=float(np.mean([e.epoch_s for e in epochs])),
            model_s=float(np.mean([e.model_s for e in epochs])),
            ratio=float(np.median([e.ratio for e in epochs])),
            resident=all(c.train.resident for c in members),
            precision=first.train.precision, processes=first.train.processes,
        ),
        cells=tuple(c.key.name for c in members),
        figures={kind: f"plots/{kind}__{stem}.png" for kind in ("confusion", "roc", "curves")},
    )  # fmt: skip


def _paired_runs(rows: Sequence[Row], groups: Groups) -> Iterator[tuple[str, str, str, str, Pairs]]:
    """``(cache, model, baseline, other, pairs)`` for every compared pair of spaces of each
    (cache, model): the (baseline cell, other cell) of their common runs — the same fold,
    seed and test images — in run order."""
    for cache, model in dict.fromkeys((r.cache, r.model) for r in rows):
        present = [r.space for r in rows if (r.cache, r.model) == (cache, model)]
        for baseline, other in comparisons(present):
            runs = {
                space: {c.key.run: c for c in groups[cache, model, space]}
                for space in (baseline, other)
            }
            pairs = [
                (runs[baseline][run], runs[other][run])
                for run in sorted(set(runs[baseline]) & set(runs[other]))
                if runs[baseline][run].test_rows == runs[other][run].test_rows
            ]
            if pairs:
                yield cache, model, baseline, other, pairs


def _n_train(pairs: Pairs) -> int | None:
    """Training images per run, for the corrected t-test; None when runs differ in it."""
    sizes = {c.n_train for pair in pairs for c in pair}
    return sizes.pop() if len(sizes) == 1 else None


def _run_name(cell: CellRecord) -> str:
    return f"fold {cell.key.fold} seed {cell.key.seed}"


def _comparisons(out: Path, rows: Sequence[Row], groups: Groups) -> tuple[Comparison, ...]:
    """Paired comparisons of the spaces of each (cache, model), over their common runs."""
    found = []
    for cache, model, baseline, other, pairs in _paired_runs(rows, groups):
        loaded = [(read_predictions(out, a), read_predictions(out, b)) for a, b in pairs]
        result = compare_paired(
            loaded[0][0].labels,
            [a.probabilities for a, _ in loaded],
            [b.probabilities for _, b in loaded],
            names=(baseline, other),
            run_names=[_run_name(a) for a, _ in pairs],
            n_train=_n_train(pairs),
        )
        found.append(Comparison(cache, model, result))
    return tuple(found)


def _unseen(out: Path, shifted: Sequence[CellRecord], cameras: Sequence[str]) -> Unseen:
    accuracies = []
    for cell in shifted:
        stored = read_predictions(out, cell)
        assert stored.camera_probabilities is not None  # checked against test_cameras
        accuracies.append((stored.camera_probabilities.argmax(-1) == stored.labels).mean(-1))
    per_camera = np.mean(accuracies, axis=0)
    return Unseen(
        per_camera=tuple(float(a) for a in per_camera),
        mean=float(per_camera.mean()),
        worst=float(per_camera.min()),
        worst_camera=cameras[int(per_camera.argmin())],
    )


def _shifted_comparison(
    out: Path, cache: str, model: str, names: tuple[str, str], pairs: Pairs,
    cameras: Sequence[str],
) -> Comparison:  # fmt: skip
    base_runs, other_runs, run_names = [], [], []
    labels = None
    for a, b in pairs:
        base, shifted = read_predictions(out, a), read_predictions(out, b)
        assert shifted.camera_probabilities is not None
        labels = base.labels
        for k, camera in enumerate(cameras):
            # an RGB baseline's input does not change with the camera
            base_runs.append(
                base.probabilities
                if base.camera_probabilities is None
                else base.camera_probabilities[k]
            )
            other_runs.append(shifted.camera_probabilities[k])
            run_names.append(f"{_run_name(a)} {camera}")
    assert labels is not None
    result = compare_paired(
        labels, base_runs, other_runs, names=names, run_names=run_names, n_train=_n_train(pairs)
    )
    return Comparison(cache, model, result)


def _camera_shift(out: Path, rows: Sequence[Row], groups: Groups) -> CameraShift | None:
    """Accuracy of each row on the training camera and on the unseen cameras, and the
    paired comparisons on the unseen cameras; None when no cell tested unseen cameras."""
    tested = [c for members in groups.values() for c in members if c.test_cameras]
    if not tested:
        return None
    cameras = tested[0].test_cameras
    table = []
    for r in rows:
        shifted = [c for c in groups[r.cache, r.model, r.space] if c.test_cameras == cameras]
        unseen = _unseen(out, shifted, cameras) if shifted else None
        table.append(ShiftRow(r.cache, r.model, r.space, r.metrics["accuracy"], unseen))
    found = []
    for cache, model, baseline, other, pairs in _paired_runs(rows, groups):
        shifted_pairs = [
            (a, b)
            for a, b in pairs
            if b.test_cameras == cameras
            and (a.test_cameras == cameras or not baseline.startswith("raw_"))
        ]
        if shifted_pairs:
            found.append(
                _shifted_comparison(out, cache, model, (baseline, other), shifted_pairs, cameras)
            )
    return CameraShift(tuple(cameras), tuple(table), tuple(found))


def _order(config: CompareConfig) -> dict[tuple[str, str, str], int]:
    triples = [(c, s, m) for c, _ in config.caches for s in config.spaces for m in config.models]
    return {(c, m, s): i for i, (c, s, m) in enumerate(triples)}


def assemble(
    out: Path,
    *,
    config: CompareConfig,
    cells: Sequence[CellRecord],
    costs: Sequence[CostRecord],
    missing: Sequence[str] = (),
    refused: Sequence[str] = (),
) -> Results:
    """The results of a comparison from its finished cells.

    Parameters
    ----------
    out : pathlib.Path
        The comparison's folder: test predictions are read from ``out/cells/KEY.npz``.
    config : CompareConfig
        The comparison's configuration (from ``plan.json``).
    cells : sequence of CellRecord
        One per finished training run (at least one).
    costs : sequence of CostRecord
    missing, refused : sequence of str
        Keys of planned cells that are not finished (or damaged), or whose stored result
        was made with other settings.
    """
    groups: dict[tuple[str, str, str], list[CellRecord]] = {}
    for cell in cells:
        groups.setdefault((cell.key.cache, cell.key.model, cell.key.space), []).append(cell)
    order = _order(config)
    regime = REGIMES[config.mode]
    rows = tuple(
        _row(sorted(members, key=lambda c: c.key.run), regime)
        for _, members in sorted(groups.items(), key=lambda item: order.get(item[0], len(order)))
    )
    folder = Path(out) / "cells"
    return Results(
        config=config,
        devices=tuple(sorted({c.environment.device for c in cells})),
        environment=cells[0].environment,
        notes=tuple(notes(config)),
        rows=rows,
        comparisons=_comparisons(folder, rows, groups),
        camera_shift=_camera_shift(folder, rows, groups),
        cost=tuple(costs),
        missing=tuple(missing),
        refused=tuple(refused),
        cells=tuple(cells),
    )
