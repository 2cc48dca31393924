"""``rawspace demo`` runs end to end with no input, writes its report step by step, and
prints the accuracies README states."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

import rawspace.demo
from rawspace.cli import main
from rawspace.cpus import THREAD_VARIABLES
from rawspace.demo import SOURCES, accuracy_line, run_demo

README = Path(__file__).resolve().parents[1] / "README.md"


def test_demo_without_training(tmp_path):
    assert main(["demo", "--out", str(tmp_path), "--no-train"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "Not run (`--no-train`)." in report
    assert "Not finished" not in report
    assert "| immunohistochemistry | yes |" in report
    assert (tmp_path / "strip.png").stat().st_size > 10_000
    with h5py.File(tmp_path / "demo.h5") as f:
        assert list(f.attrs["class_names"]) == sorted(SOURCES)
        assert f["raw"].shape == (400, 64, 64)


def test_report_written_after_each_step(tmp_path):
    seen: dict[str, str] = {}

    def log(line: str) -> None:  # what report.md holds when each step starts
        if line[:3] in ("1/3", "2/3"):
            seen[line[:3]] = (tmp_path / "report.md").read_text()

    (tmp_path / "report.md").write_text("a report of an earlier run\n")
    run_demo(tmp_path, train=False, log=log)
    assert "earlier run" not in seen["1/3"]
    assert "Not finished when this was written: round trips, cache, training." in seen["1/3"]
    assert "Not finished when this was written: cache, training." in seen["2/3"]
    assert "| retina | yes |" in seen["2/3"] and "## An HDF5 cache" not in seen["2/3"]


def test_stopped_demo_keeps_finished_steps(tmp_path, monkeypatch):
    def stopped(cache: Path, out: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(rawspace.demo, "_compare", stopped)
    with pytest.raises(KeyboardInterrupt):
        run_demo(tmp_path, log=lambda line: None)
    report = (tmp_path / "report.md").read_text()
    assert "**Not finished when this was written: training.**" in report
    assert "| coffee | yes |" in report and "## An HDF5 cache" in report
    assert "## A tiny RGB vs raw comparison" not in report
    assert re.search(r"- round trips: \d+\.\d s\n- cache: \d+\.\d s\n- total", report)


def _readme_demo_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Demo\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs the classify extra")
def test_demo_prints_the_accuracies_readme_states(tmp_path):
    # A fresh process as a user starts it: the demo chooses its own thread settings.
    env = {k: v for k, v in os.environ.items() if k not in (*THREAD_VARIABLES, "OMP_WAIT_POLICY")}
    done = subprocess.run(
        [sys.executable, "-m", "rawspace", "demo", "--out", str(tmp_path)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    printed = [line for line in done.stderr.splitlines() if line.startswith("test accuracy: ")]
    assert len(printed) == 1, done.stderr
    results = json.loads((tmp_path / "compare" / "results.json").read_text())
    accuracy = {row["space"]: 100.0 * row["metrics"]["accuracy"]["mean"] for row in results["rows"]}
    assert set(accuracy) == {"rgb", "raw_packed"}
    assert printed[0] == accuracy_line(accuracy)
    report = (tmp_path / "report.md").read_text()
    assert "Paired comparison: raw_packed − rgb:" in report and "Not finished" not in report
    assert all(f"| {space} | {value:.1f} |" in report for space, value in accuracy.items())
    assert printed[0] in _readme_demo_section(), (
        f"README's Demo section should quote what the demo printed: {printed[0]!r}"
    )


def test_demo_without_the_add_on_says_training_needs_the_extra(tmp_path, monkeypatch, capsys):
    import rawspace.cli

    monkeypatch.setattr(rawspace.cli, "add_ons", dict)  # no rawspace.commands entry point
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert "Not run" in (tmp_path / "report.md").read_text()
    assert "rawspace[classify]" in (tmp_path / "report.md").read_text() + capsys.readouterr().err
    assert main(["compare", "cache.h5", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "rawspace compare needs the classify extra: pip install 'rawspace[classify]'\n"
    )
