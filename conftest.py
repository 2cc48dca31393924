"""Collection rules for ``pytest --doctest-modules`` over the packages.

- ``rawspace/__main__.py`` runs the command line when imported: never collected.
- The test folders' ``conftest.py`` files share a module name; they are loaded as
  plugins, never collected again as doctest modules.
- Without torch the add-on's modules cannot be imported: ``classifiers`` is not
  collected then (its tests under ``tests/classifiers`` skip themselves).
"""

from __future__ import annotations

import importlib.util

collect_ignore = ["rawspace/__main__.py", "tests/conftest.py", "tests/classifiers/conftest.py"]
collect_ignore_glob: list[str] = []
if importlib.util.find_spec("torch") is None:
    collect_ignore_glob.append("classifiers/*")
