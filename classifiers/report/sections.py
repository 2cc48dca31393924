"""The statistical sections of ``results.md``: the method, the paired comparisons, each
row's accuracy interval and calibration, per-class sensitivity, the camera-shift table and
the cost table (each column with its convention)."""

from __future__ import annotations

from collections.abc import Sequence

from ..grid.record import CostRecord
from ..stats import PairedComparison, minimum_detectable_difference
from .results import CameraShift, Comparison, Results, Row
from .text import optional, p_value, points, table

__all__ = [
    "camera_shift_lines",
    "comparison_lines",
    "cost_lines",
    "method_lines_md",
    "row_interval_lines",
    "sensitivity_lines",
]


def method_lines_md(results: Results) -> list[str]:
    """``## Method``: the interval rule and the family, as the report states them."""
    return ["", "## Method of the comparisons", "", *[f"- {line}" for line in results.method]]


def _ci(low: float, high: float) -> str:
    return f"[{points(low)}, {points(high)}]"


def _mark(r: PairedComparison) -> str:
    return "primary" if r.primary else "Holm"


def _non_inferior(r: PairedComparison) -> str:
    verdict = r.non_inferior("accuracy")
    return "—" if verdict is None else ("yes" if verdict else "not shown")


def comparison_lines(found: Sequence[Comparison], margin: float | None) -> list[str]:
    """``## Paired comparisons``: the table (two-way CI, both p, image p, corrected t,
    MDD, non-inferiority with a margin, verdict), the sentence of each comparison."""
    lines = ["", "## Paired comparisons of input spaces (other − baseline)", ""]
    if not found:
        return [*lines, "No two compared spaces share a run.", ""]
    lines += [
        "Differences are in percentage points, other − baseline. CI, p and df: the two-way "
        "interval over runs and test images (see Method); Holm p: adjusted over the "
        "report's non-primary comparisons. A CI that includes 0 means no evidence of a "
        "difference — not evidence of no difference; the MDD says what the runs could "
        "have detected.",
        "",
    ]
    header = ["cache", "model", "comparison", "role", "runs", "Δ Acc", "95 % CI", "df", "p",
              "Holm p", "image p", "t-test p", "Wilcoxon p", "b / c", "MDD"]  # fmt: skip
    if margin is not None:
        header.append(f"non-inferior ({margin:g})")
    header += ["verdict", "Δ mF1", "95 % CI (mF1)"]
    body = []
    for c in found:
        r = c.result
        a = r.accuracy
        line: list[object] = [
            c.cache, c.model, f"{r.other} − {r.baseline}", _mark(r), r.n_runs,
            points(a.estimate), _ci(a.low, a.high), f"{a.df:.1f}", p_value(a.p_value),
            p_value(r.p_holm), p_value(r.image_test.p_value), p_value(r.ttest_p),
            p_value(r.wilcoxon_p), f"{r.pooled_b} / {r.pooled_c}", f"{100 * r.mdd():.2f}",
        ]  # fmt: skip
        if margin is not None:
            line.append(_non_inferior(r))
        line += [r.verdict("accuracy"), points(r.macro_f1.estimate),
                 _ci(r.macro_f1.low, r.macro_f1.high)]  # fmt: skip
        body.append(line)
    lines += table(header, body)
    lines += [
        "",
        "b: test images the baseline gets right and the other wrong; c: the reverse, "
        "summed over runs (counts only). Verdict: higher / lower (evidence at α = 0.05), "
        "none, too_few_runs (fewer than 3 runs: about these trained models only), "
        "near_chance (a row's accuracy CI reaches the majority-class rate).",
        "",
    ]
    for c in found:
        lines.append(f"- {c.cache} · {c.model}: {c.result.sentence('accuracy')}")
        lines.append(f"  {c.result.sentence('macro_f1')}")
    return lines


def row_interval_lines(rows: Sequence[Row]) -> list[str]:
    """``## Accuracy with its interval``: each row's accuracy, 95 % CI, majority-class
    rate, near-chance mark and ECE."""
    lines = ["", "## Accuracy with its interval, and calibration", ""]
    lines += [
        "Accuracy % over runs and test images with its 95 % CI (two-way; Wilson for one "
        "run); majority: what always guessing the most frequent test class scores. ECE: "
        "expected calibration error (15 bins, runs pooled), with its range over runs.",
        "",
    ]
    body = []
    for r in rows:
        ci, cal = r.accuracy_ci, r.calibration
        body.append([
            r.cache, r.model, r.space, r.runs,
            "—" if ci is None else f"{100 * ci.accuracy:.2f}",
            "—" if ci is None else f"[{100 * ci.low:.2f}, {100 * ci.high:.2f}]",
            "—" if ci is None else ci.method,
            "—" if ci is None else f"{100 * ci.majority_rate:.1f}",
            "**near chance**" if r.near_chance else "",
            "—" if cal is None else f"{cal.ece:.3f}",
            "—" if cal is None else f"{min(cal.ece_per_run):.3f}–{max(cal.ece_per_run):.3f}",
        ])  # fmt: skip
    lines += table(["cache", "model", "space", "runs", "accuracy %", "95 % CI", "interval",
                    "majority %", "flag", "ECE", "ECE per run"], body)  # fmt: skip
    return lines


