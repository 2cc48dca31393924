"""``results.md``: how to read it; how the splits were made; the classification table (the
study's weighted metrics beside macro ones); each row's accuracy interval, near-chance
mark and calibration; the method and the paired comparisons with one plain sentence each;
the camera-shift table; the cost table; the exact input tensor of every space and model;
training speed; figures; per-class sensitivity with Wilson intervals and per-class
reports; notes; missing cells; configuration and versions."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from ..metrics import LABELS, METRICS
from .results import Results, Row
from .sections import (
    camera_shift_lines,
    comparison_lines,
    cost_lines,
    method_lines_md,
    row_interval_lines,
    sensitivity_lines,
)
from .text import metric, recipe_lines, table

__all__ = ["markdown_text"]


def _split_lines(rows: Sequence[Row]) -> list[str]:
    lines = []
    seen = []
    for r in rows:
        if (r.cache, r.split) in seen:
            continue
        seen.append((r.cache, r.split))
        split = r.split
        folds = f"{split.folds} folds" if split.folds else "no folds"
        if split.grouped:
            how = (
                f"group-aware by the source's `{split.group_column}` column: no group has "
                "images in both the training and the test split, or in two folds"
            )
        else:
            how = "per image (stratified by class)"
        lines.append(
            f"- `{r.cache}`: test fraction {split.test_fraction}, {folds}, split {how}; "
            f"seed {split.seed}; source format {split.source_format}."
        )
        if not split.grouped:
            matek = " Matek-19 has no patient IDs, so this cannot be avoided there." * (
                split.source_format == "matek19"
            )
            lines.append(
                f"  **Warning:** a per-image split puts cells of one patient or slide in both "
                f"training and test when the data hold several cells per patient, which can "
                f"flatter every space alike.{matek} Build from a CSV with a `group` column "
                f"(patient or slide) for group-aware splits."
            )
    return lines


def _header(results: Results) -> list[str]:
    config, rows = results.config, results.rows
    runs = sorted({r.runs for r in rows})
    return [
        "# rawspace compare",
        "",
        f"Devices: {', '.join(results.devices)}. Regime: "
        f"{rows[0].regime if rows else '—'}. Folds: {config.folds}; seeds: "
        f"{config.seeds}; runs per row: {', '.join(map(str, runs))}. Epochs ≤ "
        f"{config.train.epochs}.",
        "",
        "**How to read this report.** Each row is one model on one input space of one "
        "cache, trained once per run (fold × seed) and tested on the same held-out test "
        "images. *mean ± sd* is the mean and the sample standard deviation over those runs: "
        "it shows how much a result moves with the training subset and the seed, not how "
        "precisely the test set measures it. Whether two spaces differ is answered by the "
        "paired comparisons: a 95 % interval of the difference over both sources of "
        "variance — runs and test images (a two-way bootstrap) — with one declared primary "
        "comparison per model and the others Holm-adjusted; see Method. A result with "
        "fewer than 3 runs is about these trained models only. Nothing in this report is "
        "selected on test data.",
        "",
        "## Splits",
        "",
    ]


def _classification_lines(rows: Sequence[Row]) -> list[str]:
    lines = ["", "## Classification (test split, mean ± sd over runs)", ""]
    lines += table(
        ["cache", "model", "space", "regime", "runs", *[LABELS[m][0] for m in METRICS]],
        [
            [r.cache, r.model, r.space, r.regime, r.runs]
            + [metric(m, r.metrics[m]) for m in METRICS]
            for r in rows
        ],
    )
    return lines + [""] + [f"- {LABELS[m][0]}: {LABELS[m][1]}." for m in METRICS]


def _input_lines(rows: Sequence[Row]) -> list[str]:
    lines = ["", "## Input tensors", ""]
    lines += [
        "Every model input is (N, C, H, W), scaled to [0, 1] as shown, then standardised "
        "per channel with the mean and std of the run's training samples (listed for the "
        "first run); float32, or bfloat16 under autocast where training uses it (see "
        "Training speed).",
        "",
    ]
    lines += table(
        ["cache", "space", "model", "tensor (C×H×W)", "source", "scaling", "mean", "std",
         "first layer"],
        [
            [
                r.cache, r.space, r.model, "×".join(map(str, r.input.shape)),
                r.input.source + (f", CFA {r.input.cfa}" if r.input.cfa else ""),
                r.input.scaling, ", ".join(f"{v:.4f}" for v in r.input.mean),
                ", ".join(f"{v:.4f}" for v in r.input.std), r.first_layer,
            ]
            for r in rows
        ],
    )  # fmt: skip
    lines += [""]
    return lines + [
        f"- `{s}`: {d}" for s, d in dict.fromkeys((r.space, r.input.description) for r in rows)
    ]


def _speed_and_figure_lines(results: Results) -> list[str]:
    rows = results.rows
    lines = ["", "## Training speed", ""]
    lines += table(
        ["cache", "model", "space", "data", "precision", "processes", "epoch s", "model s",
         "epoch / model"],
        [
            [
                r.cache, r.model, r.space,
                "device-resident" if r.timing.resident else "DataLoader",
                r.timing.precision, r.timing.processes, f"{r.timing.epoch_s:.2f}",
                f"{r.timing.model_s:.2f}", f"{r.timing.ratio:.2f}",
            ]
            for r in rows
        ],
    )  # fmt: skip
    lines += ["", "## Figures", ""]
    lines.append(
        f"- [forest plot]({results.figures['forest']}): every comparison's difference with "
        "its 95 % CI (primary comparisons filled)"
    )
    if results.camera_shift is not None:
        lines.append(
            f"- [camera shift]({results.figures['camera_shift']}): accuracy on the training "
            "camera and on each unseen camera, per space"
        )
    for r in rows:
        figures = r.figures
        lines.append(
            f"- {r.title}: [confusion]({figures['confusion']}), "
            f"[ROC]({figures['roc']}), [training curves]({figures['curves']}), "
            f"[reliability]({figures['reliability']})"
        )
    lines += sensitivity_lines(rows)
    lines += ["", "## Per-class reports (mean over runs)", ""]
    for r in rows:
        lines += [f"### {r.title}", ""]
        lines += table(
            ["class", "P", "S", "F1", "AUC", "test support"],
            [
                [c.name, f"{c.precision:.3f}", f"{c.sensitivity:.3f}", f"{c.f1:.3f}",
                 f"{c.auc:.3f}", c.support]
                for c in r.per_class
            ],
        )  # fmt: skip
        lines += [""]
    return lines


def _closing_lines(results: Results) -> list[str]:
    lines = ["## Notes", ""]
    lines += [f"- {note}" for note in results.notes]
    first: dict[str, Mapping[str, Any]] = {}
    for cell in results.cells:
        first.setdefault(cell.key.model, cell.fingerprint)
    lines += [f"- Weights and recipe of {line}" for line in recipe_lines(first)]
    absent = sorted({a for r in results.rows for a in r.absent_classes})
    if absent:
        lines.append(f"- Classes absent from the test labels (weight 0): {', '.join(absent)}.")
    if results.missing or results.refused:
        lines += ["", "## Missing cells", ""]
        lines += [f"- not finished: `{key}`" for key in results.missing]
        lines += [
            f"- refused (made with other settings than the plan): `{key}`"
            for key in results.refused
        ]
    environment = asdict(results.environment) | {"versions": dict(results.environment.versions)}
    shown = {"config": results.config.to_dict(), "environment": environment}
    return [*lines, "", "## Configuration", "", "```json", json.dumps(shown, indent=1), "```", ""]


def markdown_text(results: Results) -> str:
    """The text of ``results.md``."""
    lines = _header(results)
    lines += _split_lines(results.rows)
    lines += _classification_lines(results.rows)
    lines += row_interval_lines(results.rows)
    lines += method_lines_md(results)
    lines += comparison_lines(results.comparisons, results.margin)
    lines += camera_shift_lines(results.camera_shift)
    lines += cost_lines(results.cost)
    lines += _input_lines(results.rows)
    lines += _speed_and_figure_lines(results)
    lines += _closing_lines(results)
    return "\n".join(lines)
