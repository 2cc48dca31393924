"""Collection rules for ``pytest --doctest-modules`` over the packages.

- ``rawspace/__main__.py`` runs the command line when imported: never collected.
- The test folders' ``conftest.py`` files share a module name; they are loaded as
  plugins, never collected again as doctest modules.
- Without torch the add-on's modules cannot be imported: ``classifiers`` is not
  collected then (its tests under ``tests/classifiers`` skip themselves).

Before anything imports torch, the thread pools are sized so that the suite does
not oversubscribe the CPUs it is given: at most 2 threads per pool (shared among
pytest-xdist workers) and a passive OpenMP wait policy, unless the environment
already sets them (:func:`rawspace.cpus.configure_threads`).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
from _pytest.doctest import DoctestItem

from rawspace.cpus import configure_threads, cpu_budget

# At most 2 threads per pool, shared among pytest-xdist workers; variables set by the
# user are kept.
_budget = cpu_budget()
_workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
configure_threads(budget=replace(_budget, cpus=max(1, min(2, _budget.cpus // _workers))))

collect_ignore = ["rawspace/__main__.py", "tests/conftest.py", "tests/classifiers/conftest.py"]
collect_ignore_glob: list[str] = []
if importlib.util.find_spec("torch") is None:
    collect_ignore_glob.append("classifiers/*")


@pytest.fixture(autouse=True)
def _numpy_print_defaults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Docstring examples print arrays with NumPy's default options, whatever an imported
    library (colour sets ``legacy="1.13"``) changed."""
    if not isinstance(request.node, DoctestItem):
        yield
        return
    with np.printoptions(legacy=False):
        yield
