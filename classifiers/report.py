"""The comparison report: ``results.json``, ``results.csv``, ``results.md`` and figures.

:func:`assemble` turns finished cells (one training run each) and model costs into one
results dictionary with a row per (cache, model, space); :func:`write` renders it:

* ``results.md`` — the study's three tables (classification per model and regime, RGB vs
  raw per model, cost per model and input space), the exact input tensor of every space
  and model, training speed, per-class reports, notes, configuration and versions;
* ``results.csv`` — one line per row, metric means and standard deviations and costs;
* ``plots/`` — per row a confusion matrix (summed over folds), one-vs-rest ROC curves
  (test predictions of all folds pooled) and training curves (one line per fold), PNG.

Figures use matplotlib's object API (``Figure`` + Agg canvas), never pyplot's global state.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import roc_auc_score, roc_curve

from rawspace.files import write_text

from .metrics import METRICS, Scores, summarize

__all__ = ["assemble", "write"]

_RAW_SPACES = ("raw_bayer", "raw_packed", "raw_linear")
_LABELS = {
    "accuracy": "Acc %",
    "precision": "P",
    "sensitivity": "S",
    "f1": "F1",
    "wauc": "wAUC",
}


def assemble(
    *,
    config: Mapping[str, object],
    cells: Sequence[Mapping[str, object]],
    costs: Sequence[Mapping[str, object]],
    environment: Mapping[str, object],
    regime: str,
    notes: Sequence[str],
) -> dict[str, object]:
    """The results dictionary (the content of ``results.json``).

    Parameters
    ----------
    cells : sequence of dict
        One per training run, as written to ``OUT/cells/*.json`` by
        :mod:`classifiers.compare` (keys ``cache``, ``model``, ``space``, ``fold``,
        ``scores``, ``train``, ``input``, ``first_layer``, …).
    costs : sequence of dict
        :meth:`classifiers.cost.CostReport.to_dict` plus ``model`` and ``space``.
    regime : str
        ``"full"`` or ``"last layer"``.
    """
    groups: dict[tuple[str, str, str], list[Mapping[str, object]]] = {}
    for cell in cells:
        groups.setdefault((cell["cache"], cell["model"], cell["space"]), []).append(cell)
    rows = []
    for (cache, model, space), members in groups.items():
        members = sorted(members, key=lambda c: c["fold"])
        scores = [Scores.from_dict(c["scores"]) for c in members]
        summary = summarize(scores)
        epochs = [e for c in members for e in c["train"]["history"]]
        stem = f"{cache}__{model}__{space}"
        rows.append(
            {
                "cache": cache,
                "model": model,
                "space": space,
                "regime": regime,
                "runs": len(members),
                "metrics": {m: {"mean": mu, "std": sd} for m, (mu, sd) in summary.items()},
                "per_class": _per_class(scores),
                "confusion": np.sum([s.confusion for s in scores], axis=0).tolist(),
                "class_names": members[0]["class_names"],
                "input": members[0]["input"],
                "first_layer": members[0]["first_layer"],
                "absent_classes": sorted({a for s in scores for a in s.absent_classes}),
                "timing": {
                    "epoch_s": float(np.mean([e["epoch_s"] for e in epochs])),
                    "model_s": float(np.mean([e["model_s"] for e in epochs])),
                    "ratio": float(np.median([e["ratio"] for e in epochs])),
                    "resident": all(c["train"]["resident"] for c in members),
                },
                "cells": [c["key"] for c in members],
                "figures": {
                    kind: f"plots/{kind}__{stem}.png" for kind in ("confusion", "roc", "curves")
                },
            }
        )
    return {
        "config": dict(config),
        "environment": dict(environment),
        "notes": list(notes),
        "rows": rows,
        "cost": [dict(c) for c in costs],
        "cells": [dict(c) for c in cells],
    }


def write(out: Path, results: Mapping[str, object]) -> None:
    """Write ``results.json``, ``results.csv``, ``results.md`` and ``plots/*.png`` into
    ``out``; ROC curves read the test probabilities in ``out/cells/<key>.npz``."""
    out = Path(out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    write_text(out / "results.json", json.dumps(results, indent=1))
    _write_csv(out / "results.csv", results)
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
        for metric in ("precision", "sensitivity", "f1"):
            entry[metric] = float(np.mean([getattr(s.per_class[k], metric) for s in scores]))
        out.append(entry)
    return out


def _pm(summary: Mapping[str, float], scale: float = 1.0, digits: int = 3) -> str:
    return f"{scale * summary['mean']:.{digits}f} ± {scale * summary['std']:.{digits}f}"


def _metric_cell(row: Mapping[str, object], metric: str) -> str:
    if metric == "accuracy":
        return _pm(row["metrics"][metric], 100.0, 2)
    return _pm(row["metrics"][metric])


def _optional(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _table(header: Sequence[str], lines: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(v) for v in line) + " |" for line in lines]
    return out


def _markdown(results: Mapping[str, object]) -> str:
    config, environment, rows = results["config"], results["environment"], results["rows"]
    lines = ["# rawspace compare", ""]
    lines += [
        f"Device: {environment['device']}. Regime: {rows[0]['regime'] if rows else '—'}. "
        f"Folds: {config['folds']}. Epochs ≤ {config['train']['epochs']}.",
        "",
        "## Classification (test split, mean ± std over runs)",
        "",
    ]
    lines += _table(
        ["cache", "model", "space", "regime", "runs", *[_LABELS[m] for m in METRICS]],
        [
            [r["cache"], r["model"], r["space"], r["regime"], r["runs"]]
            + [_metric_cell(r, m) for m in METRICS]
            for r in rows
        ],
    )
    lines += ["", "## RGB vs raw (test accuracy %, mean ± std)", ""]
    present = [s for s in ("rgb", "rgb_aug", *_RAW_SPACES) if any(r["space"] == s for r in rows)]
    pairs = list(dict.fromkeys((r["cache"], r["model"]) for r in rows))
    compare_lines = []
    for cache, model in pairs:
        by_space = {r["space"]: r for r in rows if (r["cache"], r["model"]) == (cache, model)}
        line = [cache, model]
        line += [_metric_cell(by_space[s], "accuracy") if s in by_space else "—" for s in present]
        raw = [by_space[s] for s in _RAW_SPACES if s in by_space]
        if "rgb" in by_space and raw:
            best = max(raw, key=lambda r: r["metrics"]["accuracy"]["mean"])
            delta = (
                best["metrics"]["accuracy"]["mean"] - by_space["rgb"]["metrics"]["accuracy"]["mean"]
            )
            line.append(f"{100 * delta:+.2f} ({best['space']})")
        else:
            line.append("—")
        compare_lines.append(line)
    lines += _table(["cache", "model", *present, "best raw − rgb"], compare_lines)
    lines += ["", "## Cost (one image; latency and memory: batch 1, fp32, CUDA)", ""]
    lines += _table(
        [
            "model",
            "space",
            "input",
            "latency ms",
            "params M",
            "GMACs",
            "acts M",
            "GPU MB",
            "Conv2d",
        ],
        [
            [
                c["model"],
                c["space"],
                "×".join(map(str, c["input_size"])),
                _optional(c["latency_ms"], 2),
                f"{c['params_m']:.2f}",
                f"{c['gmacs']:.2f}",
                f"{c['activations_m']:.2f}",
                _optional(c["peak_mem_mb"], 0),
                c["conv2d"],
            ]
            for c in results["cost"]
        ],
    )
    lines += ["", "## Input tensors", ""]
    lines += [
        "Every model input is float32 (bfloat16 under CUDA autocast), (N, C, H, W), values "
        "scaled to [0, 1] as shown, then standardised per channel with the mean and std of "
        "the run's training samples (listed for the first run).",
        "",
    ]
    lines += _table(
        [
            "cache",
            "space",
            "model",
            "tensor (C×H×W)",
            "source",
            "scaling",
            "mean",
            "std",
            "first layer",
        ],
        [
            [
                r["cache"],
                r["space"],
                r["model"],
                "×".join(map(str, r["input"]["shape"])),
                r["input"]["source"] + (f", CFA {r['input']['cfa']}" if r["input"]["cfa"] else ""),
                r["input"]["scaling"],
                ", ".join(f"{v:.4f}" for v in r["input"]["mean"]),
                ", ".join(f"{v:.4f}" for v in r["input"]["std"]),
                r["first_layer"],
            ]
            for r in rows
        ],
    )
    lines += [""]
    lines += [
        f"- `{s}`: {d}"
        for s, d in dict.fromkeys((r["space"], r["input"]["description"]) for r in rows)
    ]
    lines += ["", "## Training speed", ""]
    lines += _table(
        ["cache", "model", "space", "data", "epoch s", "model s", "epoch / model"],
        [
            [
                r["cache"],
                r["model"],
                r["space"],
                "device-resident" if r["timing"]["resident"] else "DataLoader",
                f"{r['timing']['epoch_s']:.2f}",
                f"{r['timing']['model_s']:.2f}",
                f"{r['timing']['ratio']:.2f}",
            ]
            for r in rows
        ],
    )
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
            ["class", "P", "S", "F1", "test support"],
            [
                [
                    c["name"],
                    f"{c['precision']:.3f}",
                    f"{c['sensitivity']:.3f}",
                    f"{c['f1']:.3f}",
                    c["support"],
                ]
                for c in r["per_class"]
            ],
        )
        lines += [""]
    lines += ["## Notes", ""]
    lines += [f"- {note}" for note in results["notes"]]
    absent = sorted({a for r in rows for a in r["absent_classes"]})
    if absent:
        lines.append(f"- Classes absent from the test labels (weight 0): {', '.join(absent)}.")
    lines += ["", "## Configuration", "", "```json"]
    lines += [json.dumps({"config": config, "environment": environment}, indent=1), "```", ""]
    return "\n".join(lines)


def _write_csv(path: Path, results: Mapping[str, object]) -> None:
    costs = {(c["model"], c["space"], tuple(c["input_size"])): c for c in results["cost"]}
    fields = ["cache", "model", "space", "regime", "runs", "input"]
    fields += [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
    fields += ["latency_ms", "params_m", "gmacs", "activations_m", "peak_mem_mb", "conv2d"]
    fields += ["epoch_s", "model_s", "epoch_model_ratio"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
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
            for key in (
                "latency_ms",
                "params_m",
                "gmacs",
                "activations_m",
                "peak_mem_mb",
                "conv2d",
            ):
                line[key] = cost.get(key)
            writer.writerow(line)


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
        line = loss_ax.plot(
            epochs, [e["loss"] for e in history], label=f"fold {cell['fold']} train"
        )[0]
        loss_ax.plot(
            epochs,
            [e["val_loss"] for e in history],
            linestyle="--",
            color=line.get_color(),
            label=f"fold {cell['fold']} val",
        )
        acc_ax.plot(
            epochs,
            [e["train_acc"] for e in history],
            color=line.get_color(),
            label=f"fold {cell['fold']} train",
        )
        acc_ax.plot(
            epochs,
            [e["val_acc"] for e in history],
            linestyle="--",
            color=line.get_color(),
            label=f"fold {cell['fold']} val",
        )
    for ax, name in ((loss_ax, "loss (solid: train, dashed: val)"), (acc_ax, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    acc_ax.legend(fontsize=6)
    figure.suptitle(title, fontsize=9)
    _save(figure, path)
