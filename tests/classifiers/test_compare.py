"""``rawspace compare`` end to end on a tiny cache, resuming, and every bad input."""

from __future__ import annotations

import importlib.util
import json
import urllib.error

import numpy as np
import pytest

torch = pytest.importorskip("torch")


import rawspace  # noqa: E402
import rawspace.cache  # noqa: E402
import rawspace.images  # noqa: E402
from classifiers import compare as grid  # noqa: E402
from classifiers.grid import task  # noqa: E402

FAST = ["--batch-size", "8", "--input-size", "32", "--device", "cpu", "-q", "--epochs", "1"]


def test_compare_writes_every_output_and_resumes(
    make_cache, tmp_path, monkeypatch, run_compare
) -> None:
    cache = make_cache("tiny.h5", layout="bayer")
    out = tmp_path / "out"
    argv = [str(cache), "--models", "resnet50", "--spaces", "rgb,raw_packed", "--folds", "2"]
    assert run_compare([*argv, *FAST, "--out", str(out)]) == 0

    keys = [f"tiny__resnet50__{s}__fold{f}__seed0" for s in ("rgb", "raw_packed") for f in (0, 1)]
    for key in keys:
        assert (out / "cells" / f"{key}.json").is_file() and (
            out / "cells" / f"{key}.npz"
        ).is_file()
    for name in ("results.json", "results.csv", "results.md", "log.txt"):
        assert (out / name).stat().st_size > 0
    results = json.loads((out / "results.json").read_text())
    assert [(r["space"], r["runs"]) for r in results["rows"]] == [("rgb", 2), ("raw_packed", 2)]
    for row in results["rows"]:
        for figure in row["figures"].values():
            assert (out / figure).read_bytes()[:4] == b"\x89PNG"
        assert row["metrics"]["accuracy"]["std"] >= 0
        assert row["input"]["shape"] == ([3, 32, 32] if row["space"] == "rgb" else [4, 32, 32])
    assert {c["space"]: c["conv2d"] for c in results["cost"]} == {"rgb": 53, "raw_packed": 53}
    assert results["environment"]["versions"]["torch"] == torch.__version__
    assert results["config"]["folds"] == 2
    cell = json.loads((out / "cells" / f"{keys[0]}.json").read_text())
    assert (cell["n_train"], cell["n_val"], cell["n_test"]) == (9, 9, 6)
    assert len(cell["train"]["history"]) == 1 and cell["train"]["history"][0]["model_s"] > 0
    markdown = (out / "results.md").read_text()
    for heading in (
        "## Splits",
        "## Classification",
        "## Paired comparisons of input spaces",
        "## Cost",
        "## Input tensors",
        "## Training speed",
    ):
        assert heading in markdown
    assert (
        "| tiny | raw_packed | resnet50 | 4×32×32 | cache raw (bayer, uint16), CFA RGGB |"
        in markdown
    )
    lines = (out / "results.csv").read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith(
        "cache,model,space,regime,runs,input,accuracy_mean"
    )

    def no_training(*args, **kwargs):
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(task, "fit", no_training)
    stamps = {k: (out / "cells" / f"{k}.json").stat().st_mtime_ns for k in keys}
    assert run_compare([*argv, *FAST, "--out", str(out)]) == 0
    assert stamps == {k: (out / "cells" / f"{k}.json").stat().st_mtime_ns for k in keys}
    assert "finished earlier, not retrained" in (out / "log.txt").read_text()
    assert json.loads((out / "results.json").read_text())["rows"] == results["rows"]


