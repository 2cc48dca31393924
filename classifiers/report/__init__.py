"""The comparison report: ``results.json``, ``results.csv``, ``results.md`` and figures.

:func:`assemble` turns the records of finished cells (one training run each) and model
costs into :class:`Results` — a row per (cache, model, space) with its metrics over the
runs, the paired comparisons of input spaces (:mod:`classifiers.stats`, pairs chosen by
:func:`comparisons`) and the camera-shift table; :func:`write` renders them. Nothing is
chosen by test accuracy. The layout of ``results.json`` is documented in
``docs/results.md``.

Modules: :mod:`~classifiers.report.results` (the types), :mod:`~classifiers.report.assembly`,
:mod:`~classifiers.report.text` (numbers, p-values, tables, notes),
:mod:`~classifiers.report.markdown`, :mod:`~classifiers.report.csvtable`,
:mod:`~classifiers.report.figures`.
"""

from __future__ import annotations

import json
from pathlib import Path

from rawspace.files import WriteError, write_text

from .assembly import assemble, comparisons
from .csvtable import csv_text
from .figures import plot_confusion, plot_curves, plot_roc
from .markdown import markdown_text
from .results import Results

__all__ = ["Results", "assemble", "comparisons", "write"]


def write(out: Path, results: Results) -> None:
    """Write ``results.json``, ``results.csv``, ``results.md`` and ``plots/*.png`` into
    ``out``, each atomically; ROC curves read the predictions in ``out/cells``."""
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
    write_text(out / "results.md", markdown_text(results))
