"""Cell records → :class:`~classifiers.report.results.Results`: a row per (cache, model,
space) with its metrics over the runs, the paired comparisons of input spaces
(:mod:`classifiers.stats`) and the camera-shift table. Nothing is chosen by test accuracy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..grid.config import CompareConfig
from ..grid.record import CellRecord, CostRecord, read_predictions
from ..metrics import Scores, summarize
from ..stats import (
    INTERVAL_RULE,
    PairedComparison,
    adjust_family,
    calibration,
    compare_camera_shift,
    compare_paired,
    holm,
    per_class_sensitivity,
    row_accuracy,
)
from .family import Family, default_primary, family_statement, parse_primary
from .results import (
    CameraShift,
    ClassSummary,
    Comparison,
    Results,
    Row,
    ShiftComparison,
    ShiftRow,
    Summary,
    Timing,
    Unseen,
)
from .text import REGIMES, method_lines, notes

__all__ = ["assemble", "comparisons"]

#: The figures of every row, ``plots/KIND__CACHE__MODEL__SPACE.png``.
ROW_FIGURES = ("confusion", "roc", "curves", "reliability")
#: The figures of the whole report, ``plots/KIND.png`` (``camera_shift`` only with unseen
#: cameras).
REPORT_FIGURES = ("forest", "camera_shift")

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


def _uncertainty(folder: Path, members: Sequence[CellRecord], n_resamples: int) -> dict[str, Any]:
    """The row's accuracy interval, per-class Wilson intervals and calibration, from the
    stored predictions; None (and no classes) when its runs tested different images."""
    if any(c.test_rows != members[0].test_rows for c in members):
        return {"accuracy_ci": None, "sensitivity": (), "calibration": None}
    stored = [read_predictions(folder, c) for c in members]
    labels = stored[0].labels
    probabilities = np.stack([p.probabilities for p in stored])
    predicted = probabilities.argmax(axis=2)
    k = len(members[0].class_names)
    return {
        "accuracy_ci": row_accuracy(labels, predicted, n_resamples=n_resamples),
        "sensitivity": per_class_sensitivity(labels, predicted, num_classes=k),
        "calibration": calibration(labels, probabilities),
    }


def _row(folder: Path, members: Sequence[CellRecord], regime: str, n_resamples: int) -> Row:
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
        figures={kind: f"plots/{kind}__{stem}.png" for kind in ROW_FIGURES},
        **_uncertainty(folder, members, n_resamples),
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


def _comparisons(
    out: Path, rows: Sequence[Row], groups: Groups, options: Mapping[str, Any]
) -> list[tuple[str, str, PairedComparison]]:
    """Paired comparisons of the spaces of each (cache, model), over their common runs,
    before the family's adjustment."""
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
            **options,
        )
        found.append((cache, model, result))
    return found


def _family(
    found: Sequence[tuple[str, str, PairedComparison]],
    chosen: tuple[str, str] | None,
    primary: str | None,
) -> tuple[tuple[Comparison, ...], Family]:
    """Mark the comparison of the ``chosen`` pair of spaces (in either order) of every
    (cache, model) primary and Holm-adjust the others; ``primary`` is the user's text."""
    pair = None if chosen is None else frozenset(chosen)
    adjusted = adjust_family(
        [result for _, _, result in found],
        is_primary=lambda c: frozenset((c.baseline, c.other)) == pair,
    )
    comparisons = tuple(
        Comparison(cache, model, result)
        for (cache, model, _), result in zip(found, adjusted, strict=True)
    )
    primaries = tuple((c.cache, c.model, c.result.baseline, c.result.other)
                      for c in comparisons if c.result.primary)  # fmt: skip
    size = len(comparisons) - len(primaries)
    statement = family_statement(primaries, size)
    return comparisons, Family(primaries, size, statement, primary)


def _camera_names(cell: CellRecord) -> str:
    """What a cell was trained (and first tested) on."""
    space = cell.key.space
    if not space.startswith("raw_"):
        return "— (sRGB input)"
    if space.endswith("_cam"):
        return "a random camera of the training pool per sample; evaluated on one fixed camera"
    return "the cache's camera(s)"


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
    cameras: Sequence[str], options: Mapping[str, Any],
) -> ShiftComparison:  # fmt: skip
    """One value per run: the other space's correctness averaged over the unseen cameras
    against the baseline's (once per run when its input ignores the camera)."""
    base_runs, other_runs = [], []
    for a, b in pairs:
        base, shifted = read_predictions(out, a), read_predictions(out, b)
        assert shifted.camera_probabilities is not None
        base_runs.append(
            base.probabilities if base.camera_probabilities is None else base.camera_probabilities
        )
        other_runs.append(shifted.camera_probabilities)
    result = compare_camera_shift(
        read_predictions(out, pairs[0][0]).labels,
        np.stack(base_runs),
        np.stack(other_runs),
        names=names,
        cameras=cameras,
        run_names=[_run_name(a) for a, _ in pairs],
        n_train=_n_train(pairs),
        **options,
    )
    unseen = ", ".join(cameras)
    base_side = (
        f"the unseen cameras {unseen}"
        if pairs[0][0].test_cameras
        else "its sRGB test images, once per run (the input ignores the camera)"
    )
    return ShiftComparison(cache, model, result, base_side, f"the unseen cameras {unseen}", None)


