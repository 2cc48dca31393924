"""The comparison report: ``results.json``, ``results.csv``, ``results.md`` and figures.

:func:`assemble` turns finished cells (one training run each) and model costs into one
results dictionary: a row per (cache, model, space) with its metrics over the runs, and
the paired comparisons of input spaces (:mod:`classifiers.stats`); :func:`write` renders
it:

* ``results.md`` — how to read it; how the splits were made; the classification table
  (the study's weighted metrics beside macro ones); the paired comparisons with one
  plain sentence each; the cost table; the exact input tensor of every space and model;
  training speed; per-class reports; notes; missing cells; configuration and versions;
* ``results.csv`` — one line per row: metric means and standard deviations and costs;
* ``plots/`` — per row a confusion matrix (summed over runs), one-vs-rest ROC curves
  (test predictions of all runs pooled) and training curves (one line per run), PNG.

Which spaces are compared: see :func:`comparisons`. Nothing is chosen by test accuracy.

The camera-shift table (when the comparison tested unseen cameras): per model and raw
space, accuracy with the training camera and the mean and worst accuracy over the
unseen cameras; RGB models are listed for reference (their input does not change).
Paired comparisons on the unseen cameras treat every (run, camera) as a run of the same
test images. Figures use matplotlib's object API, never pyplot's global state.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import roc_auc_score, roc_curve

from rawspace.files import write_text

from .metrics import LABELS, METRICS, Scores, summarize
from .stats import compare_paired

__all__ = ["assemble", "comparisons", "write"]

_POINTS = {"accuracy", "balanced_accuracy"}


def comparisons(spaces: Sequence[str]) -> list[tuple[str, str]]:
    """The (baseline, other) pairs of input spaces the report compares, in order.

    ``X_aug`` against ``X``; ``X_cam`` against ``X_aug`` (the same geometric
    augmentation; the camera draw replaces the photometric jitter), or ``X`` without
    it; every raw space against ``rgb``; raw ``*_aug`` spaces against ``rgb_aug``.
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


def _order(config: Mapping[str, object]) -> dict[tuple[str, str, str], int]:
    caches = list(config["caches"])
    return {
        (c, m, s): i
        for i, (c, s, m) in enumerate(
            (c, s, m) for c in caches for s in config["spaces"] for m in config["models"]
        )
    }


def assemble(
    out: Path,
    *,
    config: Mapping[str, object],
    cells: Sequence[Mapping[str, object]],
    costs: Sequence[Mapping[str, object]],
    missing: Sequence[str],
    refused: Sequence[str],
    regime: str,
    notes: Sequence[str],
) -> dict[str, object]:
    """The results dictionary (the content of ``results.json``).

    Parameters
    ----------
    out : pathlib.Path
        The comparison's folder: test probabilities are read from ``out/cells/KEY.npz``.
    cells : sequence of dict
        One per finished training run, as written to ``OUT/cells/*.json`` by
        :mod:`classifiers.compare`.
    costs : sequence of dict
        :meth:`classifiers.cost.CostReport.to_dict` plus ``model`` and ``space``.
    missing, refused : sequence of str
        Keys of planned cells that are not finished, or whose stored result was made
        with other settings.
    regime : str
        ``"full"`` or ``"last layer"``.
    """
    groups: dict[tuple[str, str, str], list[Mapping[str, object]]] = {}
    for cell in cells:
        groups.setdefault((cell["cache"], cell["model"], cell["space"]), []).append(cell)
    order = _order(config)
    rows = []
    for (cache, model, space), members in sorted(
        groups.items(), key=lambda item: order.get(item[0], len(order))
    ):
        members = sorted(members, key=lambda c: (c["fold"], c["seed"]))
        scores = [Scores.from_dict(c["scores"]) for c in members]
        epochs = [e for c in members for e in c["train"]["history"]]
        stem = f"{cache}__{model}__{space}"
        rows.append(
            {
                "cache": cache,
                "model": model,
                "space": space,
                "regime": regime,
                "runs": len(members),
                "metrics": {
                    m: {"mean": mu, "std": sd} for m, (mu, sd) in summarize(scores).items()
                },
                "per_class": _per_class(scores),
                "confusion": np.sum([s.confusion for s in scores], axis=0).tolist(),
                "class_names": members[0]["class_names"],
                "input": members[0]["input"],
                "first_layer": members[0]["first_layer"],
                "split": members[0]["split"],
                "absent_classes": sorted({a for s in scores for a in s.absent_classes}),
                "timing": {
                    "epoch_s": float(np.mean([e["epoch_s"] for e in epochs])),
                    "model_s": float(np.mean([e["model_s"] for e in epochs])),
                    "ratio": float(np.median([e["ratio"] for e in epochs])),
                    "resident": all(c["train"]["resident"] for c in members),
                    "precision": members[0]["train"]["precision"],
                    "processes": members[0]["train"]["processes"],
                },
                "cells": [c["key"] for c in members],
                "figures": {
                    kind: f"plots/{kind}__{stem}.png" for kind in ("confusion", "roc", "curves")
                },
            }
        )
    return {
        "config": dict(config),
        "devices": sorted({c["environment"]["device"] for c in cells}),
        "environment": cells[0]["environment"],
        "notes": list(notes),
        "rows": rows,
        "comparisons": _comparisons(out, rows, groups),
        "camera_shift": _camera_shift(out, rows, groups),
        "cost": [dict(c) for c in costs],
        "missing": list(missing),
        "refused": list(refused),
        "cells": [dict(c) for c in cells],
    }


