"""Collection rules for ``pytest --doctest-modules`` over the packages.

- ``rawspace/__main__.py`` runs the command line when imported: never collected.
- The test folders' ``conftest.py`` files share a module name; they are loaded as
  plugins, never collected again as doctest modules.
- Without torch the add-on's modules cannot be imported: ``classifiers`` is not
  collected then (its tests under ``tests/classifiers`` skip themselves).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import numpy as np
import pytest
from _pytest.doctest import DoctestItem

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
