"""The shape of the code: no import cycle among the project's modules, and a light CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rawspace", "classifiers")


def _modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules that ``name`` imports anywhere in its file (lazy imports included)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                targets.add(submodule if submodule in modules else origin)
    return {t for t in targets if t in modules and t != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert "rawspace.cache" in graph["classifiers.data"]  # the graph sees across packages
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_core_never_imports_the_add_on() -> None:
    """No module of ``rawspace`` imports ``classifiers``, at the top or inside a function:
    the add-on registers its commands through the ``rawspace.commands`` entry points."""
    modules = _modules()
    arrows = [
        f"{name} -> {target}"
        for name, path in modules.items()
        if name.split(".")[0] == "rawspace"
        for target in _all_imports(path, name)
        if target.split(".")[0] == "classifiers"
    ]
    assert arrows == []


def test_the_arrow_finder_sees_lazy_and_relative_imports(tmp_path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    from classifiers.grid import run\n    import classifiers.report as r\n"
    )
    assert _all_imports(source, "rawspace.m") >= {"classifiers.grid", "classifiers.report"}
    source.write_text("import importlib\nimportlib.import_module('classifiers.grid')\n")
    assert "classifiers.grid" in _all_imports(source, "rawspace.cli.m")


def _all_imports(path: Path, name: str) -> set[str]:
    """Every module named in an import of ``path`` (module ``name``), project or not."""
    package = name.rpartition(".")[0] if path.name != "__init__.py" else name
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: max(len(package.split(".")) - node.level + 1, 0)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin.lstrip("."))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant):
                found.add(str(node.args[0].value))
    return found


@pytest.mark.parametrize("package", ["classifiers.grid", "classifiers.report"])
def test_no_submodule_is_shadowed_by_a_name_of_its_package(package: str) -> None:
    """``import PACKAGE.X as m`` gives the module X, not a same-named function."""
    pytest.importorskip("torch")
    import importlib

    loaded = importlib.import_module(package)
    folder = ROOT.joinpath(*package.split("."))
    for path in sorted(folder.glob("*.py")):
        if path.stem != "__init__":
            module = importlib.import_module(f"{package}.{path.stem}")
            assert getattr(loaded, path.stem) is module, f"{package}.{path.stem}"


def test_classifiers_read_caches_only_through_rawspace_cache() -> None:
    for path in (ROOT / "classifiers").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "h5py" not in imported, f"{path.name} reads HDF5 itself"


def test_the_core_does_not_import_torch() -> None:
    for path in (ROOT / "rawspace").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import torch" not in text and "from torch" not in text, path


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        *([name, "--help"] for name in ("convert", "build", "merge", "develop", "info", "compare")),
        ["demo", "--help"],
    ],
)
def test_help_imports_neither_h5py_cv2_nor_torch(argv: list[str]) -> None:
    code = (
        "import sys\n"
        "from rawspace.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('h5py', 'cv2', 'torch', 'skimage') if m in sys.modules]\n"
        "print('heavy:' + ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.splitlines()[-1] == "heavy:", result.stdout
