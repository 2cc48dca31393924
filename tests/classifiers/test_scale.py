"""Scaling out ``rawspace compare``: shards of the grid, claims on cells, and torchrun."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")


from classifiers import compare as grid  # noqa: E402
from classifiers.grid import claims  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--batch-size", "8", "--input-size", "32", "--device", "cpu", "-q", "--epochs", "1"]


def _cli(argv: list[str], **options) -> subprocess.Popen:
    """``rawspace compare`` in a process of its own, with as many torch threads as this one
    (the order of floating-point sums, hence the last digits, depends on it)."""
    environment = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    return subprocess.Popen(
        [sys.executable, "-m", "rawspace", "compare", *argv],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def _probabilities(out: Path) -> dict[str, np.ndarray]:
    return {
        path.stem: np.load(path)["probabilities"] for path in sorted((out / "cells").glob("*.npz"))
    }


def test_shard_assignment_is_deterministic_and_balanced() -> None:
    costs = [5.0, 1.0, 1.0, 3.0, 2.0, 2.0]
    assignment = grid.shard_cells(costs, 2)
    assert assignment == grid.shard_cells(costs, 2)
    loads = [sum(c for c, k in zip(costs, assignment, strict=True) if k == s) for s in (1, 2)]
    assert loads == [7.0, 7.0]
    assert grid.shard_cells([1.0] * 4, 2) == [1, 2, 1, 2]
    assert set(grid.shard_cells([1.0] * 3, 5)) == {1, 2, 3}


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("2/4", {}, (2, 4)),
        ("auto", {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "5",
                  "SLURM_ARRAY_TASK_COUNT": "4"}, (3, 4)),
    ],
)  # fmt: skip
def test_parse_shard(text, environ, expected) -> None:
    assert grid.parse_shard(text, environ) == expected


@pytest.mark.parametrize(
    ("shard", "message"),
    [
        ("0/2", "needs 1 ≤ K ≤ N; got 0/2"),
        ("3/2", "needs 1 ≤ K ≤ N; got 3/2"),
        ("auto", "--shard auto needs a SLURM array job; SLURM_ARRAY_TASK_ID"),
        ("half", "--shard must be K/N (e.g. 2/8) or auto; got 'half'"),
    ],
)
def test_bad_shards_are_one_line_and_exit_2(
    make_cache, tmp_path, capsys, monkeypatch, shard, message, run_compare
):
    for name in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT"):
        monkeypatch.delenv(name, raising=False)
    argv = [str(make_cache()), *FAST, "--shard", shard, "--out", str(tmp_path / "out")]
    assert run_compare(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_two_shards_at_once_train_every_cell_once_and_report_like_one_run(
    make_cache, tmp_path, run_compare
):
    cache = make_cache("grid.h5")
    argv = [str(cache), "--models", "mobilenet_v3_small", "--spaces", "rgb,raw_packed"]
    argv += ["--folds", "2", *FAST]
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    assert run_compare([*argv, "--out", str(single)]) == 0
    shards = [_cli([*argv, "--shard", f"{k}/2", "--out", str(sharded)]) for k in (1, 2)]
    for process in shards:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
    assert not (sharded / "results.json").exists()  # shards leave the report to --report
    assert run_compare(["--report", str(sharded), "-q"]) == 0

    log = (sharded / "log.txt").read_text()
    keys = [f"grid__mobilenet_v3_small__{s}__fold{f}__seed0" for s in ("rgb", "raw_packed")
            for f in (0, 1)]  # fmt: skip
    for key in keys:
        assert log.count(f"{key}: training on") == 1
    assert not list((sharded / "cells").glob("*.claim"))
    one, many = (json.loads((d / "results.json").read_text()) for d in (single, sharded))
    assert [(r["space"], r["runs"]) for r in many["rows"]] == [("rgb", 2), ("raw_packed", 2)]
    assert many["missing"] == [] and many["refused"] == []
    for a, b in zip(one["rows"], many["rows"], strict=True):
        for metric, summary in a["metrics"].items():
            assert b["metrics"][metric] == pytest.approx(summary, abs=1e-6, nan_ok=True)
    expected, found = _probabilities(single), _probabilities(sharded)
    assert expected.keys() == found.keys()
    for key in expected:
        np.testing.assert_allclose(found[key], expected[key], atol=1e-5)


def test_claims_of_dead_and_live_processes(
    make_cache, tmp_path, monkeypatch, run_compare, tiny_models
) -> None:
    """A claim left by a killed process is taken over by a rerun; a live one is respected,
    unless --reclaim says its holder is gone."""
    cache = make_cache("claims.h5")
    out = tmp_path / "out"
    (out / "cells").mkdir(parents=True)
    key = "claims__resnet50__rgb__fold0__seed0"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    record = {"host": socket.gethostname(), "pid": int(dead.stdout), "started": "earlier"}
    (out / "cells" / f"{key}.claim").write_text(json.dumps(record))
    argv = [str(cache), "--spaces", "rgb", *FAST, "--out", str(out)]
    assert run_compare(argv) == 0
    assert f"{key}: training on" in (out / "log.txt").read_text()
    assert not (out / "cells" / f"{key}.claim").exists()

    other = tmp_path / "other"
    (other / "cells").mkdir(parents=True)
    live = {"host": socket.gethostname(), "pid": os.getpid(), "started": "now"}
    (other / "cells" / f"{key}.claim").write_text(json.dumps(live))
    argv = [str(cache), "--spaces", "rgb", *FAST, "--out", str(other)]
    assert run_compare([*argv, "--shard", "1/1"]) == 0
    assert (
        f"{key}: claimed by {socket.gethostname()}:{os.getpid()}" in (other / "log.txt").read_text()
    )
    assert not (other / "cells" / f"{key}.json").exists()
    assert run_compare([*argv, "--reclaim"]) == 0
    assert (other / "cells" / f"{key}.json").exists()


def test_a_killed_shard_is_finished_by_a_rerun(make_cache, tmp_path, run_compare) -> None:
    cache = make_cache("killed.h5")
    out = tmp_path / "out"
    argv = [str(cache), "--models", "mobilenet_v3_small", "--spaces", "rgb", "--folds", "2"]
    argv += [*FAST[:-2], "--epochs", "30", "--patience", "0", "--out", str(out)]
    process = _cli(argv)
    claimed = out / "cells" / "killed__mobilenet_v3_small__rgb__fold0__seed0.claim"
    deadline = time.monotonic() + 120
    while not claimed.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()
    process.communicate()
    assert claimed.exists()  # left behind by the killed process
    rerun = [*argv[: argv.index("--epochs")], "--epochs", "1", "--out", str(out)]
    assert run_compare(rerun) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["rows"][0]["runs"] == 2 and not claimed.exists()


def claim_twice(path: Path) -> tuple[bool, bool]:
    first = claims.claim(path, timeout_s=3600)
    second = claims.claim(path, timeout_s=3600)
    return first is not None, second is not None


def test_a_claim_is_exclusive(tmp_path) -> None:
    assert claim_twice(tmp_path / "cell.claim") == (True, False)
    held = claims.claim(tmp_path / "other.claim", timeout_s=3600)
    held.release()
    assert claims.claim(tmp_path / "other.claim", timeout_s=3600) is not None
    assert claims.claim(tmp_path / "cell.claim", timeout_s=0.0) is not None  # stale: taken


@pytest.mark.slow
def test_torchrun_with_two_processes_equals_one(make_cache, tmp_path, run_compare) -> None:
    """One cell over two gloo processes: each takes half of every global batch of 8;
    DistributedDataParallel averages the two halves' gradients, which is the gradient of
    the whole batch up to the order of floating-point sums. ViT-B/32 has no BatchNorm, so
    nothing else depends on the split. Tolerance: 1e-4 on the test probabilities."""
    cache = make_cache("ddp.h5")
    argv = [str(cache), "--models", "vit_b_32", "--spaces", "rgb", "--folds", "0", *FAST]
    single, parallel = tmp_path / "single", tmp_path / "parallel"
    assert run_compare([*argv, "--out", str(single)]) == 0
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    command = [*launcher, "-m", "rawspace", "compare", *argv, "--out", str(parallel)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    one, two = (json.loads((d / "results.json").read_text()) for d in (single, parallel))
    assert two["rows"][0]["timing"]["processes"] == 2
    assert one["rows"][0]["metrics"]["accuracy"] == two["rows"][0]["metrics"]["accuracy"]
    expected, found = _probabilities(single), _probabilities(parallel)
    for key in expected:
        np.testing.assert_allclose(found[key], expected[key], atol=1e-4)