def test_named_caches_are_rows_of_one_comparison(
    make_cache, tmp_path, monkeypatch, run_compare, tiny_models
) -> None:
    a = make_cache("a.h5", layout="packed", seed=1)
    b = make_cache("b.h5", layout="bayer", seed=2)
    out = tmp_path / "out"
    argv = [
        "--cache",
        f"dataset={a}",
        "--cache",
        f"per_image={b}",
        "--spaces",
        "raw_packed,raw_bayer",
        "--folds",
        "0",
    ]
    assert run_compare([*argv, *FAST, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [(r["cache"], r["space"]) for r in results["rows"]] == [
        ("dataset", "raw_packed"),
        ("dataset", "raw_bayer"),
        ("per_image", "raw_packed"),
        ("per_image", "raw_bayer"),
    ]
    cell = json.loads(
        (out / "cells" / "dataset__resnet50__raw_bayer__fold0__seed0.json").read_text()
    )
    assert (cell["n_train"], cell["n_val"], cell["n_test"]) == (15, 3, 6)
    markdown = (out / "results.md").read_text()
    assert "| per_image | resnet50 | raw_packed | full | 1 |" in markdown
    assert grid.parse_caches(tmp_path) == (("a", a), ("b", b))


def test_every_space_runs_through_the_data_loader(
    make_cache, tmp_path, monkeypatch, run_compare, tiny_models
) -> None:
    monkeypatch.setattr(grid.data, "fits_in_memory", lambda nbytes, device: False)
    cache = make_cache("linear.h5", layout="linear")
    out = tmp_path / "out"
    argv = [str(cache), "--spaces", ",".join(grid.spaces.SPACES), "--workers", "0"]
    assert run_compare([*argv, *FAST, "--input-size", "0", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    shapes = {r["space"]: r["input"]["shape"] for r in results["rows"]}
    assert shapes == {
        "rgb": [3, 32, 32],
        "rgb_aug": [3, 32, 32],
        "raw_bayer": [1, 32, 32],
        "raw_packed": [4, 16, 16],
        "raw_linear": [3, 32, 32],
        "raw_bayer_aug": [1, 32, 32],
        "raw_packed_aug": [4, 16, 16],
        "raw_bayer_cam": [1, 32, 32],
        "raw_packed_cam": [4, 16, 16],
    }
    assert not any(r["timing"]["resident"] for r in results["rows"])
    assert "samples streamed (DataLoader)" in (out / "log.txt").read_text()


@pytest.mark.parametrize(
    ("options", "argv", "message"),
    [
        ({"rgb": False}, ["--spaces", "rgb_aug"], "needs the cache's rgb dataset"),
        ({}, ["--models", "resnet51"], "unknown model 'resnet51'; choose from resnet50"),
        ({}, ["--spaces", "rgb,hsv"], "unknown space 'hsv'; choose from rgb, rgb_aug"),
        ({"empty_test_class": True}, [], "class 'LYT' has no sample in the test split"),
        ({}, ["--folds", "3"], "--folds 3 but the cache has 2 folds"),
        ({}, ["--spaces", "raw_linear"], "'raw_linear' needs a cache with layout 'linear'"),
        ({}, ["--models", "vit_b_16", "--input-size", "40"], "vit_b_16 needs a square input"),
        ({}, ["--weights", "missing.pth"], "weights file not found: missing.pth"),
        ({}, ["--epochs", "0"], "epochs must be a positive integer; got 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    make_cache, tmp_path, capsys, options, argv, message, run_compare
) -> None:
    cache = make_cache(**options)
    assert run_compare([str(cache), *FAST, *argv, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("rawspace compare: error:")
    assert not (tmp_path / "out" / "cells").exists()


def test_missing_cache_and_bad_cache_names(tmp_path, capsys, run_compare) -> None:
    assert run_compare([str(tmp_path / "nope.h5"), *FAST, "--out", str(tmp_path / "out")]) == 2
    assert "cache not found" in capsys.readouterr().err
    assert run_compare(["--cache", "a b=x.h5", *FAST, "--out", str(tmp_path / "out")]) == 2
    assert "cache name must use letters" in capsys.readouterr().err
    assert run_compare(["--cache", "x.h5", *FAST, "--out", str(tmp_path / "out")]) == 2
    assert "--cache needs NAME=PATH; got 'x.h5'" in capsys.readouterr().err
    assert run_compare([*FAST, "--out", str(tmp_path / "out")]) == 2
    assert "no cache given" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu(make_cache, tmp_path, capsys, run_compare) -> None:
    argv = [str(make_cache()), *FAST, "--device", "cuda", "--out", str(tmp_path / "out")]
    assert run_compare(argv) == 2
    assert capsys.readouterr().err == (
        "rawspace compare: error: device 'cuda' requested but no CUDA GPU is available\n"
    )


def test_unavailable_imagenet_weights_exit_1(
    make_cache, tmp_path, capsys, monkeypatch, run_compare
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    argv = [str(make_cache()), *FAST, "--weights", "imagenet", "--out", str(tmp_path / "out")]
    assert run_compare(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "checkpoints/resnet50-11ad3fa6.pth" in err


def test_without_torch_the_command_explains_the_extra(
    tmp_path, capsys, monkeypatch, run_compare
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    assert run_compare(["cache.h5", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        "rawspace compare needs the classify extra: pip install 'rawspace[classify]'\n"
    )


def test_weights_specs() -> None:
    assert grid.parse_weights("none", ["resnet50", "vit_b_16"]) == (
        ("resnet50", None),
        ("vit_b_16", None),
    )
    assert grid.parse_weights("imagenet", ["resnet50"]) == (("resnet50", "imagenet"),)
    assert grid.parse_weights("vit_b_16=imagenet", ["resnet50", "vit_b_16"]) == (
        ("resnet50", None),
        ("vit_b_16", "imagenet"),
    )
    with pytest.raises(grid.CompareError, match="MODEL=SPEC with MODEL one of"):
        grid.parse_weights("kimianet=imagenet", ["resnet50"])


def test_rawspace_does_not_import_torch_at_import_time() -> None:
    import subprocess
    import sys

    code = "import sys, rawspace, rawspace.cli.compare; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_paired_statistics_equal_an_independent_computation(
    make_cache, tmp_path, monkeypatch, run_compare, tiny_models
) -> None:
    """Five runs (folds) of rgb and raw_packed, and raw_packed_aug with the augmentation
    switched off (so it trains exactly as raw_packed: identical predictions)."""
    scipy_stats = pytest.importorskip("scipy.stats")
    from classifiers import augment

    monkeypatch.setattr(augment, "raw", lambda x, **options: x)
    cache = make_cache("five.h5", per_class=12, folds=5, test_per_class=3)
    out = tmp_path / "out"
    argv = [str(cache), "--spaces", "rgb,raw_packed,raw_packed_aug", "--folds", "5"]
    assert run_compare([*argv, *FAST, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    found = {(c["baseline"], c["other"]): c for c in results["comparisons"]}
    assert set(found) == {
        ("rgb", "raw_packed"),
        ("raw_packed", "raw_packed_aug"),
        ("rgb", "raw_packed_aug"),
    }

    def load(space):
        parts = [np.load(out / "cells" / f"five__resnet50__{space}__fold{f}__seed0.npz")
                 for f in range(5)]  # fmt: skip
        labels = parts[0]["labels"]
        correct = np.stack([p["probabilities"].argmax(1) == labels for p in parts])
        return labels, correct

    labels, rgb = load("rgb")
    _, raw = load("raw_packed")
    c = found["rgb", "raw_packed"]
    b_runs, c_runs = (rgb & ~raw).sum(1), (~rgb & raw).sum(1)
    b, c_ = int(b_runs.sum()), int(c_runs.sum())
    assert (c["pooled_b"], c["pooled_c"]) == (b, c_)
    for run, (b_run, c_run) in enumerate(zip(b_runs, c_runs, strict=True)):
        expected = 1.0 if b_run + c_run == 0 else scipy_stats.binomtest(
            int(min(b_run, c_run)), int(b_run + c_run), 0.5).pvalue  # fmt: skip
        assert c["mcnemar_p"][run] == pytest.approx(min(expected, 1.0))
    accuracy = rgb.mean(1), raw.mean(1)
    assert c["mean_delta_accuracy"] == pytest.approx(np.mean(accuracy[1] - accuracy[0]))
    deltas = accuracy[1] - accuracy[0]
    if deltas.std() > 0:  # Nadeau–Bengio: the t-test with the corrected variance
        n_test = len(labels)
        cell = json.loads((out / "cells" / "five__resnet50__rgb__fold0__seed0.json").read_text())
        n_train = cell["n_train"]
        scale = np.sqrt((1 / 5 + n_test / n_train) * deltas.var(ddof=1))
        expected_p = 2 * scipy_stats.t.sf(abs(deltas.mean() / scale), df=4)
        assert c["ttest_p"] == pytest.approx(expected_p)

    same = found["raw_packed", "raw_packed_aug"]
    assert same["mean_delta_accuracy"] == 0 and same["accuracy_ci"] == [0.0, 0.0]
    assert same["pooled_b"] == same["pooled_c"] == 0 and same["wilcoxon_p"] == 1.0
    assert same["verdict_accuracy"] in ("none", "near_chance")  # a 1-epoch model
    markdown = (out / "results.md").read_text()
    assert f"- five · resnet50: {same['sentence_accuracy']}" in markdown
    assert same["sentence_accuracy"].startswith("raw_packed_aug − raw_packed: ")
    assert "best raw" not in markdown  # nothing is selected on test data


def test_a_rebuilt_cache_retrains_every_cell(
    make_cache, tmp_path, monkeypatch, run_compare, tiny_models
) -> None:
    """Same path, same size, another seed: the content fingerprint differs, so nothing of
    the old comparison is reused."""
    cache = make_cache("same.h5", seed=0)
    out = tmp_path / "out"
    argv = [str(cache), "--spaces", "rgb,raw_packed", "--seeds", "2", *FAST, "--out", str(out)]
    assert run_compare(argv) == 0
    keys = sorted(p.name for p in (out / "cells").glob("same__*.json"))
    assert keys == [
        f"same__resnet50__{s}__fold0__seed{k}.json" for s in ("raw_packed", "rgb") for k in (0, 1)
    ]
    size = cache.stat().st_size
    cache.unlink()
    make_cache("same.h5", seed=5)  # rebuilt at the same path with another seed
    assert cache.stat().st_size == size
    (out / "log.txt").unlink()
    assert run_compare(argv) == 0
    log = (out / "log.txt").read_text()
    assert log.count("retrained: the stored result was made with other cache contents") == 4
    assert "not retrained" not in log
    results = json.loads((out / "results.json").read_text())
    assert [r["runs"] for r in results["rows"]] == [2, 2]


def test_camera_augmentation_and_the_camera_shift_table(
    make_cache, tmp_path, monkeypatch, run_compare, tiny_models
) -> None:
    """raw_packed_cam trains on the cache's rgb unprocessed with a random camera per sample;
    every raw model is also tested with two unseen cameras and a camera JSON file."""
    camera_file = tmp_path / "camera.json"
    camera_file.write_text(rawspace.CameraParams.sample(77, cfa="BGGR").to_json())
    cache = make_cache("cam.h5")
    out = tmp_path / "out"
    argv = [str(cache), "--spaces", "rgb,raw_packed,raw_packed_cam", "--test-cameras", "2"]
    argv += ["--test-camera", str(camera_file)]
    assert run_compare([*argv, *FAST, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    shift = results["camera_shift"]
    from rawspace.catalogue import find_camera

    *unseen_names, file_name = shift["cameras"]
    assert len(unseen_names) == 2 and file_name == "camera.json"
    # unseen cameras are real cameras of the catalogue's held-out part, never of the pool's
    assert all(find_camera(name).part == "held-out" for name in unseen_names)
    rows = {e["space"]: e for e in shift["rows"]}
    assert rows["rgb"]["unseen"] is None
    for space in ("raw_packed", "raw_packed_cam"):
        unseen = rows[space]["unseen"]
        assert len(unseen["per_camera"]) == 3 and unseen["worst"] == min(unseen["per_camera"])
        stored = np.load(out / "cells" / f"cam__resnet50__{space}__fold0__seed0.npz")
        assert stored["camera_probabilities"].shape == (3, 6, 3)
    pairs = {(c["baseline"], c["other"]) for c in shift["comparisons"]}
    assert ("rgb", "raw_packed") in pairs and ("raw_packed", "raw_packed_cam") in pairs
    markdown = (out / "results.md").read_text()
    assert "## Camera shift: unseen cameras at test time" in markdown
    assert "| cam | resnet50 | rgb |" in markdown and "(input unchanged)" in markdown


def test_a_cache_rebuilt_from_other_pixels_retrains_every_cell(
    make_cache, tmp_path, run_compare, tiny_models
) -> None:
    """The same file names, labels, splits and cameras, other pixels: the cache's content
    fingerprint differs, and the log says that the cache's contents changed."""
    from classifiers.grid.config import CompareConfig

    cache = make_cache("pixels.h5")
    out = tmp_path / "out"
    argv = [str(cache), "--spaces", "rgb,raw_packed", *FAST, "--out", str(out)]
    assert run_compare(argv) == 0
    config = rawspace.cache.open(cache).config
    images = cache.with_name("pixels-images")
    for path in sorted(images.rglob("*.png")):  # every image replaced, names kept
        pixels = rawspace.images.read_image(path)
        rawspace.images.write_png(path, 255 - pixels)
    rawspace.cache.build(
        images, cache, layout="bayer", camera=rawspace.cache.open(cache).params(0),
        seed=0, size=32, test_fraction=config["test_fraction"], folds=config["folds"],
        overwrite=True,
    )  # fmt: skip
    (out / "log.txt").unlink()
    assert run_compare(argv) == 0
    log = (out / "log.txt").read_text()
    assert log.count("retrained: the stored result was made with other cache contents") == 2
    assert "not retrained" not in log
    assert CompareConfig.from_dict(json.loads((out / "plan.json").read_text())["config"])


def test_primary_margin_and_threads(make_cache, tmp_path, capsys, run_compare) -> None:
    """--primary chooses the primary comparison (checked before training), --margin adds a
    non-inferiority clause, both also with --report, and --threads reaches the cells."""
    cache = make_cache("pm.h5")
    out = tmp_path / "out"
    spaces = ["--spaces", "rgb,raw_packed,raw_bayer"]
    bad = run_compare(
        [str(cache), *spaces, "--primary", "rgb-raw_linear", *FAST, "--out", str(out)]
    )
    assert bad == 2 and "--primary" in capsys.readouterr().err
    assert not (out / "cells").exists()
    argv = [str(cache), *spaces, "--primary", "rgb-raw_bayer", "--threads", "1", *FAST]
    assert run_compare([*argv, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    primary = [(c["baseline"], c["other"]) for c in results["comparisons"] if c["primary"]]
    assert primary == [("rgb", "raw_bayer")]
    cell = json.loads(next((out / "cells").glob("*__rgb__fold*.json")).read_text())
    assert cell["train"]["threads"] == 1
    assert run_compare(["--report", str(out), "--margin", "50"]) == 0
    assert "non-inferior" in (out / "results.md").read_text()