def _camera_shift(
    out: Path, rows: Sequence[Row], groups: Groups, options: Mapping[str, Any]
) -> CameraShift | None:
    """Accuracy of each row on the training camera and on the unseen cameras, and the
    paired comparisons on the unseen cameras; None when no cell tested unseen cameras."""
    tested = [c for members in groups.values() for c in members if c.test_cameras]
    if not tested:
        return None
    cameras = tested[0].test_cameras
    table = []
    for r in rows:
        members = groups[r.cache, r.model, r.space]
        shifted = [c for c in members if c.test_cameras == cameras]
        unseen = _unseen(out, shifted, cameras) if shifted else None
        names = cameras if shifted else ()
        table.append(ShiftRow(r.cache, r.model, r.space, r.metrics["accuracy"], unseen,
                              _camera_names(members[0]), tuple(names)))  # fmt: skip
    found = []
    for cache, model, baseline, other, pairs in _paired_runs(rows, groups):
        shifted_pairs = [
            (a, b)
            for a, b in pairs
            if b.test_cameras == cameras
            and (a.test_cameras == cameras or not baseline.startswith("raw_"))
        ]
        if shifted_pairs:
            found.append(_shifted_comparison(out, cache, model, (baseline, other),
                                             shifted_pairs, cameras, options))  # fmt: skip
    adjusted = holm([c.result.accuracy.p_value for c in found]).tolist()
    found = [
        replace(c, p_holm=p, result=replace(c.result, p_holm=p))
        for c, p in zip(found, adjusted, strict=True)
    ]
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
    primary: str | None = None,
    margin: float | None = None,
    n_resamples: int = 10_000,
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
    primary : str, optional
        The primary comparison of every (cache, model) as ``"A-B"`` (two spaces, in either
        order); default ``rgb`` against the first raw space of ``config.spaces``. All
        other comparisons are Holm-adjusted over the report.
    margin : float, optional
        Non-inferiority margin in percentage points (> 0): adds a non-inferiority verdict.
    n_resamples : int, optional
        Two-way bootstrap and sign-flip resamples (seed 0) of every interval and test.

    Raises
    ------
    ValueError
        If ``primary`` does not name two of the spaces, or ``margin`` is not > 0.
    """
    spaces = config.spaces
    chosen = default_primary(spaces) if primary is None else parse_primary(primary, spaces)
    if margin is not None and not margin > 0:
        raise ValueError(f"margin must be > 0 percentage points; got {margin!r}")
    groups: dict[tuple[str, str, str], list[CellRecord]] = {}
    for cell in cells:
        groups.setdefault((cell.key.cache, cell.key.model, cell.key.space), []).append(cell)
    order = _order(config)
    regime = REGIMES[config.mode]
    folder = Path(out) / "cells"
    rows = tuple(
        _row(folder, sorted(members, key=lambda c: c.key.run), regime, n_resamples)
        for _, members in sorted(groups.items(), key=lambda item: order.get(item[0], len(order)))
    )
    options = {"n_resamples": n_resamples, "seed": 0}
    found, family = _family(
        _comparisons(folder, rows, groups, {**options, "margin": margin}), chosen, primary
    )
    shift = _camera_shift(folder, rows, groups, options)
    figures = [kind for kind in REPORT_FIGURES if kind != "camera_shift" or shift is not None]
    return Results(
        config=config,
        devices=tuple(sorted({c.environment.device for c in cells})),
        environment=cells[0].environment,
        notes=tuple(notes(config)),
        rows=rows,
        comparisons=found,
        camera_shift=shift,
        cost=tuple(costs),
        missing=tuple(missing),
        refused=tuple(refused),
        cells=tuple(cells),
        family=family,
        margin=None if margin is None else float(margin),
        method=tuple(method_lines(INTERVAL_RULE, family.statement, margin, n_resamples)),
        figures={kind: f"plots/{kind}.png" for kind in figures},
    )
