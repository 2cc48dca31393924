"""Tests of rawspace.cache (build, open, merge, summary) and rawspace.sources."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import tifffile

import rawspace
import rawspace.cache
import rawspace.cli
from rawspace.cache import CacheError, workers
from rawspace.cache import write as cache_write
from rawspace.cameras import CameraAssigner
from rawspace.files import OutputError, WriteError
from rawspace.images import ImageError, fit_image, read_image
from rawspace.sources import SourceError, read_source

SIZE = 32
CLASSES = ("alpha", "beta", "gamma")
IMAGE_DATASETS = ("raw", "rgb")


# ------------------------------------------------------------------------ helpers
def _write(path: Path, image: np.ndarray, ext: str | None = None) -> Path:
    """Write an RGB, RGBA or gray image with OpenCV (which expects BGR order)."""
    if image.ndim == 3:
        image = np.concatenate([image[:, :, 2::-1], image[:, :, 3:]], axis=2)
    ok, data = cv2.imencode(ext or path.suffix, image)
    assert ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.tobytes())
    return path


def _crops(image: np.ndarray, n: int, seed: int) -> list[np.ndarray]:
    """``n`` crops of varied sizes (some smaller than SIZE, so padded; some larger)."""
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(n):
        h, w = (28, 40) if i % 2 else (36, 34)
        y = int(rng.integers(0, image.shape[0] - h))
        x = int(rng.integers(0, image.shape[1] - w))
        crops.append(np.ascontiguousarray(image[y : y + h, x : x + w]))
    return crops


def _good_tree(root: Path, sample_images: dict[str, np.ndarray], per_class: int = 6) -> Path:
    for c, (name, image) in zip(CLASSES, sample_images.items(), strict=False):
        for i, crop in enumerate(_crops(image, per_class, seed=len(name))):
            _write(root / c / f"{c}_{i:02d}.png", crop)
    return root


def _flip_middle(data: bytes, count: int) -> bytes:
    middle = len(data) // 2
    return (
        data[:middle]
        + bytes(b ^ 0xFF for b in data[middle : middle + count])
        + data[middle + count :]
    )


def _dataset_values(f: h5py.File, name: str) -> tuple[str, tuple[int, ...], object]:
    ds = f[name]
    if h5py.check_string_dtype(ds.dtype) is not None:
        return str(ds.dtype), ds.shape, ds.asstr()[:].tolist()
    data = ds[...]
    if data.dtype.names and any(h5py.check_string_dtype(data.dtype[k]) for k in data.dtype.names):
        return str(ds.dtype), ds.shape, data.tolist()
    return str(data.dtype), ds.shape, data.tobytes()


def _attrs(f: h5py.File, ignore: tuple[str, ...] = ("created",)) -> dict[str, object]:
    out = {}
    for key, value in f.attrs.items():
        if key not in ignore:
            out[key] = value.tolist() if isinstance(value, np.ndarray) else value
    return out


def assert_same_cache(a: Path, b: Path) -> None:
    """Every dataset identical (dtype, shape, bytes) and every attribute but ``created``."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert sorted(fa) == sorted(fb)
        for name in fa:
            assert _dataset_values(fa, name) == _dataset_values(fb, name), name
        assert _attrs(fa) == _attrs(fb)


# ----------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def good_tree(tmp_path_factory, sample_images) -> Path:
    return _good_tree(tmp_path_factory.mktemp("good") / "src", sample_images)


