"""``rawspace demo`` runs end to end with no input and writes its report."""

from __future__ import annotations

import importlib.util
import json

import h5py
import pytest

from rawspace.cli import main
from rawspace.demo import SOURCES


def test_demo_without_training(tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--no-train"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "Not run" in report
    assert "| immunohistochemistry | yes |" in report
    assert (tmp_path / "strip.png").stat().st_size > 10_000
    with h5py.File(tmp_path / "demo.h5") as f:
        assert list(f.attrs["class_names"]) == sorted(SOURCES)
        assert f["raw"].shape == (400, 64, 64)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs the classify extra")
def test_demo_with_training(tmp_path):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "Paired comparison: raw_packed − rgb:" in report and "McNemar p" in report
    results = json.loads((tmp_path / "compare" / "results.json").read_text())
    accuracy = {row["space"]: row["metrics"]["accuracy"]["mean"] for row in results["rows"]}
    assert accuracy["rgb"] >= 0.9 and accuracy["raw_packed"] >= 0.9  # learns its easy task


def test_demo_without_the_add_on_says_training_needs_the_extra(tmp_path, monkeypatch, capsys):
    import rawspace.cli

    monkeypatch.setattr(rawspace.cli, "add_ons", dict)  # no rawspace.commands entry point
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert "rawspace[classify]" in capsys.readouterr().err
    assert "Not run" in (tmp_path / "report.md").read_text()
    assert main(["compare", "cache.h5", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "rawspace compare needs the classify extra: pip install 'rawspace[classify]'\n"
    )
