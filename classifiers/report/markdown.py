"""``results.md``: how to read it; how the splits were made; the classification table (the
study's weighted metrics beside macro ones); the paired comparisons with one plain
sentence each; the camera-shift table; the cost table; the exact input tensor of every
space and model; training speed; per-class reports; notes; missing cells; configuration
and versions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from ..grid.record import CostRecord
from ..metrics import LABELS, METRICS
from .results import CameraShift, Comparison, Results, Row
from .text import metric, optional, p_value, points, table

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


def _comparison_lines(found: Sequence[Comparison]) -> list[str]:
    lines = ["", "## Paired comparisons of input spaces (other − baseline)", ""]
    if not found:
        return [*lines, "No two compared spaces share a run.", ""]
    lines += [
        "Differences are in percentage points, other − baseline. CI and p: the two-way "
        "bootstrap over runs and test images (classifiers.stats.two_way), the verdict's "
        "basis. Image p: sign-flip test over test images of the per-image difference "
        "summed over runs. t-test: Nadeau–Bengio corrected, over the runs' accuracies; "
        "Wilcoxon over runs, with at least 5 runs. A CI that includes 0 together with "
        "p ≥ 0.05 means no evidence of a difference — not evidence of no difference.",
        "",
    ]
    lines += table(
        ["cache", "model", "comparison", "runs", "Δ Acc", "95 % CI", "p (two-way)",
         "image p", "b / c", "t-test p", "Wilcoxon p", "Δ mF1", "95 % CI (mF1)"],
        [
            [
                c.cache, c.model, f"{r.other} − {r.baseline}", r.n_runs,
                points(r.mean_delta_accuracy),
                f"[{points(r.accuracy_ci[0])}, {points(r.accuracy_ci[1])}]",
                p_value(r.p_value), p_value(r.image_test.p_value),
                f"{r.pooled_b} / {r.pooled_c}", p_value(r.ttest_p), p_value(r.wilcoxon_p),
                points(r.mean_delta_macro_f1),
                f"[{points(r.macro_f1_ci[0])}, {points(r.macro_f1_ci[1])}]",
            ]
            for c in found
            for r in [c.result]
        ],
    )  # fmt: skip
    lines += [
        "",
        "b: test images the baseline gets right and the other wrong; c: the reverse (summed "
        "over runs).",
        "",
    ]
    lines += [f"- {c.cache} · {c.model}: {c.result.sentence('accuracy')}" for c in found]
    return lines


def _camera_shift_lines(shift: CameraShift | None) -> list[str]:
    if shift is None:
        return []
    cameras = shift.cameras
    lines = ["", "## Camera shift: unseen cameras at test time", ""]
    lines += [
        f"Every raw model is also tested on the test images unprocessed with {len(cameras)} "
        f"camera(s) it never saw in training ({', '.join(cameras)}); RGB models are listed "
        "for reference (their input does not change). Accuracy %: on the training camera "
        "(mean ± sd over runs), and the mean and worst over the unseen cameras (each the "
        "mean over runs).",
        "",
    ]
    lines += table(
        ["cache", "model", "space", "training camera", "unseen: mean", "unseen: worst"],
        [
            [
                e.cache, e.model, e.space, f"{100 * e.own.mean:.2f} ± {100 * e.own.std:.2f}",
                "(input unchanged)" if e.unseen is None else f"{100 * e.unseen.mean:.2f}",
                "—" if e.unseen is None
                else f"{100 * e.unseen.worst:.2f} ({e.unseen.worst_camera})",
            ]
            for e in shift.rows
        ],
    )  # fmt: skip
    if shift.comparisons:
        lines += [
            "",
            "Paired comparisons on the unseen cameras (every run × camera is one paired run "
            "of the same test images; an RGB baseline keeps its own predictions):",
            "",
        ]
        lines += [
            f"- {c.cache} · {c.model}: {c.result.sentence('accuracy')}" for c in shift.comparisons
        ]
    return lines


def _cost_lines(costs: Sequence[CostRecord]) -> list[str]:
    lines = ["", "## Cost (one image)", ""]
    lines += [
        "Latency: batch 1, true fp32 (TF32 off for convolutions and matrix products, "
        "cuDNN autotuning on, deterministic algorithms off), after warm-up; median and mean "
        "± sd over 200 inferences timed with CUDA events. GPU MB: peak allocation during "
        "one batch-1 inference minus what was allocated before it (activations and "
        "workspace, not the weights). Both on CUDA only (— otherwise).",
        "",
    ]
    lines += table(
        ["model", "space", "input", "latency ms (median)", "latency ms (mean ± sd)",
         "params M", "GMACs", "acts M", "GPU MB", "Conv2d", "device"],
        [
            [
                c.model, c.space, "×".join(map(str, r.input_size)), optional(r.latency_ms, 2),
                "—" if r.latency_mean_ms is None
                else f"{r.latency_mean_ms:.2f} ± {r.latency_sd_ms:.2f}",
                f"{r.params_m:.2f}", f"{r.gmacs:.2f}", f"{r.activations_m:.2f}",
                optional(r.peak_mem_mb, 0), r.conv2d, r.device,
            ]
            for c in costs
            for r in [c.report]
        ],
    )  # fmt: skip
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
        "paired comparisons: a 95 % bootstrap confidence interval of the difference, "
        "resampling test images, and exact McNemar tests on the images one space gets right "
        "and the other wrong. Nothing in this report is selected on test data.",
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


def _speed_and_figure_lines(rows: Sequence[Row]) -> list[str]:
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
    for r in rows:
        figures = r.figures
        lines.append(
            f"- {r.title}: [confusion]({figures['confusion']}), "
            f"[ROC]({figures['roc']}), [training curves]({figures['curves']})"
        )
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
    lines += _comparison_lines(results.comparisons)
    lines += _camera_shift_lines(results.camera_shift)
    lines += _cost_lines(results.cost)
    lines += _input_lines(results.rows)
    lines += _speed_and_figure_lines(results.rows)
    lines += _closing_lines(results)
    return "\n".join(lines)