@pytest.fixture(scope="module")
def good_cache(good_tree: Path, tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("good_cache") / "cache.h5"
    report = rawspace.cache.build(good_tree, cache, size=SIZE, seed=7)
    assert report.built == 18 and report.failed == 0
    return cache


@pytest.fixture(scope="module")
def bad_tree(tmp_path_factory, sample_images) -> dict[str, object]:
    """A tree mixing good images with every kind of bad input, and the originals."""
    root = tmp_path_factory.mktemp("bad") / "src"
    photo = sample_images["astronaut"]
    ihc = sample_images["immunohistochemistry"]
    rng = np.random.default_rng(0)
    originals: dict[str, np.ndarray] = {}

    _write(root / "alpha" / "a_ok.png", ihc[:40, :36])
    _write(root / "alpha" / "a_photo.jpg", photo[:48, :48])
    jpeg = cv2.imencode(".jpg", photo[:, :, ::-1])[1].tobytes()
    (root / "alpha" / "a_corrupt.jpg").write_bytes(_flip_middle(jpeg, 64))
    (root / "alpha" / "a_empty.jpg").write_bytes(b"")
    (root / "alpha" / "a_text.png").write_text("this is not an image\n")
    png = cv2.imencode(".png", ihc[:, :, ::-1])[1].tobytes()
    (root / "alpha" / "a_truncated.png").write_bytes(png[: len(png) // 2])

    gray = cv2.cvtColor(np.ascontiguousarray(ihc[40:80, 40:76]), cv2.COLOR_RGB2GRAY)
    originals["beta/b_gray.png"] = np.repeat(gray[:, :, None], 3, axis=2)
    _write(root / "beta" / "b_gray.png", gray)
    rgba = np.concatenate([photo[60:96, 60:100], rng.integers(0, 256, (36, 40, 1), np.uint8)], 2)
    originals["beta/b_rgba.png"] = rgba[:, :, :3]
    _write(root / "beta" / "b_rgba.png", rgba)
    _write(root / "beta" / "b_tiny.png", photo[:1, :1])

    sixteen = ihc[80:120, 80:116].astype(np.uint16) * 257 + rng.integers(0, 257, (40, 36, 3))
    sixteen = sixteen.astype(np.uint16)
    originals["gamma/c_16.png"] = sixteen
    _write(root / "gamma" / "c_16.png", sixteen)
    originals["gamma/c_16.tif"] = sixteen[::-1].copy()
    tifffile.imwrite(root / "gamma" / "c_16.tif", sixteen[::-1], photometric="rgb")
    _write(root / "gamma" / "c_ok.png", photo[100:140, 100:130])
    (root / "gamma" / "notes.txt").write_text("not listed: no image suffix\n")

    bad = {
        "alpha/a_corrupt.jpg": "corrupt JPEG",
        "alpha/a_empty.jpg": "empty",
        "alpha/a_text.png": "not an image",
        "alpha/a_truncated.png": "truncated PNG",
        "beta/b_tiny.png": "too small",
    }
    for relpath, reason in bad.items():  # the fixture itself must be right
        with pytest.raises(ImageError, match=reason):
            read_image(root / relpath)
    return {"root": root, "bad": bad, "originals": originals}


@pytest.fixture(scope="module")
def group_csv(tmp_path_factory, sample_images) -> Path:
    """A CSV source with a group column: 4 patients, 3 classes, paths relative to the CSV."""
    folder = tmp_path_factory.mktemp("csv")
    lines = ["path,label,group"]
    image = sample_images["coffee"]
    for i, crop in enumerate(_crops(image, 16, seed=3)):
        relpath = f"images/p{i % 4}/img_{i:02d}.png"
        _write(folder / relpath, crop)
        lines.append(f"{relpath},{CLASSES[i % 3]},patient{i % 4}")
    (folder / "list.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "list.csv"


# ---------------------------------------------------------------- basic contents
def test_build_stores_every_image_with_its_label(good_tree: Path, good_cache: Path):
    with h5py.File(good_cache, "r") as f:
        n = 18
        assert f["raw"].shape == (n, SIZE, SIZE) and f["raw"].dtype == np.uint16
        assert f["rgb"].shape == (n, SIZE, SIZE, 3) and f["rgb"].dtype == np.uint8
        assert f["label"].dtype == np.int64 and f["split"].dtype == np.int8
        assert f["fold"].dtype == np.int8 and f["params"].shape == (n,)
        assert f["raw"].chunks == (1, SIZE, SIZE) and f["rgb"].chunks == (1, SIZE, SIZE, 3)
        assert f["raw"].compression is None  # default: fastest random reads
        paths = f["path"].asstr()[:].tolist()
        labels = f["label"][:]
        names = list(f.attrs["class_names"])
        assert names == list(CLASSES)
        assert paths == sorted(paths)  # class folders, then relative paths
        for path, label in zip(paths, labels, strict=True):
            assert path.split("/")[0] == names[label]
        for i, path in enumerate(paths):
            expected = fit_image(read_image(good_tree / path), SIZE)
            np.testing.assert_array_equal(f["rgb"][i], expected)
        for key in ("layout", "cfa", "black_level", "white_level", "seed", "camera_policy",
                    "config", "rawspace_version", "n_cameras"):  # fmt: skip
            assert key in f.attrs, key
        assert f.attrs["layout"] == "bayer" and f.attrs["seed"] == 7
        assert f.attrs["camera_policy"] == "dataset" and f.attrs["n_cameras"] == 1
        assert f.attrs["rawspace_version"] == rawspace.__version__
        config = json.loads(f.attrs["config"])
        assert config["size"] == SIZE and config["compression"] == "none"
    assert not Path(str(good_cache) + ".partial").exists()
    assert not Path(str(good_cache) + ".failures.csv").exists()


def test_params_recreate_every_sample_exactly(good_cache: Path):
    reader = rawspace.cache.open(good_cache)
    for i in range(len(reader)):
        sample = reader[i]
        again = rawspace.invert(sample.rgb, **reader.invert_args(i))
        np.testing.assert_array_equal(again.data, sample.raw)
        assert sample.params == reader.params(i)
    # and the stored camera is what the policy draws from the seed
    assigner = rawspace.cameras.CameraAssigner("dataset", seed=7)
    assert reader.params(0) == assigner.params_for(reader[0].path)


@pytest.mark.parametrize(
    ("layout", "shape"), [("packed", (SIZE // 2, SIZE // 2, 4)), ("linear", (SIZE, SIZE, 3))]
)
def test_layouts(good_tree: Path, tmp_path: Path, layout: str, shape: tuple[int, ...]):
    cache = tmp_path / f"{layout}.h5"
    rawspace.cache.build(good_tree, cache, size=SIZE, layout=layout, compression="none")
    reader = rawspace.cache.open(cache)
    assert reader.layout == layout
    sample = reader[3]
    assert sample.raw.shape == shape and sample.raw.dtype == np.uint16
    with h5py.File(cache, "r") as f:  # uncompressed chunks are read directly: same values
        np.testing.assert_array_equal(sample.raw, f["raw"][3])
        np.testing.assert_array_equal(sample.rgb, f["rgb"][3])
    again = rawspace.invert(sample.rgb, **reader.invert_args(3))
    np.testing.assert_array_equal(again.data, sample.raw)


def test_noise_and_per_image_cameras_are_recorded_and_recreated(good_tree, tmp_path):
    cache = tmp_path / "noisy.h5"
    rawspace.cache.build(
        good_tree, cache, size=SIZE, camera_per="image", noise="brooks", noise_per="dataset"
    )
    reader = rawspace.cache.open(cache)
    records = reader.records
    assert np.all(records["noise_seed"] >= 0) and np.all(records["camera_seed"] >= 0)
    assert len(np.unique(records["noise_seed"])) == len(reader)  # realisation per image
    assert len(np.unique(records["noise_shot"])) == 1  # levels per dataset
    assert reader.attrs["n_cameras"] == len(reader) and reader.attrs["noise"] == "brooks"
    for i in (0, 7, 17):
        args = reader.invert_args(i)
        assert args["noise"] is not None and args["seed"] is not None
        np.testing.assert_array_equal(rawspace.invert(reader[i].rgb, **args).data, reader[i].raw)


def test_no_rgb(good_tree: Path, tmp_path: Path):
    cache = tmp_path / "norgb.h5"
    rawspace.cache.build(good_tree, cache, size=SIZE, rgb=False, compression="gzip")
    with h5py.File(cache, "r") as f:
        assert "rgb" not in f and f["raw"].compression == "gzip"
    reader = rawspace.cache.open(cache)
    assert reader[0].rgb is None and not reader.has_rgb
    with pytest.raises(CacheError, match="holds no rgb images"):
        reader.read("rgb")


def test_fixed_camera_from_a_file(good_tree: Path, tmp_path: Path):
    camera = rawspace.CameraParams.sample(123, cfa="GRBG", black_level=64, white_level=4095)
    camera_file = tmp_path / "camera.json"
    camera_file.write_text(camera.to_json(), encoding="utf-8")
    cache = tmp_path / "fixed.h5"
    rawspace.cache.build(good_tree, cache, size=SIZE, camera=camera_file)
    reader = rawspace.cache.open(cache)
    assert reader.attrs["cfa"] == "GRBG" and reader.attrs["black_level"] == 64
    assert reader.params(5) == camera
    assert reader.records["camera_seed"].tolist() == [-1] * len(reader)
    raw = reader[5].raw
    assert raw.min() >= 64 and raw.max() <= 4095


def test_a_real_cameras_plain_white_balance_is_kept(good_tree: Path, tmp_path: Path):
    """A camera read from a raw file has highlight_blend=False; the cache must record it,
    or its samples cannot be re-created."""
    camera = dataclasses.replace(rawspace.CameraParams.sample(5), highlight_blend=False)
    cache = tmp_path / "plain.h5"
    rawspace.cache.build(good_tree, cache, size=SIZE, camera=camera)
    reader = rawspace.cache.open(cache)
    assert reader.attrs["highlight_blend"] is False and reader.params(0) == camera
    for i in range(3):
        again = rawspace.invert(reader[i].rgb, **reader.invert_args(i))
        np.testing.assert_array_equal(again.data, reader[i].raw)


# ------------------------------------------------------------------- bad inputs
def test_bad_inputs_are_left_out_and_listed(bad_tree: dict, tmp_path: Path):
    root = bad_tree["root"]
    cache = tmp_path / "bad.h5"
    report = rawspace.cache.build(root, cache, size=SIZE)
    bad = bad_tree["bad"]
    assert report.failed == len(bad) and report.built == 7
    failed = {path: reason for path, _, reason in report.failures}
    assert sorted(failed) == sorted(bad)
    for path, fragment in bad.items():
        assert fragment in failed[path], (path, failed[path])
    with open(report.failures_csv, encoding="utf-8") as f:
        rows = f.read().splitlines()
    assert rows[0] == "path,label,reason" and len(rows) == 1 + len(bad)
    assert report.failures_csv == Path(str(cache) + ".failures.csv")

    reader = rawspace.cache.open(cache)
    valid = ["alpha/a_ok.png", "alpha/a_photo.jpg", "beta/b_gray.png", "beta/b_rgba.png",
             "gamma/c_16.png", "gamma/c_16.tif", "gamma/c_ok.png"]  # fmt: skip
    assert reader.paths == valid
    assert [reader.class_names[label] for label in reader.labels] == [
        path.split("/")[0] for path in valid
    ]
    with h5py.File(cache, "r") as f:
        assert len(f["failures"]) == len(bad) and f.attrs["n_failed"] == len(bad)
        assert f.attrs["n_listed"] == len(bad) + len(valid)
    originals = bad_tree["originals"]
    for i, path in enumerate(valid):
        sample = reader[i]
        if path in ("beta/b_gray.png", "beta/b_rgba.png"):  # replicated gray; alpha dropped
            np.testing.assert_array_equal(sample.rgb, fit_image(originals[path], SIZE))
        if path.startswith("gamma/c_16"):  # 16-bit: rounded to 8 bits for rgb, full for raw
            fitted = fit_image(originals[path], SIZE)
            expected = np.floor(fitted.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)
            np.testing.assert_array_equal(sample.rgb, expected)
            raw = rawspace.invert(fitted, **reader.invert_args(i)).data
            np.testing.assert_array_equal(sample.raw, raw)
            coarse = rawspace.invert(sample.rgb, **reader.invert_args(i)).data
            assert not np.array_equal(coarse, sample.raw)  # the raw kept all 16 bits
        else:
            np.testing.assert_array_equal(
                rawspace.invert(sample.rgb, **reader.invert_args(i)).data, sample.raw
            )


@pytest.mark.parametrize(("policy", "cameras"), [("dataset", 1), ("image", 7)])
def test_two_builds_are_identical_whatever_the_jobs(bad_tree, tmp_path, policy, cameras):
    root = bad_tree["root"]
    one = tmp_path / "one.h5"
    two = tmp_path / "two.h5"
    options = {"size": SIZE, "seed": 3, "camera_per": policy, "noise": "brooks"}
    first = rawspace.cache.build(root, one, jobs=1, **options)
    second = rawspace.cache.build(root, two, jobs=2, **options)
    assert first.failures == second.failures and first.built == second.built == 7
    assert_same_cache(one, two)
    with h5py.File(one, "r") as f:
        assert f.attrs["n_cameras"] == cameras


@pytest.mark.parametrize("compression", ["none", "lzf"])
def test_a_build_with_three_jobs_is_the_build_with_one(
    bad_tree, tmp_path, monkeypatch, compression
):
    """Three processes convert (this one and two workers, one batch in flight each, so
    that this one converts the batches beyond them); the file is the same."""
    monkeypatch.setattr(workers, "_SLOTS_PER_JOB", 1)
    one, three = tmp_path / "one.h5", tmp_path / "three.h5"
    options = {"size": SIZE, "seed": 5, "camera_per": "image", "compression": compression}
    first = rawspace.cache.build(bad_tree["root"], one, jobs=1, **options)
    second = rawspace.cache.build(bad_tree["root"], three, jobs=3, **options)
    assert first.failures == second.failures and first.built == second.built == 7
    assert_same_cache(one, three)


def test_a_warm_up_that_fails_leaves_the_failure_to_each_image(good_tree, tmp_path):
    """A worker warms up in its pool initialiser, where an error would make the pool
    restart the worker forever: the warm-up gives up instead, and each task reports."""
    listing = read_source(good_tree)
    settings = workers.Settings(
        str(listing.root), CameraAssigner(), "bayer", SIZE, "no such fit",  # type: ignore[arg-type]
        "none", True,
    )  # fmt: skip
    converter = workers.Converter(settings)
    converter.warm_up()
    result = converter.convert((0, listing.items[0].relpath, None, None))
    assert isinstance(result, workers.Failed) and "no such fit" in result.reason


def test_reproducible_with_the_same_seed_and_different_with_another(good_tree, tmp_path):
    a, b, c = (tmp_path / f"{n}.h5" for n in "abc")
    for path, seed in ((a, 1), (b, 1), (c, 2)):
        rawspace.cache.build(good_tree, path, size=SIZE, seed=seed, compression="none")
    assert_same_cache(a, b)
    with h5py.File(a, "r") as fa, h5py.File(c, "r") as fc:
        assert fa["raw"][...].tobytes() != fc["raw"][...].tobytes()
        assert not np.array_equal(fa["split"][...], fc["split"][...])


# ---------------------------------------------------------------- camera policy
@pytest.mark.parametrize(("policy", "expected"), [("dataset", 1), ("group", 4), ("image", 16)])
def test_camera_policies(group_csv: Path, tmp_path: Path, policy: str, expected: int):
    cache = tmp_path / f"{policy}.h5"
    rawspace.cache.build(
        group_csv, cache, size=SIZE, camera_per=policy, test_fraction=0.25, folds=2
    )
    reader = rawspace.cache.open(cache)
    assert reader.attrs["camera_policy"] == policy
    assert reader.config["cameras"]["policy"] == policy
    params = reader.records
    cameras = {reader.params(i) for i in range(len(reader))}
    assert len(cameras) == expected == reader.attrs["n_cameras"]
    assert len(np.unique(params["camera_seed"])) == expected
    groups = np.array(reader.groups)
    assert len(set(groups)) == 4
    with h5py.File(cache, "r") as f:
        split, fold = f["split"][:], f["fold"][:]
    for group in set(groups):  # a group never mixes two cameras (for dataset and group)
        members = np.flatnonzero(groups == group)
        mine = {reader.params(int(i)) for i in members}
        assert len(mine) == (1 if policy != "image" else len(members))
        assert len(set(split[members])) == 1 and len(set(fold[members])) == 1


def test_group_policy_needs_groups(good_tree: Path, tmp_path: Path):
    with pytest.raises(CacheError, match="camera_per='group' needs groups"):
        rawspace.cache.build(good_tree, tmp_path / "x.h5", size=SIZE, camera_per="group")
    with pytest.raises(CacheError, match="noise_per='group'"):
        rawspace.cache.build(good_tree, tmp_path / "x.h5", noise="brooks", noise_per="group")
    assert not (tmp_path / "x.h5").exists() and not (tmp_path / "x.h5.partial").exists()


def test_csv_paths_are_relative_to_the_csv(group_csv: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "csv.h5"
    report = rawspace.cache.build(group_csv, cache, size=SIZE)
    assert report.failed == 0 and report.built == 16
    reader = rawspace.cache.open(cache)
    assert reader.paths[0] == "images/p0/img_00.png"
    assert reader.class_names == CLASSES
    with h5py.File(cache, "r") as f:
        assert f["group"].asstr()[:].tolist() == [f"patient{i % 4}" for i in range(16)]


# ----------------------------------------------------------------------- splits
def test_splits_are_stratified(good_cache: Path):
    reader = rawspace.cache.open(good_cache)
    with h5py.File(good_cache, "r") as f:
        split, fold, labels = f["split"][:], f["fold"][:], f["label"][:]
    for label in range(3):
        mine = labels == label
        assert abs(int(split[mine].sum()) - 0.1 * mine.sum()) <= 1
    assert np.all((fold == -1) == (split == 1))
    assert len(reader.train) + len(reader.test) == len(reader)
    assert len(reader.test) == int(split.sum())
    for k in range(5):
        train, val = reader.fold(k)
        assert len(train) + len(val) == len(reader.train)
        assert not set(train.rows) & set(val.rows)
        assert set(val.rows) == set(np.flatnonzero(fold == k))
        assert np.all(split[val.rows] == 0)


# ------------------------------------------------------------------------ reader
def test_reader_views_indexing_and_reading_rows(good_cache: Path):
    reader = rawspace.cache.open(good_cache)
    assert len(reader) == 18 and reader.class_names == CLASSES
    test = reader.test
    last = test[-1]
    assert last.path == reader.paths[int(test.rows[-1])]
    np.testing.assert_array_equal(last.raw, reader[int(test.rows[-1])].raw)
    with pytest.raises(IndexError):
        reader[18]
    with pytest.raises(TypeError):
        reader["0"]
    with pytest.raises(IndexError):
        reader.fold(5)
    train = reader.train
    raw, rgb = train.read("raw"), train.read("rgb")
    assert raw.shape == (len(train), SIZE, SIZE) and rgb.shape == (len(train), SIZE, SIZE, 3)
    for j, row in enumerate(train.rows[:4]):
        np.testing.assert_array_equal(raw[j], reader[int(row)].raw)
        np.testing.assert_array_equal(rgb[j], reader[int(row)].rgb)
    shuffled = np.array([7, 0, 3, 2, 12])
    for got, position in zip(train.read("raw", shuffled), shuffled, strict=True):
        np.testing.assert_array_equal(got, train[int(position)].raw)
    assert reader.read("raw").shape[0] == 18 and len(reader.records) == 18
    samples = list(reader.test)
    assert len(samples) == len(reader.test)


def test_reader_without_rgb_skips_it(good_cache: Path):
    reader = rawspace.cache.open(good_cache, rgb=False)
    assert reader[0].rgb is None and reader.train[0].rgb is None


def test_reader_pickles_and_reopens(good_cache: Path):
    reader = rawspace.cache.open(good_cache)
    expected = reader.train[2]
    clone = pickle.loads(pickle.dumps(reader.train))
    got = clone[2]
    np.testing.assert_array_equal(got.raw, expected.raw)
    assert got.path == expected.path and got.params == expected.params
    clone.close()
    reader.close()
    np.testing.assert_array_equal(reader.train[2].raw, expected.raw)  # reopened lazily


def _read_in_child(reader: rawspace.cache.CacheReader) -> tuple[int, str, bytes]:
    sample = reader[4]
    return os.getpid(), sample.path, sample.raw.tobytes()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_reader_reopens_after_fork(good_cache: Path):
    reader = rawspace.cache.open(good_cache)
    parent = reader[4]  # the parent's handle is open when the child is forked
    with multiprocessing.get_context("fork").Pool(1) as pool:
        pid, path, raw = pool.apply(_read_in_child, (reader,))
    assert pid != os.getpid() and path == parent.path and raw == parent.raw.tobytes()
    np.testing.assert_array_equal(reader[4].raw, parent.raw)


def test_open_refuses_what_is_not_a_cache(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        rawspace.cache.open(tmp_path / "missing.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = 1
    with pytest.raises(CacheError, match="not a rawspace cache"):
        rawspace.cache.open(tmp_path / "other.h5")


def test_summary(good_cache: Path):
    text = rawspace.cache.summary(good_cache)
    for fragment in ("18 samples", "alpha", "gamma", "bayer", "per dataset", "1 distinct",
                     "train 15, test 3", "folds        5", "compression none"):  # fmt: skip
        assert fragment in text, fragment


# ------------------------------------------------------------ atomicity, resume
def test_existing_cache_is_kept_without_overwrite(good_tree: Path, tmp_path: Path):
    cache = tmp_path / "c.h5"
    cache.write_bytes(b"precious")
    with pytest.raises(CacheError, match="exists; use overwrite"):
        rawspace.cache.build(good_tree, cache, size=SIZE)
    assert cache.read_bytes() == b"precious"
    rawspace.cache.build(good_tree, cache, size=SIZE, overwrite=True)
    assert len(rawspace.cache.open(cache)) == 18


@pytest.mark.parametrize("crash", [KeyboardInterrupt, RuntimeError])
def test_resume_finishes_an_interrupted_build_exactly(good_tree, tmp_path, monkeypatch, crash):
    reference = tmp_path / "reference.h5"
    rawspace.cache.build(good_tree, reference, size=SIZE, noise="brooks", camera_per="image")
    cache = tmp_path / "cache.h5"
    partial = Path(str(cache) + ".partial")
    calls = {"n": 0}
    convert = workers.Converter.convert

    def stop_after_eleven(self, task):
        calls["n"] += 1
        if calls["n"] > 11:
            raise crash("simulated interruption")
        return convert(self, task)

    monkeypatch.setattr(cache_write, "CHECKPOINT_EVERY", 4)
    monkeypatch.setattr(workers.Converter, "convert", stop_after_eleven)
    with pytest.raises(crash):
        rawspace.cache.build(good_tree, cache, size=SIZE, noise="brooks", camera_per="image")
    assert partial.exists() and not cache.exists()
    with h5py.File(partial, "r") as f:  # Ctrl-C keeps all 11; a crash the last checkpoint
        assert f.attrs["n_processed"] == (11 if crash is KeyboardInterrupt else 8)
    with pytest.raises(CacheError, match="use resume"):
        rawspace.cache.build(good_tree, cache, size=SIZE, noise="brooks", camera_per="image")
    with pytest.raises(CacheError, match="other options"):
        rawspace.cache.build(good_tree, cache, size=SIZE, resume=True)
    monkeypatch.setattr(workers.Converter, "convert", convert)
    report = rawspace.cache.build(
        good_tree, cache, size=SIZE, noise="brooks", camera_per="image", resume=True
    )
    assert report.processed == 18 - (11 if crash is KeyboardInterrupt else 8)
    assert report.built == 18 and not partial.exists()
    assert_same_cache(reference, cache)


def test_overwrite_discards_a_partial_build(good_tree: Path, tmp_path: Path):
    cache = tmp_path / "c.h5"
    Path(str(cache) + ".partial").write_bytes(b"junk")
    with pytest.raises(CacheError, match="cannot be opened"):
        rawspace.cache.build(good_tree, cache, size=SIZE, resume=True)
    rawspace.cache.build(good_tree, cache, size=SIZE, overwrite=True)
    assert len(rawspace.cache.open(cache)) == 18


# ------------------------------------------------------------------------ shards
@pytest.fixture(scope="module")
def shards(bad_tree: dict, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("shards")
    root = bad_tree["root"]
    options = {"size": SIZE, "seed": 5, "camera_per": "image", "test_fraction": 0.3, "folds": 2}
    paths = {"full": folder / "full.h5"}
    rawspace.cache.build(root, paths["full"], **options)
    for k in (1, 2):
        paths[k] = folder / "parts" / f"shard{k}.h5"
        rawspace.cache.build(root, paths[k], shard=f"{k}/2", **options)
    return paths


def test_shard_auto_reads_the_slurm_array(shards, bad_tree, tmp_path, monkeypatch):
    environ = {
        "SLURM_ARRAY_TASK_ID": "8",
        "SLURM_ARRAY_TASK_MIN": "7",
        "SLURM_ARRAY_TASK_COUNT": "2",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    options = {"size": SIZE, "seed": 5, "camera_per": "image", "test_fraction": 0.3, "folds": 2}
    auto = tmp_path / "auto.h5"
    rawspace.cache.build(bad_tree["root"], auto, shard="auto", **options)
    one, two = rawspace.cache.open(auto), rawspace.cache.open(shards[2])
    assert one.attrs["shard"] == "2/2" and one.paths == two.paths
    np.testing.assert_array_equal(one.read("raw"), two.read("raw"))


def test_shards_are_disjoint_and_split_like_the_full_build(shards: dict[str, Path]):
    full = rawspace.cache.open(shards["full"])
    one, two = rawspace.cache.open(shards[1]), rawspace.cache.open(shards[2])
    assert len(one) > 0 and len(two) > 0
    assert not set(one.paths) & set(two.paths)
    assert sorted(one.paths + two.paths) == sorted(full.paths)
    by_path = {p: i for i, p in enumerate(full.paths)}
    with h5py.File(shards["full"], "r") as f:
        split, fold = f["split"][:], f["fold"][:]
    for part in (shards[1], shards[2]):
        with h5py.File(part, "r") as f:
            rows = [by_path[p] for p in f["path"].asstr()[:]]
            np.testing.assert_array_equal(f["split"][:], split[rows])
            np.testing.assert_array_equal(f["fold"][:], fold[rows])
            assert f.attrs["shard"] in ("1/2", "2/2")


@pytest.mark.parametrize("copy", [False, True])
def test_merge_equals_the_unsharded_build(shards, tmp_path, monkeypatch, copy):
    out = tmp_path / "merged.h5"
    report = rawspace.cache.merge(out, [shards[2], shards[1]], copy=copy)
    assert report.virtual is not copy and report.samples == 7 and len(report.failures) == 5
    with h5py.File(out, "r") as f:
        assert f["raw"].is_virtual is not copy and f["rgb"].is_virtual is not copy
    assert_same_cache(shards["full"], out)
    monkeypatch.chdir(shards[1].parent)  # virtual sources resolve from the file, not the cwd
    reader = rawspace.cache.open(out)
    np.testing.assert_array_equal(reader[6].raw, rawspace.cache.open(shards["full"])[6].raw)
    assert "virtual" in rawspace.cache.summary(out) or copy


def test_merge_refuses_bad_shard_sets(shards, bad_tree, tmp_path):
    with pytest.raises(CacheError, match="missing"):
        rawspace.cache.merge(tmp_path / "m.h5", [shards[1]])
    with pytest.raises(CacheError, match="given twice"):
        rawspace.cache.merge(tmp_path / "m.h5", [shards[1], shards[1], shards[2]])
    with pytest.raises(CacheError, match="not a shard"):
        rawspace.cache.merge(tmp_path / "m.h5", [shards["full"]])
    other = tmp_path / "other2.h5"
    rawspace.cache.build(
        bad_tree["root"], other, size=SIZE, seed=6, shard="2/2", camera_per="image",
        test_fraction=0.3, folds=2,
    )  # fmt: skip
    with pytest.raises(CacheError, match="different options"):
        rawspace.cache.merge(tmp_path / "m.h5", [shards[1], other])
    (tmp_path / "m.h5").write_bytes(b"keep")
    with pytest.raises(CacheError, match="exists"):
        rawspace.cache.merge(tmp_path / "m.h5", [shards[1], shards[2]])
    assert (tmp_path / "m.h5").read_bytes() == b"keep"
    assert not (tmp_path / "m.h5.partial").exists()


def test_merged_cache_reports_a_missing_shard(shards, tmp_path):
    parts = tmp_path / "parts"
    parts.mkdir()
    copies = []
    for k in (1, 2):
        copies.append(parts / f"s{k}.h5")
        copies[-1].write_bytes(shards[k].read_bytes())
    rawspace.cache.merge(tmp_path / "m.h5", copies)
    copies[0].unlink()
    with pytest.raises(CacheError, match="missing"):
        rawspace.cache.open(tmp_path / "m.h5")


# ----------------------------------------------------------------------- Matek-19
_MATEK_LINES = """\
BAS/BAS_0001.tiff BAS nan nan
BAS/BAS_0002.tiff BAS nan nan
BAS/BAS_0003.tiff BAS UNC UNC
EOS/EOS_0001.tiff EOS nan nan
EOS/EOS_0002.tiff EOS MON MON
EOS/EOS_0003.tiff EOS EOS EOS
MON/MON_0001.tiff MON UNC EOS
MON/MON_0002.tiff MON nan nan
MON/MON_0003.tiff MON MON UNC
"""


@pytest.fixture(scope="module")
def matek_root(tmp_path_factory, sample_images) -> Path:
    root = tmp_path_factory.mktemp("matek") / "AML-Cytomorphology_LMU"
    image = sample_images["chelsea"]
    for i, line in enumerate(_MATEK_LINES.splitlines()):
        relpath = line.split()[0]
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        tifffile.imwrite(root / relpath, image[i * 10 : i * 10 + 20, :20], photometric="rgb")
    (root / "annotations.dat").write_text(_MATEK_LINES, encoding="ascii")
    return root


@pytest.mark.parametrize(
    ("labels", "unc", "classes", "expected", "dropped"),
    [
        ("original", "drop", ("BAS", "EOS", "MON"), "BBBEEEMMM", 0),
        ("reannotation", "drop", ("BAS", "EOS", "MON"), "BBEMEMM", 2),
        ("reannotation", "keep", ("BAS", "EOS", "MON", "UNC"), "BBUEMEUMM", 0),
    ],
)
def test_matek19_labels_and_unc(matek_root, tmp_path, labels, unc, classes, expected, dropped):
    cache = tmp_path / "matek.h5"
    report = rawspace.cache.build(matek_root, cache, size=16, labels=labels, unc=unc)
    assert report.failed == 0 and report.dropped == dropped
    reader = rawspace.cache.open(cache)
    assert reader.class_names == classes
    assert "".join(classes[label][0] for label in reader.labels) == expected
    assert reader.paths[0] == "BAS/BAS_0001.tiff"
    assert reader.attrs["n_dropped"] == dropped and reader.attrs["source_format"] == "matek19"
    assert reader[0].rgb.shape == (16, 16, 3)


def test_matek19_annotation_file_can_be_the_source(matek_root: Path):
    listing = read_source(matek_root / "annotations.dat", labels="reannotation")
    assert listing.format == "matek19" and len(listing) == 7 and listing.root == matek_root


def test_matek19_rejects_malformed_lines(tmp_path: Path):
    (tmp_path / "annotations.dat").write_text("BAS/BAS_0001.tiff BAS nan\n", encoding="ascii")
    with pytest.raises(SourceError, match="line 1: expected 4 columns"):
        read_source(tmp_path)


def test_real_matek19_annotations(shared_dir: Path):
    listing = read_source(shared_dir / "data" / "matek19" / "annotations.dat")
    assert len(listing) == 18365 and len(listing.class_names) == 15
    counts = np.bincount([item.label for item in listing.items])
    assert dict(zip(listing.class_names, counts.tolist(), strict=True))["NGS"] == 8484
    assert listing.items[0].relpath == "BAS/BAS_0001.tiff"
    reannotated = read_source(shared_dir / "data" / "matek19", labels="reannotation")
    assert reannotated.n_dropped == 63 and len(reannotated) == 18365 - 63


# ------------------------------------------------------------------------ sources
def test_source_errors_name_the_problem(tmp_path: Path, good_tree: Path):
    with pytest.raises(FileNotFoundError):
        read_source(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no class folders"):
        read_source(tmp_path / "empty")
    with pytest.raises(SourceError, match="Matek-19"):
        read_source(good_tree, labels="reannotation")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("file,class\na.png,x\n", encoding="utf-8")
    with pytest.raises(SourceError, match="'path' and 'label'"):
        read_source(bad_csv)
    dup_csv = tmp_path / "dup.csv"
    dup_csv.write_text("path,label\na.png,x\n./a.png,y\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"line 3: path 'a\.png' is listed again"):
        read_source(dup_csv)


def test_numeric_csv_labels_sort_numerically(tmp_path: Path):
    csv_path = tmp_path / "n.csv"
    csv_path.write_text("path,label\na.png,10\nb.png,2\nc.png,1\n", encoding="utf-8")
    listing = read_source(csv_path)
    assert listing.class_names == ("1", "2", "10")
    assert [item.label for item in listing.items] == [2, 1, 0]


# ---------------------------------------------------------------------- real data
def test_pbc_subset(shared_dir: Path, tmp_path: Path):
    pbc = shared_dir / "data" / "pbc"
    lines = ["path,label"]
    for folder in sorted(p for p in pbc.iterdir() if p.is_dir()):
        for image in sorted(folder.glob("*.jpg"))[:10]:
            lines.append(f"{image},{folder.name}")
    csv_path = tmp_path / "pbc.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cache = tmp_path / "pbc.h5"
    report = rawspace.cache.build(csv_path, cache, size=96, fit="resize", layout="packed")
    assert report.built == 80 and report.failed == 0
    reader = rawspace.cache.open(cache)
    assert len(reader.class_names) == 8 and "basophil" in reader.class_names
    assert np.bincount(reader.labels).tolist() == [10] * 8
    assert np.bincount(reader.test.labels, minlength=8).tolist() == [1] * 8
    assert reader[0].raw.shape == (48, 48, 4) and reader[0].rgb.shape == (96, 96, 3)
    for i in (0, 39, 79):
        np.testing.assert_array_equal(
            rawspace.invert(reader[i].rgb, **reader.invert_args(i)).data, reader[i].raw
        )


# ------------------------------------------------------------------- reliability
def test_folder_links_list_each_image_once_in_one_class(good_tree, tmp_path):
    """A class folder holding ``loop -> ..`` (and a link to another class) used to list
    the whole tree again under that class: images twice, in two classes, in both splits."""
    root = tmp_path / "src"
    for c in CLASSES:
        for i in range(3):
            (root / c).mkdir(parents=True, exist_ok=True)
            (root / c / f"{i}.png").symlink_to(good_tree / c / f"{c}_{i:02d}.png")
    (root / "alpha" / "loop").symlink_to("..")
    (root / "beta" / "to_gamma").symlink_to("../gamma")
    source = read_source(root)
    assert len(source) == 9 and len({item.relpath for item in source.items}) == 9
    report = rawspace.cache.build(root, tmp_path / "c.h5", size=SIZE, test_fraction=0.3, folds=0)
    assert report.built == 9 and report.failed == 0
    reader = rawspace.cache.open(tmp_path / "c.h5")
    targets = [os.path.realpath(root / path) for path in reader.paths]
    assert len(set(targets)) == 9  # no image twice, so none in two classes or two splits
    for path, label in zip(reader.paths, reader.labels, strict=True):
        assert path.split("/")[0] == CLASSES[label]


@pytest.mark.parametrize("victim", ["csv", "image", "camera", "inside"])
def test_build_never_writes_onto_or_into_an_input(group_csv, tmp_path, victim):
    folder = group_csv.parent
    camera = tmp_path / "camera.json"
    camera.write_text(rawspace.CameraParams.sample(3).to_json())
    cache = {
        "csv": group_csv,
        "image": folder / "images/p0/img_00.png",
        "camera": camera,
        "inside": None,
    }[victim]
    source = group_csv
    if victim == "inside":  # a class-folder source: its folder is an input
        source, cache = folder / "images", folder / "images" / "c.h5"
    before = {p: p.read_bytes() for p in (group_csv, camera, folder / "images/p0/img_00.png")}
    with pytest.raises(OutputError, match=r"is the input|inside the input folder"):
        rawspace.cache.build(source, cache, size=SIZE, camera=camera, overwrite=True)
    assert {p: p.read_bytes() for p in before} == before
    assert not Path(f"{cache}.partial").exists() and not Path(f"{cache}.lock").exists()


def test_a_second_build_of_one_cache_is_refused(good_tree, tmp_path, monkeypatch):
    reference = tmp_path / "reference.h5"
    rawspace.cache.build(good_tree, reference, size=SIZE)
    cache = tmp_path / "cache.h5"
    partial = Path(f"{cache}.partial")
    convert = workers.Converter.convert
    seen = {}

    def meanwhile(self, task):
        if task[0] == 5:  # the first build is halfway: start others
            for overwrite in (False, True):
                with pytest.raises(CacheError, match=r"in progress .*not starting another"):
                    rawspace.cache.build(good_tree, cache, size=SIZE, overwrite=overwrite)
            with pytest.raises(CacheError, match="in progress"):
                rawspace.cache.merge(cache, [reference], overwrite=True)
            seen["other process"] = subprocess.run(
                [sys.executable, "-m", "rawspace", "build", str(good_tree), str(cache),
                 "--size", str(SIZE), "--overwrite", "-q"],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            for path in (cache, partial):
                with pytest.raises(CacheError, match=r"a build of .*cache\.h5 is in progress"):
                    rawspace.cache.open(path)
            assert partial.exists()
        return convert(self, task)

    monkeypatch.setattr(workers.Converter, "convert", meanwhile)
    rawspace.cache.build(good_tree, cache, size=SIZE)
    other = seen["other process"]
    assert other.returncode == 2 and "in progress" in other.stderr, other.stderr
    assert_same_cache(reference, cache)  # the first build's own, complete file
    assert not partial.exists() and not Path(f"{cache}.lock").exists()


def test_names_that_are_not_utf8_are_stored_as_their_bytes(good_tree, tmp_path):
    root = tmp_path / "src"
    names = [b"alpha/caf\xe9.png", b"b\xeata/\xff\xfe.png", b"b\xeata/ok.png"]
    try:
        for name in names:
            target = root / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(good_tree / "alpha" / "alpha_00.png")
    except OSError:
        pytest.skip("the file system refuses names that are not UTF-8")
    (root / os.fsdecode(b"b\xeata/bad\xff.png")).write_text("not an image")
    for shard in (None, "1/2", "2/2"):
        out = tmp_path / f"c{shard or ''}.h5".replace("/", "of")
        rawspace.cache.build(root, out, size=SIZE, shard=shard, folds=0, test_fraction=0.3)
    reader = rawspace.cache.open(tmp_path / "c.h5")
    assert sorted(os.fsencode(p) for p in reader.paths) == sorted(names)
    assert all((root / path).exists() for path in reader.paths)
    assert reader.class_names == ("alpha", os.fsdecode(b"b\xeata"))
    assert reader.fingerprint()
    with h5py.File(tmp_path / "c.h5", "r") as f:
        assert b"caf\xe9.png" in b"".join(f["path"][:])
        assert f["failures"]["path"][0] == b"b\xeata/bad\xff.png"
    listed = (tmp_path / "c.h5.failures.csv").read_bytes()
    assert b"b\xeata/bad\xff.png,b\xeata,not an image" in listed
    merged = rawspace.cache.merge(tmp_path / "m.h5", [tmp_path / "c1of2.h5", tmp_path / "c2of2.h5"])
    assert sorted(rawspace.cache.open(merged.cache).paths) == sorted(reader.paths)
    assert "alpha" in rawspace.cache.summary(tmp_path / "m.h5")


_DISK_FULL = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]),) * 2)
from rawspace.cache import write
write.CHECKPOINT_EVERY, write.RESERVE_BYTES = 4, 16384
from rawspace.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="no file-size limits here")
@pytest.mark.parametrize(("compression", "share"), [("none", 0.96), ("lzf", 0.5)])
def test_a_full_disk_stops_the_build_and_resume_finishes_it(
    good_tree, tmp_path, compression, share
):
    # Uncompressed images have their place in the file from the start (written there by
    # the workers), so the limit must lie beyond them to stop the build halfway.
    options = ["--size", str(SIZE), "--camera-per", "image", "--compression", compression, "-q"]
    reference = tmp_path / "reference.h5"
    rawspace.cli.main(["build", str(good_tree), str(reference), *options])
    cache = tmp_path / "cache.h5"
    limit = int(reference.stat().st_size * share)
    argv = [sys.executable, "-c", _DISK_FULL, str(limit), "build", str(good_tree), str(cache)]
    full = subprocess.run([*argv, *options], capture_output=True, text=True, timeout=300)
    assert full.returncode == 3, full.stderr
    assert full.stderr.count("\n") == 1 and "Traceback" not in full.stderr
    assert "cannot write" in full.stderr and "File too large" in full.stderr
    assert "--resume" in full.stderr
    with h5py.File(f"{cache}.partial", "r") as f:  # not lost: readable, with progress
        assert 0 < f.attrs["n_processed"] < 18
    assert rawspace.cli.main(["build", str(good_tree), str(cache), *options, "--resume"]) == 0
    assert_same_cache(reference, cache)


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="no file-size limits here")
def test_a_limit_below_the_uncompressed_images_stops_the_build_at_once(good_tree, tmp_path):
    options = ["--size", str(SIZE), "-q"]
    reference = tmp_path / "reference.h5"
    rawspace.cli.main(["build", str(good_tree), str(reference), *options])
    cache = tmp_path / "cache.h5"
    limit = reference.stat().st_size // 2
    argv = [sys.executable, "-c", _DISK_FULL, str(limit), "build", str(good_tree), str(cache)]
    full = subprocess.run([*argv, *options], capture_output=True, text=True, timeout=300)
    assert full.returncode == 3 and "File too large; nothing was kept" in full.stderr
    assert not Path(f"{cache}.partial").exists() and not cache.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fallocate(2)")
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_disk_without_room_for_the_images_stops_the_build_before_converting(
    good_tree, tmp_path, monkeypatch, jobs
):
    """The space of uncompressed images is allocated before any is converted; a disk
    that cannot hold them stops the build there, with its partial file to resume."""
    import ctypes
    import errno

    import rawspace.files

    real = rawspace.files._fallocate
    asked: list[int] = []

    def full_for_images(fd: int, mode: int, offset: int, length: int) -> int:
        if length == cache_write.RESERVE_BYTES:  # a checkpoint's reserve fits
            return real(fd, mode, offset, length)
        asked.append(length)
        ctypes.set_errno(errno.ENOSPC)
        return -1

    options = {"size": SIZE, "camera_per": "image", "compression": "none"}
    reference = tmp_path / "reference.h5"
    rawspace.cache.build(good_tree, reference, **options)
    cache = tmp_path / "cache.h5"
    monkeypatch.setattr(rawspace.files, "_fallocate", full_for_images)
    with pytest.raises(WriteError, match=r"cache\.h5\.partial: No space left on device"):
        rawspace.cache.build(good_tree, cache, jobs=jobs, **options)
    assert len(asked) == 1 and asked[0] % (SIZE * SIZE * 2) == 0  # raw chunks; then it stops
    with h5py.File(f"{cache}.partial", "r") as f:
        assert f.attrs["n_processed"] == 0  # stopped before converting
    monkeypatch.setattr(rawspace.files, "_fallocate", real)
    rawspace.cache.build(good_tree, cache, resume=True, **options)
    assert_same_cache(reference, cache)


def test_unreadable_class_folders_are_listed_failures(good_tree, tmp_path, make_unreadable):
    root = tmp_path / "src"
    for c in CLASSES:
        (root / c / "sub").mkdir(parents=True)
        for i in range(3):
            (root / c / f"{i}.png").symlink_to(good_tree / c / f"{c}_{i:02d}.png")
        (root / c / "sub" / "x.png").symlink_to(good_tree / c / f"{c}_04.png")
    make_unreadable(root / "beta")
    make_unreadable(root / "gamma" / "sub")
    source = read_source(root)
    assert source.unreadable == (("beta", "Permission denied"), ("gamma/sub", "Permission denied"))
    assert source.class_names == CLASSES and len(source) == 7
    expected = [
        ("beta", "beta", "folder cannot be read: Permission denied"),
        ("gamma/sub", "gamma", "folder cannot be read: Permission denied"),
    ]
    report = rawspace.cache.build(root, tmp_path / "c.h5", size=SIZE, folds=0)
    assert report.built == 7 and report.failures == expected
    assert "beta,beta,folder cannot be read" in (tmp_path / "c.h5.failures.csv").read_text()
    with h5py.File(tmp_path / "c.h5", "r") as f:
        assert f.attrs["n_failed"] == 2 and list(f["failures"]["source_index"]) == [-1, -1]
    for k in (1, 2):  # every shard lists them; the merge keeps each once
        rawspace.cache.build(root, tmp_path / f"s{k}.h5", size=SIZE, folds=0, shard=f"{k}/2")
    merged = rawspace.cache.merge(tmp_path / "m.h5", [tmp_path / "s1.h5", tmp_path / "s2.h5"])
    assert merged.failures == expected


def test_build_into_a_read_only_folder_is_a_write_error(good_tree, read_only_folder):
    with pytest.raises(WriteError, match=r"cannot write .*c\.h5\.lock: Permission denied"):
        rawspace.cache.build(good_tree, read_only_folder / "c.h5", size=SIZE)


def test_negative_seed_is_refused(good_tree, tmp_path):
    with pytest.raises(CacheError, match="seed must be a non-negative integer, got -5"):
        rawspace.cache.build(good_tree, tmp_path / "c.h5", size=SIZE, seed=-5)
    assert not list(tmp_path.iterdir())
