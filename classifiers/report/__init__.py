"""The comparison report: ``results.json``, ``results.csv``, ``results.md`` and figures.

:func:`assemble` turns the records of finished cells (one training run each) and model
costs into :class:`Results` — a row per (cache, model, space) with its metrics over the
runs, the paired comparisons of input spaces (:mod:`classifiers.stats`, pairs chosen by
:func:`comparisons`) and the camera-shift table; :func:`write` renders them. Nothing is
chosen by test accuracy. The layout of ``results.json`` is documented in
``docs/results.md``.

Modules: :mod:`~classifiers.report.results` (the types), :mod:`~classifiers.report.assembly`,
:mod:`~classifiers.report.text` (numbers, p-values, tables, notes),
:mod:`~classifiers.report.markdown` and :mod:`~classifiers.report.sections` (the
statistical sections), :mod:`~classifiers.report.csvtable`,
:mod:`~classifiers.report.figures` and :mod:`~classifiers.report.stat_figures`,
:mod:`~classifiers.report.family` (the primary comparison and the Holm family).
"""

from __future__ import annotations

import json
from pathlib import Path

from rawspace.files import WriteError, write_text

from .assembly import assemble, comparisons
from .csvtable import csv_text
from .family import Family, parse_primary
from .figures import plot_confusion, plot_curves, plot_roc
from .markdown import markdown_text
from .results import RESULTS_SCHEMA_VERSION, Results
from .stat_figures import plot_camera_shift, plot_forest, plot_reliability

__all__ = ["RESULTS_SCHEMA_VERSION", "Family", "Results", "assemble", "comparisons",
           "parse_primary", "write"]  # fmt: skip


def write(out: Path, results: Results) -> None:
    """Write ``results.json``, ``results.csv``, ``results.md`` and ``plots/*.png`` into
    ``out``, each atomically; ROC curves read the predictions in ``out/cells``.

    Per row: confusion, ROC, training curves and the reliability diagram; for the report:
    the forest plot of every comparison and, with unseen cameras, the camera-shift plot."""
    out = Path(out)
    try:
        (out / "plots").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WriteError(error.errno, error.strerror, str(out / "plots")) from None
    write_text(out / "results.json", json.dumps(results.to_dict(), indent=1))
    write_text(out / "results.csv", csv_text(results))
    for row in results.rows:
        members = results.members(row)
        plot_confusion(out / row.figures["confusion"], row)
        plot_roc(out / row.figures["roc"], out / "cells", row, members)
        plot_curves(out / row.figures["curves"], row, members)
        plot_reliability(out / row.figures["reliability"], row)
    plot_forest(out / results.figures["forest"], results.comparisons)
    if results.camera_shift is not None:
        plot_camera_shift(out / results.figures["camera_shift"], results.camera_shift)
    write_text(out / "results.md", markdown_text(results))