def _paired_runs(
    rows: Sequence[Mapping[str, object]],
    groups: Mapping[tuple[str, str, str], Sequence[Mapping[str, object]]],
) -> Iterator[tuple[str, str, str, str, list[tuple[Mapping, Mapping]]]]:
    """``(cache, model, baseline, other, pairs)`` for every compared pair of spaces of each
    (cache, model): the (baseline cell, other cell) of their common runs — the same fold,
    seed and test images — in run order."""
    for cache, model in dict.fromkeys((r["cache"], r["model"]) for r in rows):
        present = [r["space"] for r in rows if (r["cache"], r["model"]) == (cache, model)]
        for baseline, other in comparisons(present):
            runs = {
                space: {(c["fold"], c["seed"]): c for c in groups[cache, model, space]}
                for space in (baseline, other)
            }
            pairs = [
                (runs[baseline][key], runs[other][key])
                for key in sorted(set(runs[baseline]) & set(runs[other]))
                if runs[baseline][key]["test_rows"] == runs[other][key]["test_rows"]
            ]
            if pairs:
                yield cache, model, baseline, other, pairs


def _run_name(cell: Mapping[str, object]) -> str:
    return f"fold {cell['fold']} seed {cell['seed']}"


def _predictions(out: Path, cell: Mapping[str, object]) -> dict[str, np.ndarray]:
    """The arrays stored with a cell: ``labels``, ``probabilities`` and, when it was
    tested on unseen cameras, ``camera_probabilities`` (C, n, K)."""
    with np.load(out / "cells" / f"{cell['key']}.npz") as stored:
        return {name: stored[name] for name in stored.files}


def _comparisons(
    out: Path,
    rows: Sequence[Mapping[str, object]],
    groups: Mapping[tuple[str, str, str], Sequence[Mapping[str, object]]],
) -> list[dict[str, object]]:
    """Paired comparisons of the spaces of each (cache, model), over their common runs."""
    found = []
    for cache, model, baseline, other, pairs in _paired_runs(rows, groups):
        loaded = [(_predictions(out, a), _predictions(out, b)) for a, b in pairs]
        result = compare_paired(
            loaded[0][0]["labels"],
            [a["probabilities"] for a, _ in loaded],
            [b["probabilities"] for _, b in loaded],
            names=(baseline, other),
            run_names=[_run_name(a) for a, _ in pairs],
        )
        found.append({"cache": cache, "model": model, **result.to_dict()})
    return found


