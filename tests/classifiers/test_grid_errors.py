"""``rawspace compare`` speaks like ``build``: every expected failure is one line naming the
file or argument, with exit status 2 (usage) or 3 (cannot write), checked before any
training; damaged cells count as unfinished, are listed and retrained, never a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rawspace.cache  # noqa: E402
from rawspace.images import write_png  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--batch-size", "8", "--input-size", "32", "--device", "cpu", "-q", "--epochs", "1"]


def _one_line(capsys, status_text: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rawspace compare: error:"), err
    assert status_text in err, err
    return err


def test_an_absurd_number_of_test_cameras_is_refused_at_once(
    make_cache, tmp_path, capsys, run_compare
) -> None:
    argv = [str(make_cache()), *FAST, "--test-cameras", "10000000", "--out", str(tmp_path / "o")]
    assert run_compare(argv) == 2
    _one_line(capsys, "--test-cameras must be at most 1000")
    assert not (tmp_path / "o").exists()


def test_a_one_class_cache_is_refused_before_training(tmp_path, capsys, run_compare) -> None:
    images = tmp_path / "images" / "only"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(8):
        write_png(images / f"{k}.png", rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    cache = tmp_path / "one.h5"
    try:
        rawspace.cache.build(images.parent, cache, size=32, test_fraction=0.25, folds=0)
    except ValueError:
        pytest.skip("the cache builder refuses a one-class source itself")
    argv = [str(cache), *FAST, "--out", str(tmp_path / "out")]
    assert run_compare(argv) == 2
    _one_line(capsys, "needs at least 2 classes; the cache has 1 (only)")
    assert not (tmp_path / "out" / "cells").exists()


def test_a_run_without_validation_rows_is_refused_before_training(
    make_cache, tmp_path, capsys, run_compare
) -> None:
    cache = make_cache("small.h5", per_class=2, test_per_class=1, folds=0)
    argv = [str(cache), *FAST, "--folds", "0", "--out", str(tmp_path / "out")]
    assert run_compare(argv) == 2
    _one_line(capsys, "validation samples; a run needs both")
    assert not (tmp_path / "out" / "cells").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a pickle at all", "is not a state dict of that model's weights: UnpicklingError"),
     (None, "does not hold a state dict of tensors")],
)  # fmt: skip
def test_a_weights_file_that_is_not_a_state_dict(
    make_cache, tmp_path, capsys, run_compare, content, message
) -> None:
    weights = tmp_path / "weights.pth"
    if content is None:
        torch.save([1, 2, 3], weights)
    else:
        weights.write_bytes(content)
    argv = [str(make_cache()), *FAST, "--weights", str(weights), "--out", str(tmp_path / "out")]
    assert run_compare(argv) == 2
    err = _one_line(capsys, message)
    assert str(weights) in err
    assert not (tmp_path / "out" / "cells").exists()


@pytest.mark.parametrize("content", ["{}", "[]", '{"config": {}, "cells": {}}', "{"])
def test_report_on_a_damaged_plan(tmp_path, capsys, run_compare, content) -> None:
    (tmp_path / "plan.json").write_text(content)
    assert run_compare(["--report", str(tmp_path), "-q"]) == 2
    _one_line(capsys, f"{tmp_path / 'plan.json'} cannot be read")


def test_an_output_that_cannot_be_written_exits_3(make_cache, tmp_path, capsys, run_compare):
    cache = make_cache()
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    assert run_compare([str(cache), *FAST, "--out", str(blocker / "out")]) == 3
    err = capsys.readouterr().err
    assert err == f"rawspace compare: error: cannot write {blocker / 'out'}: Not a directory\n"
    out = tmp_path / "out"
    out.mkdir()
    (out / "cells").write_text("a file where the cells folder goes")
    assert run_compare([str(cache), *FAST, "--out", str(out)]) == 3
    assert capsys.readouterr().err.startswith(f"rawspace compare: error: cannot write {out}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_exits_3(make_cache, tmp_path, capsys, run_compare) -> None:
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert run_compare([str(make_cache()), *FAST, "--out", str(out)]) == 3
    finally:
        out.chmod(0o755)
    assert "cannot write" in capsys.readouterr().err


def test_a_file_size_limit_exits_3_with_one_line(make_cache, tmp_path) -> None:
    cache = make_cache()
    out = tmp_path / "out"
    command = [sys.executable, "-m", "rawspace", "compare", str(cache), *FAST, "--out", str(out)]
    script = "ulimit -f 1 && exec " + " ".join(f"'{c}'" for c in command)
    done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 3, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and "cannot write" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_out_folder_whose_name_is_not_utf8(
    make_cache, tmp_path, run_compare, tiny_models
) -> None:
    out = tmp_path / os.fsdecode(b"out-\xff")
    assert run_compare([str(make_cache()), *FAST, "--spaces", "rgb", "--out", str(out)]) == 0
    assert run_compare(["--report", str(out), "-q"]) == 0
    assert b"out-\xff" in (out / "log.txt").read_bytes()
    assert (out / "results.md").is_file()


def _damage(cells: Path) -> dict[str, str]:
    """Damage three cells in three ways; return key → how."""
    keys = sorted(p.stem for p in cells.glob("dmg__*.json"))
    npz = cells / f"{keys[0]}.npz"
    npz.write_bytes(npz.read_bytes()[:40])  # truncated: BadZipFile
    (cells / f"{keys[1]}.json").write_text("[]")
    with np.load(cells / f"{keys[2]}.npz") as stored:
        arrays = dict(stored)
    np.savez(cells / f"{keys[2]}.npz", labels=arrays["labels"][:-1],
             probabilities=arrays["probabilities"])  # fmt: skip
    cost = next(cells.glob("cost__*.json"))
    cost.write_text(cost.read_text()[:10])
    return {keys[0]: "truncated npz", keys[1]: "json []", keys[2]: "short labels"}


def test_damaged_cells_are_listed_by_the_report_and_retrained(
    make_cache, tmp_path, run_compare, tiny_models
) -> None:
    out = tmp_path / "out"
    argv = [str(make_cache("dmg.h5")), *FAST, "--spaces", "rgb,raw_packed", "--seeds", "2"]
    argv += ["--out", str(out)]
    assert run_compare(argv) == 0
    damaged = _damage(out / "cells")
    assert run_compare(["--report", str(out), "-q"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert sorted(results["missing"]) == sorted(damaged)
    assert isinstance(results["schema_version"], int)
    log = (out / "log.txt").read_text()
    for key in damaged:
        assert f"{key}: counted as not finished: the stored result is damaged" in log
    assert run_compare(argv) == 0
    log = (out / "log.txt").read_text()
    for key in damaged:
        assert f"{key}: retrained: the stored result is damaged" in log
    results = json.loads((out / "results.json").read_text())
    assert results["missing"] == [] and [r["runs"] for r in results["rows"]] == [2, 2]
    assert "profiled again" in log


def test_a_closed_output_pipe_ends_quietly(make_cache) -> None:
    """``rawspace info FILE | head -0``: the reader is gone before the first line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rawspace", "info", str(make_cache())],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
