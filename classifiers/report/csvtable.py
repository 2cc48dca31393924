"""``results.csv``: one line per row — metric means and standard deviations, the accuracy
interval, near-chance flag and ECE, the model's cost on the row's input and its training
speed."""

from __future__ import annotations

import csv
import io

from ..metrics import METRICS
from .results import Results

__all__ = ["csv_text"]

_COST_FIELDS = ("latency_ms", "latency_mean_ms", "latency_sd_ms", "params_m",
                "params_1000_m", "params_kept_m", "gmacs", "flops_g", "activations_m", "weights_mb",
                "peak_mem_mb", "peak_mem_with_weights_mb", "conv2d")  # fmt: skip
_ROW_FIELDS = ("accuracy_low", "accuracy_high", "near_chance", "ece")


def csv_text(results: Results) -> str:
    """The text of ``results.csv``."""
    costs = {(c.model, c.space, tuple(c.report.input_size)): c for c in results.cost}
    fields = ["cache", "model", "space", "regime", "runs", "input"]
    fields += [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
    fields += [*_ROW_FIELDS, *_COST_FIELDS, "epoch_s", "model_s", "epoch_model_ratio"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in results.rows:
        line: dict[str, object] = {
            "cache": r.cache,
            "model": r.model,
            "space": r.space,
            "regime": r.regime,
            "runs": r.runs,
            "input": "x".join(map(str, r.input.shape)),
            "epoch_s": r.timing.epoch_s,
            "model_s": r.timing.model_s,
            "epoch_model_ratio": r.timing.ratio,
        }
        for m in METRICS:
            line[f"{m}_mean"] = r.metrics[m].mean
            line[f"{m}_std"] = r.metrics[m].std
        ci = r.accuracy_ci
        line["accuracy_low"] = None if ci is None else ci.low
        line["accuracy_high"] = None if ci is None else ci.high
        line["near_chance"] = None if ci is None else ci.near_chance
        line["ece"] = None if r.calibration is None else r.calibration.ece
        cost = costs.get((r.model, r.space, tuple(r.input.shape)))
        line.update({key: getattr(cost.report, key) if cost else None for key in _COST_FIELDS})
        writer.writerow(line)
    return buffer.getvalue()