def _camera_shift(
    out: Path,
    rows: Sequence[Mapping[str, object]],
    groups: Mapping[tuple[str, str, str], Sequence[Mapping[str, object]]],
) -> dict[str, object] | None:
    """Accuracy of each row on the training camera and on the unseen cameras, and the
    paired comparisons on the unseen cameras; None when no cell tested unseen cameras."""
    tested = [c for members in groups.values() for c in members if c.get("test_cameras")]
    if not tested:
        return None
    cameras = tested[0]["test_cameras"]
    table = []
    for r in rows:
        shifted = [
            c
            for c in groups[r["cache"], r["model"], r["space"]]
            if c.get("test_cameras") == cameras
        ]
        entry = {
            "cache": r["cache"],
            "model": r["model"],
            "space": r["space"],
            "own": r["metrics"]["accuracy"],
            "unseen": None,
        }
        if shifted:
            accuracies = []
            for cell in shifted:
                stored = _predictions(out, cell)
                correct = stored["camera_probabilities"].argmax(-1) == stored["labels"]
                accuracies.append(correct.mean(-1))
            per_camera = np.mean(accuracies, axis=0)
            entry["unseen"] = {
                "per_camera": per_camera.tolist(),
                "mean": float(per_camera.mean()),
                "worst": float(per_camera.min()),
                "worst_camera": cameras[int(per_camera.argmin())],
            }
        table.append(entry)
    found = []
    for cache, model, baseline, other, pairs in _paired_runs(rows, groups):
        shifted_pairs = [
            (a, b)
            for a, b in pairs
            if b.get("test_cameras") == cameras
            and (a.get("test_cameras") == cameras or not baseline.startswith("raw_"))
        ]
        if not shifted_pairs:
            continue
        base_runs, other_runs, names = [], [], []
        for a, b in shifted_pairs:
            base, shifted_other = _predictions(out, a), _predictions(out, b)
            for k, camera in enumerate(cameras):
                # an RGB baseline's input does not change with the camera
                unchanged = "camera_probabilities" not in base
                base_runs.append(
                    base["probabilities"] if unchanged else base["camera_probabilities"][k]
                )
                other_runs.append(shifted_other["camera_probabilities"][k])
                names.append(f"{_run_name(a)} {camera}")
        result = compare_paired(
            base["labels"], base_runs, other_runs, names=(baseline, other), run_names=names
        )
        found.append({"cache": cache, "model": model, **result.to_dict()})
    return {"cameras": cameras, "rows": table, "comparisons": found}


def write(out: Path, results: Mapping[str, object]) -> None:
    """Write ``results.json``, ``results.csv``, ``results.md`` and ``plots/*.png`` into
    ``out``; ROC curves read the test probabilities in ``out/cells/<key>.npz``."""
    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    write_text(out / "results.json", json.dumps(results, indent=1))
    write_text(out / "results.csv", _csv(results))
    cells = {c["key"]: c for c in results["cells"]}
    for row in results["rows"]:
        members = [cells[k] for k in row["cells"]]
        title = f"{row['cache']} · {row['model']} · {row['space']}"
        _plot_confusion(out / row["figures"]["confusion"], row, title)
        _plot_roc(out / row["figures"]["roc"], out / "cells", row, title)
        _plot_curves(out / row["figures"]["curves"], members, title)
    write_text(out / "results.md", _markdown(results))


def _per_class(scores: Sequence[Scores]) -> list[dict[str, object]]:
    out = []
    for k, first in enumerate(scores[0].per_class):
        entry = {"name": first.name, "support": first.support}
        for metric in ("precision", "sensitivity", "f1", "auc"):
            entry[metric] = float(np.mean([getattr(s.per_class[k], metric) for s in scores]))
        out.append(entry)
    return out


def _metric_cell(row: Mapping[str, object], metric: str) -> str:
    summary = row["metrics"][metric]
    scale, digits = (100.0, 2) if metric in _POINTS else (1.0, 3)
    return f"{scale * summary['mean']:.{digits}f} ± {scale * summary['std']:.{digits}f}"


def _optional(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _points(value: float) -> str:
    return f"{100 * value:+.2f}"


def _table(header: Sequence[str], lines: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(v) for v in line) + " |" for line in lines]
    return out


def _split_lines(rows: Sequence[Mapping[str, object]]) -> list[str]:
    lines = []
    for cache, split in dict.fromkeys((r["cache"], json.dumps(r["split"])) for r in rows):
        split = json.loads(split)
        folds = f"{split['folds']} folds" if split["folds"] else "no folds"
        if split["grouped"]:
            how = (
                f"group-aware by the source's `{split['group_column']}` column: no group has "
                "images in both the training and the test split, or in two folds"
            )
        else:
            how = "per image (stratified by class)"
        lines.append(
            f"- `{cache}`: test fraction {split['test_fraction']}, {folds}, split {how}; "
            f"seed {split['seed']}; source format {split['source_format']}."
        )
        if not split["grouped"]:
            matek = " Matek-19 has no patient IDs, so this cannot be avoided there." * (
                split["source_format"] == "matek19"
            )
            lines.append(
                f"  **Warning:** a per-image split puts cells of one patient or slide in both "
                f"training and test when the data hold several cells per patient, which can "
                f"flatter every space alike.{matek} Build from a CSV with a `group` column "
                f"(patient or slide) for group-aware splits."
            )
    return lines


