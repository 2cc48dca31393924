"""``results.csv``: one line per row — metric means and standard deviations, the model's
cost on the row's input and its training speed."""

from __future__ import annotations

import csv
import io

from ..metrics import METRICS
from .results import Results

__all__ = ["csv_text"]

_COST_FIELDS = ("latency_ms", "latency_mean_ms", "latency_sd_ms", "params_m", "gmacs",
                "activations_m", "peak_mem_mb", "conv2d")  # fmt: skip


def csv_text(results: Results) -> str:
    """The text of ``results.csv``."""
    costs = {(c.model, c.space, tuple(c.report.input_size)): c for c in results.cost}
    fields = ["cache", "model", "space", "regime", "runs", "input"]
    fields += [f"{m}_{s}" for m in METRICS for s in ("mean", "std")]
    fields += [*_COST_FIELDS, "epoch_s", "model_s", "epoch_model_ratio"]
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
        cost = costs.get((r.model, r.space, tuple(r.input.shape)))
        line.update({key: getattr(cost.report, key) if cost else None for key in _COST_FIELDS})
        writer.writerow(line)
    return buffer.getvalue()
