"""The ``camera`` dataset of a cache: each sample's camera name, written, merged, resumed
and read back; caches written before it existed still open."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py
import numpy as np
import pytest
from skimage import data

import rawspace.cache
from rawspace.cache.format import DESCRIPTIONS
from rawspace.cameras import CameraAssigner
from rawspace.catalogue import find_camera
from rawspace.images import write_png
from rawspace.params import CameraParams

SIZE = 16
CLASSES = ("alpha", "beta")
SEED = 3
CATALOGUE = {"size": SIZE, "folds": 0, "seed": SEED, "camera_per": "image", "cameras": "catalogue"}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Two classes of five 20x18 crops of scikit-image's coffee."""
    root = tmp_path_factory.mktemp("names") / "src"
    image = data.coffee()
    for c, name in enumerate(CLASSES):
        for i in range(5):
            y, x = 25 * i, 40 * c
            (root / name).mkdir(parents=True, exist_ok=True)
            write_png(root / name / f"{name}{i}.png", image[y : y + 20, x : x + 18])
    return root


@pytest.fixture(scope="module")
def catalogue_cache(source, tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("catalogue") / "c.h5"
    rawspace.cache.build(source, cache, **CATALOGUE)
    return cache


def _expected_names(paths: list[str]) -> list[str]:
    """The catalogue camera each image gets, drawn again without the cache."""
    assigner = CameraAssigner("image", seed=SEED, cameras="catalogue")
    return [assigner.params_for(path).name for path in paths]


def test_a_catalogue_build_stores_each_samples_camera_name(catalogue_cache: Path):
    reader = rawspace.cache.open(catalogue_cache)
    expected = _expected_names(reader.paths)
    assert len(reader) == 10 and all(expected)
    assert len(set(expected)) > 1  # per image: several cameras
    for name in expected:
        find_camera(name)  # a catalogue name
    assert reader.camera_names == expected
    assert [reader[i].params.name for i in range(len(reader))] == expected
    assert [reader.params(i).name for i in range(len(reader))] == expected
    assert [reader.invert_args(i)["params"].name for i in range(len(reader))] == expected
    assert reader.train.camera_names == [expected[i] for i in reader.train.rows]
    with h5py.File(catalogue_cache, "r") as f:
        assert f["camera"].asstr()[:].tolist() == expected
        assert f["camera"].attrs["description"] == DESCRIPTIONS["camera"]
        assert f.attrs["format_version"] == 2
    n_named = len(set(expected))
    assert f"distinct ({n_named} named);" in rawspace.cache.summary(catalogue_cache)


def test_the_same_record_with_another_name_is_another_camera(catalogue_cache, tmp_path):
    cache = tmp_path / "c.h5"
    cache.write_bytes(catalogue_cache.read_bytes())
    with h5py.File(cache, "r+") as f:
        f["params"][1] = f["params"][0]
        names = f["camera"].asstr()[:].tolist()
        names[1] = "Another camera"
        f["camera"][:] = names
    reader = rawspace.cache.open(cache)
    first, second = reader[0].params, reader[1].params
    np.testing.assert_array_equal(first.rgb2cam, second.rgb2cam)
    assert (first.name, second.name) == (names[0], "Another camera")


def test_a_brooks_build_stores_empty_names_read_as_none(source, tmp_path):
    cache = tmp_path / "brooks.h5"
    rawspace.cache.build(source, cache, size=SIZE, folds=0, camera_per="image")
    with h5py.File(cache, "r") as f:
        assert f["camera"].asstr()[:].tolist() == [""] * 10
    reader = rawspace.cache.open(cache)
    assert reader.camera_names == [None] * 10
    assert reader[0].params.name is None and reader.params(3).name is None
    assert "named" not in rawspace.cache.summary(cache)


def test_a_fixed_named_camera_is_stored_for_every_sample(source, tmp_path):
    camera = CameraParams.sample(7, matrices="catalogue")
    assert camera.name
    cache = tmp_path / "fixed.h5"
    rawspace.cache.build(source, cache, size=SIZE, folds=0, camera=camera)
    reader = rawspace.cache.open(cache)
    assert reader.camera_names == [camera.name] * 10
    assert reader[4].params.name == camera.name


@pytest.mark.parametrize("copy", [False, True])
def test_merge_keeps_the_names(source, catalogue_cache, tmp_path, copy):
    shards = [tmp_path / f"s{k}.h5" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        rawspace.cache.build(source, shard, shard=(k, 2), **CATALOGUE)
    merged = tmp_path / "merged.h5"
    rawspace.cache.merge(merged, shards[::-1], copy=copy)
    reader, full = rawspace.cache.open(merged), rawspace.cache.open(catalogue_cache)
    assert reader.paths == full.paths
    assert reader.camera_names == full.camera_names == _expected_names(full.paths)
    assert reader.fingerprint() == full.fingerprint()


def test_merge_of_shards_without_names_has_none(source, tmp_path):
    shards = [tmp_path / f"s{k}.h5" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        rawspace.cache.build(source, shard, shard=(k, 2), **CATALOGUE)
    with h5py.File(shards[0], "r+") as f:  # as written before names were stored
        del f["camera"]
    merged = tmp_path / "merged.h5"
    rawspace.cache.merge(merged, shards)
    with h5py.File(merged, "r") as f:
        assert "camera" not in f
    assert rawspace.cache.open(merged).camera_names == [None] * 10


def test_resume_keeps_the_names(source, catalogue_cache, tmp_path, interrupted_build):
    cache = tmp_path / "c.h5"
    interrupted_build(source, cache, after=6, **CATALOGUE)
    report = rawspace.cache.build(source, cache, resume=True, **CATALOGUE)
    assert report.resumed == 6 and report.built == 10
    reader, fresh = rawspace.cache.open(cache), rawspace.cache.open(catalogue_cache)
    assert reader.camera_names == fresh.camera_names == _expected_names(fresh.paths)
    assert reader.fingerprint() == fresh.fingerprint()


def test_a_cache_without_names_opens_and_reads_them_as_none(catalogue_cache, tmp_path):
    cache = tmp_path / "old.h5"
    cache.write_bytes(catalogue_cache.read_bytes())
    with h5py.File(cache, "r+") as f:  # as written before the dataset existed
        del f["camera"]
    reader = rawspace.cache.open(cache)
    full = rawspace.cache.open(catalogue_cache)
    assert reader.camera_names == [None] * 10
    assert reader[2].params.name is None
    assert reader[2].params == dataclasses.replace(full[2].params, name=None)
    np.testing.assert_array_equal(reader[2].raw, full[2].raw)
    assert reader.verify() == 10
    assert "named" not in rawspace.cache.summary(cache)
    # the names enter the fingerprint; without them it is the one of unnamed cameras
    assert reader.fingerprint() != full.fingerprint()


def test_unnamed_cameras_leave_the_fingerprint_as_before(source, tmp_path):
    cache = tmp_path / "brooks.h5"
    rawspace.cache.build(source, cache, size=SIZE, folds=0, camera_per="image")
    before = rawspace.cache.open(cache).fingerprint()
    with h5py.File(cache, "r+") as f:
        del f["camera"]
    assert rawspace.cache.open(cache).fingerprint() == before


def test_a_camera_name_that_is_not_text_is_refused(catalogue_cache, tmp_path):
    cache = tmp_path / "bad.h5"
    cache.write_bytes(catalogue_cache.read_bytes())
    with h5py.File(cache, "r+") as f:
        del f["camera"]
        f["camera"] = np.zeros(10, np.int64)
    with pytest.raises(rawspace.cache.CacheError, match="dataset 'camera': must hold strings"):
        rawspace.cache.open(cache)
