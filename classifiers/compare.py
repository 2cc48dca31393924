"""``classifiers.compare``: the comparison's public names in one import, and the modules
a comparison's cells are built from (:mod:`classifiers.models`, :mod:`classifiers.data`,
:mod:`classifiers.spaces`). The grid itself lives in :mod:`classifiers.grid`, its report
in :mod:`classifiers.report`.
"""

from . import data, models, spaces
from .grid import (
    CompareConfig,
    CompareError,
    parse_caches,
    parse_shard,
    parse_weights,
    run,
    shard_cells,
    write_report,
)

__all__ = [
    "CompareConfig",
    "CompareError",
    "data",
    "models",
    "parse_caches",
    "parse_shard",
    "parse_weights",
    "run",
    "shard_cells",
    "spaces",
    "write_report",
]
