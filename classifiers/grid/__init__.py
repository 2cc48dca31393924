"""The comparison grid: caches × models × input spaces × folds × seeds, resumable and
shardable, then a report with paired statistics (:mod:`classifiers.report`).

Each *cell* trains one model on one input space of one cache for one fold and seed and
evaluates it on the cache's TEST split (:mod:`~classifiers.grid.task`). A finished cell
leaves ``OUT/cells/KEY.json`` (a :class:`~classifiers.grid.record.CellRecord`: its scores,
training history, input description and *fingerprint*) and ``KEY.npz`` (its test
predictions); a later run reuses a cell whose fingerprint matches and retrains one whose
fingerprint differs or whose files are damaged, saying why. Every run writes
``OUT/plan.json``. The layout of these files is documented in ``docs/results.md``.

Modules: :mod:`~classifiers.grid.config` (:class:`CompareConfig`, parsing),
:mod:`~classifiers.grid.checks` (every check before training),
:mod:`~classifiers.grid.plan` (cells, fingerprints, shards, ``plan.json``),
:mod:`~classifiers.grid.record` (the typed record of a cell and its files),
:mod:`~classifiers.grid.store` (finished and damaged cells, claims, costs),
:mod:`~classifiers.grid.claims` (exclusive claims on cells),
:mod:`~classifiers.grid.task` (one cell), :mod:`~classifiers.grid.shift` (its cameras),
:mod:`~classifiers.grid.costs` (cost profiles), :mod:`~classifiers.grid.runner`
(:func:`run`, :func:`write_report`, the log).
"""

from .config import CompareConfig, CompareError, parse_caches, parse_shard, parse_weights
from .plan import shard_cells
from .record import SCHEMA_VERSION, CellKey, CellRecord, Predictions, RecordError
from .runner import run, write_report

__all__ = [
    "SCHEMA_VERSION",
    "CellKey",
    "CellRecord",
    "CompareConfig",
    "CompareError",
    "Predictions",
    "RecordError",
    "parse_caches",
    "parse_shard",
    "parse_weights",
    "run",
    "shard_cells",
    "write_report",
]
