"""End-to-end tests of ``rawspace build`` and ``rawspace merge`` (exit codes, messages, files)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import tifffile

import rawspace.cache
from rawspace import CameraParams
from rawspace.cache import workers
from rawspace.cli import build as build_cli
from rawspace.cli import main
from rawspace.cli import merge as merge_cli
from rawspace.images import read_image

SIZE = "32"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rawspace")
    subparsers = parser.add_subparsers(dest="command", required=True)
    build_cli.register(subparsers)
    merge_cli.register(subparsers)
    return parser


def run(argv: list[str]) -> int:
    args = _parser().parse_args([str(a) for a in argv])
    return args.func(args)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))[1].tobytes())


@pytest.fixture(scope="module")
def tree(tmp_path_factory, sample_images) -> Path:
    """Two classes of four images each, plus one text file posing as a PNG."""
    root = tmp_path_factory.mktemp("cli") / "src"
    image = sample_images["astronaut"]
    for c, name in enumerate(("cat", "dog")):
        for i in range(4):
            _write_png(
                root / name / f"{name}{i}.png", image[40 * i : 40 * i + 36, 50 * c :][:, :40]
            )
    (root / "dog" / "broken.png").write_text("not a png")
    return root


def test_build_exits_1_and_lists_failures(tree: Path, tmp_path: Path, capsys):
    cache = tmp_path / "out.h5"
    assert run(["build", tree, cache, "--size", SIZE, "-q"]) == 1
    err = capsys.readouterr().err
    assert "1 image(s) failed" in err and "dog/broken.png (dog): not an image" in err
    assert "broken.png" in (tmp_path / "out.h5.failures.csv").read_text()
    with h5py.File(cache, "r") as f:
        assert f["raw"].shape == (8, 32, 32)
        assert f["label"][:].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_build_options_reach_the_cache(tree: Path, tmp_path: Path, capsys):
    cache = tmp_path / "c.h5"
    code = run([
        "build", tree, cache, "--size", SIZE, "--layout", "packed", "--camera-per", "image",
        "--noise", "brooks", "--noise-per", "dataset", "--seed", "9", "--fit", "resize",
        "--test-fraction", "0.25", "--folds", "2", "--compression", "none", "--no-rgb",
    ])  # fmt: skip
    assert code == 1
    assert "built 8, failed 1" in capsys.readouterr().err  # the summary line
    with h5py.File(cache, "r") as f:
        assert "rgb" not in f and f["raw"].shape == (8, 16, 16, 4) and f["raw"].compression is None
        assert f.attrs["camera_policy"] == "image" and f.attrs["n_cameras"] == 8
        assert f.attrs["noise"] == "brooks" and f.attrs["noise_per"] == "dataset"
        assert f.attrs["seed"] == 9 and f["split"][:].sum() == 2
        assert set(f["fold"][:].tolist()) == {-1, 0, 1}


def test_existing_cache_needs_overwrite(tree: Path, tmp_path: Path, capsys):
    cache = tmp_path / "c.h5"
    cache.write_bytes(b"old")
    assert run(["build", tree, cache, "--size", SIZE, "-q"]) == 2
    assert "exists; use overwrite" in capsys.readouterr().err
    assert cache.read_bytes() == b"old"
    assert run(["build", tree, cache, "--size", SIZE, "-q", "--overwrite"]) == 1
    assert len(rawspace.cache.open(cache)) == 8


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--camera-per", "group"], "camera_per='group' needs groups"),
        (["--labels", "reannotation"], "apply to Matek-19 sources"),
        (["--shard", "3/2"], "--shard K/N needs 1 ≤ K ≤ N; got 3/2"),
        (["--shard", "half"], "--shard must be K/N (e.g. 2/8) or auto; got 'half'"),
        (["--folds", "1"], "folds must be 0"),
        (["--size", "31"], "size must be even"),
        (["--test-fraction", "1"], "test_fraction must be in [0, 1)"),
        (["--jobs", "0"], "jobs must be >= 1"),
        (["--camera", "missing.json"], "camera file not found"),
    ],
)
def test_usage_errors_exit_2(tree: Path, tmp_path: Path, capsys, extra, message):
    assert run(["build", tree, tmp_path / "c.h5", "--size", SIZE, *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rawspace build: error:") and message in err
    assert not (tmp_path / "c.h5").exists() and not (tmp_path / "c.h5.partial").exists()


def test_missing_source_exits_2(tmp_path: Path, capsys):
    assert run(["build", tmp_path / "nowhere", tmp_path / "c.h5"]) == 2
    assert "SOURCE not found" in capsys.readouterr().err


def test_argparse_rejects_unknown_choices(tree: Path, tmp_path: Path):
    with pytest.raises(SystemExit) as exc:
        run(["build", tree, tmp_path / "c.h5", "--compression", "zstd"])
    assert exc.value.code == 2


def test_interrupt_exits_130_and_resume_finishes(tree, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "c.h5"

    def interrupted(self, task):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(workers.Converter, "convert", interrupted)
        assert run(["build", tree, cache, "--size", SIZE, "-q"]) == 130
    assert "--resume" in capsys.readouterr().err
    assert (tmp_path / "c.h5.partial").exists() and not cache.exists()
    assert run(["build", tree, cache, "--size", SIZE, "-q"]) == 2
    assert run(["build", tree, cache, "--size", SIZE, "-q", "--resume"]) == 1
    assert len(rawspace.cache.open(cache)) == 8


def test_shard_and_merge(tree: Path, tmp_path: Path, capsys):
    full = tmp_path / "full.h5"
    assert run(["build", tree, full, "--size", SIZE, "-q"]) == 1
    codes = [
        run(["build", tree, tmp_path / f"s{k}.h5", "--size", SIZE, "-q", "--shard", f"{k}/2"])
        for k in (1, 2)
    ]
    assert sorted(codes) == [0, 1]  # the broken image is in exactly one shard
    merged = tmp_path / "merged.h5"
    assert run(["merge", merged, tmp_path / "s1.h5", tmp_path / "s2.h5"]) == 0
    err = capsys.readouterr().err
    assert "merged 2 shards: 8 samples" in err and "left out 1 image(s)" in err
    with h5py.File(full, "r") as a, h5py.File(merged, "r") as b:
        np.testing.assert_array_equal(a["raw"][...], b["raw"][...])
        assert a["path"].asstr()[:].tolist() == b["path"].asstr()[:].tolist()
    assert run(["merge", merged, tmp_path / "s1.h5", tmp_path / "s2.h5"]) == 2
    assert "exists" in capsys.readouterr().err
    copied = tmp_path / "copied.h5"
    assert run(["merge", copied, tmp_path / "s2.h5", tmp_path / "s1.h5", "--copy", "-q"]) == 0
    with h5py.File(copied, "r") as f:
        assert not f["raw"].is_virtual
    assert run(["merge", tmp_path / "m2.h5", tmp_path / "s1.h5"]) == 2
    assert "shards 2/2 are missing" in capsys.readouterr().err


def test_through_the_rawspace_command(tree: Path, tmp_path: Path, capsys):
    cache = tmp_path / "c.h5"
    assert main(["build", str(tree), str(cache), "--size", SIZE, "-q", "--jobs", "1"]) == 1
    capsys.readouterr()
    assert main(["info", str(cache)]) == 0
    out = capsys.readouterr().out
    assert "8 samples" in out and "cat" in out and "dog" in out


def test_matek19_options(tmp_path: Path, sample_images, capsys):
    root = tmp_path / "matek"
    lines = ["MON/MON_0001.tiff MON nan nan", "MON/MON_0002.tiff MON UNC UNC",
             "MYO/MYO_0001.tiff MYO MON MON", "MYO/MYO_0002.tiff MYO nan nan"]  # fmt: skip
    for i, line in enumerate(lines):
        path = root / line.split()[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(path, sample_images["coffee"][:24, 24 * i : 24 * i + 24])
    (root / "annotations.dat").write_text("\n".join(lines) + "\n", encoding="ascii")
    cache = tmp_path / "m.h5"
    assert run(["build", root, cache, "--size", "16", "--labels", "reannotation"]) == 0
    assert "1 dropped (UNC)" in capsys.readouterr().err
    reader = rawspace.cache.open(cache)
    assert reader.class_names == ("MON", "MYO") and reader.labels.tolist() == [0, 0, 1]
    assert run(["build", root, cache, "--size", "16", "--unc", "keep", "--overwrite"]) == 0
    assert rawspace.cache.open(cache).class_names == ("MON", "MYO")  # original labels: no UNC
    assert run(["build", root, cache, "--size", "16", "--labels", "reannotation", "--unc",
                "keep", "--overwrite", "-q"]) == 0  # fmt: skip
    assert rawspace.cache.open(cache).class_names == ("MON", "MYO", "UNC")


# ------------------------------------------------------------------------ reliability
def test_a_camera_whose_gains_overflow_is_a_usage_error(tree, tmp_path, capsys):
    values = CameraParams.sample(2).to_dict()
    camera = tmp_path / "cam.json"
    camera.write_text(json.dumps({**values, "rgb_gain": 1e300, "red_gain": 1e10}))
    assert run(["build", tree, tmp_path / "c.h5", "--size", SIZE, "--camera", camera]) == 2
    assert "rgb_gain must be in [1e-06, 1e+06], got 1e+300" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cam.json"]


def test_overwrite_never_replaces_the_source(tmp_path, sample_images, capsys):
    listing = tmp_path / "cells.csv"
    for i in range(4):
        _write_png(tmp_path / f"{i}.png", sample_images["coffee"][:20, 20 * i : 20 * i + 20])
    listing.write_text("path,label\n" + "".join(f"{i}.png,{i % 2}\n" for i in range(4)))
    before = listing.read_bytes()
    for cache in (listing, tmp_path / "0.png"):
        assert run(["build", listing, cache, "--size", "16", "--overwrite", "-q"]) == 2
        assert "refusing to write over it" in capsys.readouterr().err
    assert listing.read_bytes() == before and read_image(tmp_path / "0.png").shape[:2] == (20, 20)


def test_info_says_a_build_is_in_progress(tree, tmp_path, monkeypatch, capsys):
    cache = tmp_path / "c.h5"
    convert = workers.Converter.convert
    said = []

    def meanwhile(self, task):
        if task[0] == 3:
            for path in (cache, Path(f"{cache}.partial")):
                said.append((main(["info", str(path)]), capsys.readouterr().err))
        return convert(self, task)

    monkeypatch.setattr(workers.Converter, "convert", meanwhile)
    assert run(["build", tree, cache, "--size", SIZE, "-q"]) == 1
    for code, err in said:
        assert code == 1 and err.count("\n") == 1 and "Errno" not in err
        assert f"a build of {cache} is in progress (process {os.getpid()})" in err


def test_a_name_that_is_not_utf8_is_listed_printably(tmp_path, sample_images, capsys):
    root = tmp_path / "src"
    _write_png(root / "a" / "ok.png", sample_images["coffee"][:20, :20])
    bad = root / os.fsdecode(b"b\xff") / os.fsdecode(b"x\xfe.png")
    try:
        bad.parent.mkdir(parents=True)
        bad.write_text("not a png")
    except OSError:
        pytest.skip("the file system refuses names that are not UTF-8")
    assert run(["build", root, tmp_path / "c.h5", "--size", "16", "--folds", "0"]) == 1
    assert "b\\xff/x\\xfe.png (b\\xff): not an image" in capsys.readouterr().err


def test_an_unreadable_class_folder_fails_the_build(tree, tmp_path, make_unreadable, capsys):
    make_unreadable(tree / "cat")
    assert run(["build", tree, tmp_path / "c.h5", "--size", SIZE, "-q"]) == 1
    err = capsys.readouterr().err
    assert "2 image(s) failed" in err and "cat (cat): folder cannot be read" in err
    assert len(rawspace.cache.open(tmp_path / "c.h5")) == 4


def test_build_into_a_read_only_folder_exits_3(tree, read_only_folder, capsys):
    assert run(["build", tree, read_only_folder / "c.h5", "--size", SIZE, "-q"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("rawspace build: cannot write") and "Permission denied" in err
    assert "--resume" not in err and "nothing was kept (no partial file)" in err


_SIZE_LIMIT = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]),) * 2)
from rawspace.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="no file-size limits here")
def test_a_size_limit_below_the_reserve_leaves_no_partial_and_says_so(tree, tmp_path):
    cache = tmp_path / "c.h5"
    argv = [sys.executable, "-c", _SIZE_LIMIT, "65536", "build", str(tree), str(cache)]
    done = subprocess.run([*argv, "--size", SIZE, "-q"], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert done.stderr.count("\n") == 1 and "File too large" in done.stderr
    assert not Path(f"{cache}.partial").exists()
    assert "--resume" not in done.stderr and "nothing was kept" in done.stderr


def test_resume_without_a_partial_file_says_it_starts_from_scratch(tree, tmp_path, capsys):
    cache = tmp_path / "c.h5"
    assert run(["build", tree, cache, "--size", SIZE, "-q", "--resume"]) == 1
    err = capsys.readouterr().err
    assert f"no partial build {cache}.partial to resume: starting from scratch" in err
    assert len(rawspace.cache.open(cache)) == 8


def test_a_build_in_which_every_image_fails_exits_1_and_writes_nothing(tmp_path, capsys):
    root = tmp_path / "matek"
    root.mkdir()
    lines = [f"MON/MON_{i:04d}.tiff MON nan nan" for i in range(3)]
    (root / "annotations.dat").write_text("\n".join(lines) + "\n", encoding="ascii")
    out = tmp_path / "out"
    out.mkdir()
    assert run(["build", root / "annotations.dat", out / "c.h5", "--size", "16", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is SOURCE the dataset root?" in err
    assert "3 of 3 failed" in err and "images/s" not in err
    assert not list(out.iterdir())


def test_negative_seed_is_a_usage_error(tree, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        run(["build", tree, tmp_path / "c.h5", "--seed", "-5"])
    assert info.value.code == 2
    assert "--seed: must be a non-negative integer" in capsys.readouterr().err