def _markdown(results: Mapping[str, object]) -> str:
    config, rows = results["config"], results["rows"]
    runs = sorted({r["runs"] for r in rows})
    lines = ["# rawspace compare", ""]
    lines += [
        f"Devices: {', '.join(results['devices'])}. Regime: "
        f"{rows[0]['regime'] if rows else '—'}. Folds: {config['folds']}; seeds: "
        f"{config['seeds']}; runs per row: {', '.join(map(str, runs))}. Epochs ≤ "
        f"{config['train']['epochs']}.",
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
    lines += _split_lines(rows)
    lines += ["", "## Classification (test split, mean ± sd over runs)", ""]
    lines += _table(
        ["cache", "model", "space", "regime", "runs", *[LABELS[m][0] for m in METRICS]],
        [
            [r["cache"], r["model"], r["space"], r["regime"], r["runs"]]
            + [_metric_cell(r, m) for m in METRICS]
            for r in rows
        ],
    )
    lines += [""] + [f"- {LABELS[m][0]}: {LABELS[m][1]}." for m in METRICS]
    lines += _comparison_lines(results["comparisons"])
    lines += _camera_shift_lines(results["camera_shift"])
    lines += _cost_lines(results["cost"])
    lines += ["", "## Input tensors", ""]
    lines += [
        "Every model input is (N, C, H, W), scaled to [0, 1] as shown, then standardised "
        "per channel with the mean and std of the run's training samples (listed for the "
        "first run); float32, or bfloat16 under autocast where training uses it (see "
        "Training speed).",
        "",
    ]
    lines += _table(
        ["cache", "space", "model", "tensor (C×H×W)", "source", "scaling", "mean", "std",
         "first layer"],
        [
            [
                r["cache"], r["space"], r["model"], "×".join(map(str, r["input"]["shape"])),
                r["input"]["source"] + (f", CFA {r['input']['cfa']}" if r["input"]["cfa"] else ""),
                r["input"]["scaling"], ", ".join(f"{v:.4f}" for v in r["input"]["mean"]),
                ", ".join(f"{v:.4f}" for v in r["input"]["std"]), r["first_layer"],
            ]
            for r in rows
        ],
    )  # fmt: skip
    lines += [""]
    lines += [
        f"- `{s}`: {d}"
        for s, d in dict.fromkeys((r["space"], r["input"]["description"]) for r in rows)
    ]
    lines += ["", "## Training speed", ""]
    lines += _table(
        ["cache", "model", "space", "data", "precision", "processes", "epoch s", "model s",
         "epoch / model"],
        [
            [
                r["cache"], r["model"], r["space"],
                "device-resident" if r["timing"]["resident"] else "DataLoader",
                r["timing"]["precision"], r["timing"]["processes"],
                f"{r['timing']['epoch_s']:.2f}", f"{r['timing']['model_s']:.2f}",
                f"{r['timing']['ratio']:.2f}",
            ]
            for r in rows
        ],
    )  # fmt: skip
    lines += ["", "## Figures", ""]
    for r in rows:
        figures = r["figures"]
        lines.append(
            f"- {r['cache']} · {r['model']} · {r['space']}: [confusion]({figures['confusion']}), "
            f"[ROC]({figures['roc']}), [training curves]({figures['curves']})"
        )
    lines += ["", "## Per-class reports (mean over runs)", ""]
    for r in rows:
        lines += [f"### {r['cache']} · {r['model']} · {r['space']}", ""]
        lines += _table(
            ["class", "P", "S", "F1", "AUC", "test support"],
            [
                [c["name"], f"{c['precision']:.3f}", f"{c['sensitivity']:.3f}",
                 f"{c['f1']:.3f}", f"{c['auc']:.3f}", c["support"]]
                for c in r["per_class"]
            ],
        )  # fmt: skip
        lines += [""]
    lines += ["## Notes", ""]
    lines += [f"- {note}" for note in results["notes"]]
    absent = sorted({a for r in rows for a in r["absent_classes"]})
    if absent:
        lines.append(f"- Classes absent from the test labels (weight 0): {', '.join(absent)}.")
    if results["missing"] or results["refused"]:
        lines += ["", "## Missing cells", ""]
        lines += [f"- not finished: `{key}`" for key in results["missing"]]
        lines += [
            f"- refused (made with other settings than the plan): `{key}`"
            for key in results["refused"]
        ]
    lines += ["", "## Configuration", "", "```json"]
    lines += [
        json.dumps({"config": config, "environment": results["environment"]}, indent=1),
        "```",
        "",
    ]
    return "\n".join(lines)


def _comparison_lines(found: Sequence[Mapping[str, object]]) -> list[str]:
    lines = ["", "## Paired comparisons of input spaces (other − baseline)", ""]
    if not found:
        return [*lines, "No two compared spaces share a run.", ""]
    lines += [
        "Differences are in percentage points, other − baseline. CI: 95 % paired bootstrap "
        "over test images (the same resample for both spaces and every run, 10,000 "
        "resamples, runs averaged inside each resample). McNemar: exact test on the test "
        "images that exactly one of the two spaces classifies correctly, pooled over runs "
        "(all runs share the test images). t-test and Wilcoxon: over the runs' accuracies, "
        "with at least 5 runs. A CI that includes 0 together with p ≥ 0.05 means no "
        "evidence of a difference — not evidence of no difference.",
        "",
    ]
    lines += _table(
        ["cache", "model", "comparison", "runs", "Δ Acc", "95 % CI", "McNemar p (pooled)",
         "b / c", "t-test p", "Wilcoxon p", "Δ mF1", "95 % CI (mF1)"],
        [
            [
                c["cache"], c["model"], f"{c['other']} − {c['baseline']}", len(c["runs"]),
                _points(c["mean_delta_accuracy"]),
                f"[{_points(c['accuracy_ci'][0])}, {_points(c['accuracy_ci'][1])}]",
                _p(c["pooled_p"]), f"{c['pooled_b']} / {c['pooled_c']}",
                _p(c["ttest_p"]), _p(c["wilcoxon_p"]), _points(c["mean_delta_macro_f1"]),
                f"[{_points(c['macro_f1_ci'][0])}, {_points(c['macro_f1_ci'][1])}]",
            ]
            for c in found
        ],
    )  # fmt: skip
    lines += [
        "",
        "b: test images the baseline gets right and the other wrong; c: the reverse (summed "
        "over runs).",
        "",
    ]
    lines += [f"- {c['cache']} · {c['model']}: {c['sentence_accuracy']}" for c in found]
    return lines


def _camera_shift_lines(shift: Mapping[str, object] | None) -> list[str]:
    if shift is None:
        return []
    cameras = shift["cameras"]
    lines = ["", "## Camera shift: unseen cameras at test time", ""]
    lines += [
        f"Every raw model is also tested on the test images unprocessed with {len(cameras)} "
        f"camera(s) it never saw in training ({', '.join(cameras)}); RGB models are listed "
        "for reference (their input does not change). Accuracy %: on the training camera "
        "(mean ± sd over runs), and the mean and worst over the unseen cameras (each the "
        "mean over runs).",
        "",
    ]
    lines += _table(
        ["cache", "model", "space", "training camera", "unseen: mean", "unseen: worst"],
        [
            [
                e["cache"], e["model"], e["space"],
                f"{100 * e['own']['mean']:.2f} ± {100 * e['own']['std']:.2f}",
                "(input unchanged)" if e["unseen"] is None else f"{100 * e['unseen']['mean']:.2f}",
                "—" if e["unseen"] is None
                else f"{100 * e['unseen']['worst']:.2f} ({e['unseen']['worst_camera']})",
            ]
            for e in shift["rows"]
        ],
    )  # fmt: skip
    if shift["comparisons"]:
        lines += [
            "",
            "Paired comparisons on the unseen cameras (every run × camera is one paired run "
            "of the same test images; an RGB baseline keeps its own predictions):",
            "",
        ]
        lines += [
            f"- {c['cache']} · {c['model']}: {c['sentence_accuracy']}" for c in shift["comparisons"]
        ]
    return lines


def _cost_lines(costs: Sequence[Mapping[str, object]]) -> list[str]:
    lines = ["", "## Cost (one image)", ""]
    lines += [
        "Latency: batch 1, true fp32 (TF32 off for convolutions and matrix products, "
        "cuDNN autotuning on, deterministic algorithms off), after warm-up; median and mean "
        "± sd over 200 inferences timed with CUDA events. GPU MB: peak allocation during "
        "one batch-1 inference minus what was allocated before it (activations and "
        "workspace, not the weights). Both on CUDA only (— otherwise).",
        "",
    ]
    lines += _table(
        ["model", "space", "input", "latency ms (median)", "latency ms (mean ± sd)",
         "params M", "GMACs", "acts M", "GPU MB", "Conv2d", "device"],
        [
            [
                c["model"], c["space"], "×".join(map(str, c["input_size"])),
                _optional(c["latency_ms"], 2),
                "—" if c["latency_mean_ms"] is None
                else f"{c['latency_mean_ms']:.2f} ± {c['latency_sd_ms']:.2f}",
                f"{c['params_m']:.2f}", f"{c['gmacs']:.2f}", f"{c['activations_m']:.2f}",
                _optional(c["peak_mem_mb"], 0), c["conv2d"], c["device"],
            ]
            for c in costs
        ],
    )  # fmt: skip
    return lines


def _csv(results: Mapping[str, object]) -> str:
    costs = {(c["model"], c["space"], tuple(c["input_size"])): c for c in results["cost"]}
    fields = ["cache", "model", "space", "regime", "runs", "input"]
    fields += [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
    cost_fields = ["latency_ms", "latency_mean_ms", "latency_sd_ms", "params_m", "gmacs",
                   "activations_m", "peak_mem_mb", "conv2d"]  # fmt: skip
    fields += [*cost_fields, "epoch_s", "model_s", "epoch_model_ratio"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in results["rows"]:
        cost = costs.get((r["model"], r["space"], tuple(r["input"]["shape"])), {})
        line = {
            "cache": r["cache"],
            "model": r["model"],
            "space": r["space"],
            "regime": r["regime"],
            "runs": r["runs"],
            "input": "x".join(map(str, r["input"]["shape"])),
            "epoch_s": r["timing"]["epoch_s"],
            "model_s": r["timing"]["model_s"],
            "epoch_model_ratio": r["timing"]["ratio"],
        }
        for m in METRICS:
            line[f"{m}_mean"] = r["metrics"][m]["mean"]
            line[f"{m}_std"] = r["metrics"][m]["std"]
        line.update({key: cost.get(key) for key in cost_fields})
        writer.writerow(line)
    return buffer.getvalue()


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=110, bbox_inches="tight")


def _plot_confusion(path: Path, row: Mapping[str, object], title: str) -> None:
    confusion = np.asarray(row["confusion"], dtype=np.float64)
    names = row["class_names"]
    k = len(names)
    fraction = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = 2.5 + 0.45 * k
    figure = Figure(figsize=(size, size))
    ax = figure.add_subplot()
    ax.imshow(fraction, cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if confusion[i, j]:
                color = "white" if fraction[i, j] > 0.5 else "black"
                ax.text(
                    j,
                    i,
                    f"{int(confusion[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=color,
                )
    ax.set_xticks(range(k), names, rotation=90, fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}\nconfusion summed over {row['runs']} run(s)", fontsize=9)
    _save(figure, path)


def _plot_roc(path: Path, cells_dir: Path, row: Mapping[str, object], title: str) -> None:
    parts = [np.load(cells_dir / f"{key}.npz") for key in row["cells"]]
    labels = np.concatenate([p["labels"] for p in parts])
    probabilities = np.concatenate([p["probabilities"] for p in parts])
    figure = Figure(figsize=(6, 5))
    ax = figure.add_subplot()
    for k, name in enumerate(row["class_names"]):
        positive = labels == k
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, probabilities[:, k])
        auc = roc_auc_score(positive, probabilities[:, k])
        ax.plot(fpr, tpr, linewidth=1, label=f"{name} ({auc:.3f})")
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    wauc = row["metrics"]["wauc"]["mean"]
    ax.set_title(f"{title}\none-vs-rest ROC, runs pooled; wAUC {wauc:.3f}", fontsize=9)
    ax.legend(fontsize=6, loc="lower right", ncols=2)
    _save(figure, path)


def _plot_curves(path: Path, members: Sequence[Mapping[str, object]], title: str) -> None:
    figure = Figure(figsize=(10, 3.8))
    loss_ax, acc_ax = figure.subplots(1, 2)
    for cell in members:
        history = cell["train"]["history"]
        epochs = [e["epoch"] for e in history]
        run = f"fold {cell['fold']} seed {cell['seed']}"
        line = loss_ax.plot(epochs, [e["loss"] for e in history], label=f"{run} train")[0]
        color = line.get_color()
        loss_ax.plot(
            epochs, [e["val_loss"] for e in history], "--", color=color, label=f"{run} val"
        )
        acc_ax.plot(epochs, [e["train_acc"] for e in history], color=color, label=f"{run} train")
        acc_ax.plot(epochs, [e["val_acc"] for e in history], "--", color=color, label=f"{run} val")
    for ax, name in ((loss_ax, "loss (solid: train, dashed: val)"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    acc_ax.legend(fontsize=6)
    figure.suptitle(title, fontsize=9)
    _save(figure, path)