def sensitivity_lines(rows: Sequence[Row]) -> list[str]:
    """``## Per-class sensitivity``: per row, each class's sensitivity with its Wilson
    interval and the number of test images."""
    lines = ["", "## Per-class sensitivity (95 % Wilson CI)", ""]
    lines += [
        "Sensitivity % of each class: the mean correct count over runs divided by the "
        "class's test images, with Wilson's interval over those images (runs reuse them).",
        "",
    ]
    for r in rows:
        if not r.sensitivity:
            continue
        lines += [f"### {r.title}", ""]
        lines += table(
            ["class", "test images", "sensitivity %", "95 % CI"],
            [
                [r.class_names[s.label], s.n_test,
                 "—" if s.n_test == 0 else f"{100 * s.sensitivity:.1f}",
                 "—" if s.n_test == 0 else f"[{100 * s.low:.1f}, {100 * s.high:.1f}]"]
                for s in r.sensitivity
            ],
        )  # fmt: skip
        lines += [""]
    return lines


def camera_shift_lines(shift: CameraShift | None) -> list[str]:
    """``## Camera shift``: accuracy on the training camera and the unseen ones, and the
    comparisons with one value per run."""
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
        ["cache", "model", "space", "trained on", "training camera", "unseen cameras",
         "unseen: mean", "unseen: worst"],
        [
            [
                e.cache, e.model, e.space, e.training_camera,
                f"{100 * e.own.mean:.2f} ± {100 * e.own.std:.2f}",
                ", ".join(e.unseen_cameras) or "—",
                "(input unchanged)" if e.unseen is None else f"{100 * e.unseen.mean:.2f}",
                "—" if e.unseen is None
                else f"{100 * e.unseen.worst:.2f} ({e.unseen.worst_camera})",
            ]
            for e in shift.rows
        ],
    )  # fmt: skip
    if not shift.comparisons:
        return lines
    lines += [
        "",
        "Paired comparisons on the unseen cameras: one value per run (the other space's "
        "accuracy averaged over the unseen cameras), an RGB baseline once per run; the "
        "two-way interval over runs and test images. They form a family of their own: "
        f"Holm p is adjusted over these {len(shift.comparisons)}; the verdict and the "
        "sentences read the unadjusted p, so a verdict whose Holm p is ≥ 0.05 does not "
        "survive the adjustment.",
        "",
    ]
    lines += table(
        ["cache", "model", "comparison", "baseline tested on", "other tested on",
         "paired runs", "Δ Acc", "95 % CI", "p", "Holm p", "image p", "t-test p", "MDD",
         "verdict"],
        [
            [c.cache, c.model, f"{r.other} − {r.baseline}", c.baseline_cameras,
             c.other_cameras, r.n_runs, points(r.accuracy.estimate),
             _ci(r.accuracy.low, r.accuracy.high), p_value(r.accuracy.p_value),
             p_value(c.p_holm), p_value(r.image_test.p_value), p_value(r.ttest_p),
             f"{100 * minimum_detectable_difference(r.accuracy.se):.2f}", r.verdict()]
            for c in shift.comparisons
            for r in [c.result]
        ],
    )  # fmt: skip
    lines += [""]
    return lines + [f"- {c.cache} · {c.model}: {c.result.sentence()}" for c in shift.comparisons]


def cost_lines(costs: Sequence[CostRecord]) -> list[str]:
    """``## Cost``: each column with its counting convention."""
    lines = ["", "## Cost (one image)", ""]
    lines += [
        "Columns and conventions: *params M (trained)*: every parameter of the model as "
        "trained (the study's ResNet50 23.54 M); *params M (1000-class head)*: the same "
        "with a 1000-output head, as ImageNet models are quoted (ViT-B/16: 86.57 M); "
        "*params M (1000-class head kept)*: the 1000-class head kept and the trained "
        "head put on its logits (the study's ViT-B/16 86.58 M); *GMACs*: "
        "multiply-accumulates of convolutions, linear layers and attention products "
        "(torch FlopCounterMode / 2); *FLOPs G (ptflops)*: the ptflops convention of the "
        "study's 'FLOPs' (also biases, normalisation, activations and pooling; ResNet50 "
        "4.12, DenseNet121 2.88); *acts M*: outputs of Conv2d and Linear layers. Latency: "
        "batch 1, true fp32 (TF32 off), after warm-up; median and mean ± sd with CUDA "
        "events. *GPU MiB (no weights)*: peak allocation of one batch-1 inference minus "
        "what was allocated before it; *GPU MiB (with weights)*: that plus the weights, "
        "the study's convention. Latency and GPU memory on CUDA only (— otherwise).",
        "",
    ]
    lines += table(
        ["model", "space", "input", "params M (trained)", "params M (1000-class head)",
         "params M (1000-class head kept)", "GMACs", "FLOPs G (ptflops)", "acts M",
         "latency ms (median)", "latency ms (mean ± sd)", "weights MiB", "GPU MiB (no weights)",
         "GPU MiB (with weights)", "Conv2d", "device"],
        [
            [
                c.model, c.space, "×".join(map(str, r.input_size)), f"{r.params_m:.2f}",
                _finite(r.params_1000_m, 2), _finite(r.params_kept_m, 2), f"{r.gmacs:.3f}",
                _finite(r.flops_g, 3),
                f"{r.activations_m:.2f}", optional(r.latency_ms, 2),
                "—" if r.latency_mean_ms is None or r.latency_sd_ms is None
                else f"{r.latency_mean_ms:.2f} ± {r.latency_sd_ms:.2f}",
                _finite(r.weights_mb, 1), optional(r.peak_mem_mb, 0),
                optional(r.peak_mem_with_weights_mb, 0), r.conv2d, r.device,
            ]
            for c in costs
            for r in [c.report]
        ],
    )  # fmt: skip
    return lines


def _finite(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals; ``—`` for NaN (a record made before the field)."""
    return "—" if value != value else f"{value:.{digits}f}"
