"""rawspace.cache.BuildOptions: one frozen, validated record of a build's options; the
modules of rawspace.cache are not shadowed by its functions."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from pathlib import Path

import h5py
import numpy as np
import pytest

import rawspace.cache
from rawspace import CameraParams
from rawspace.cache import BuildOptions, CacheError


def test_the_modules_are_not_shadowed_by_the_functions():
    for module, function in (("building", "build"), ("merging", "merge"), ("reader", "open")):
        assert inspect.ismodule(importlib.import_module(f"rawspace.cache.{module}"))
        assert inspect.isfunction(getattr(rawspace.cache, function))
    for name in ("build", "merge"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"rawspace.cache.{name}")


def test_build_takes_options_and_keyword_overrides():
    parameters = inspect.signature(rawspace.cache.build).parameters
    assert list(parameters) == ["source", "cache", "options", "overrides"]
    assert {f.name for f in dataclasses.fields(BuildOptions)} >= {
        "layout", "camera", "size", "folds", "jobs", "resume", "shard", "page",
    }  # fmt: skip


def test_options_are_frozen_and_normalised():
    options = BuildOptions(size=np.int64(64), folds=0, test_fraction=0, shard="2/3")
    assert (options.size, options.folds, options.test_fraction, options.shard) == (
        64,
        0,
        0.0,
        (2, 3),
    )
    assert type(options.size) is int and type(options.test_fraction) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.size = 32  # type: ignore[misc]
    assert BuildOptions.of(options, jobs=2) == dataclasses.replace(options, jobs=2)
    assert BuildOptions.of(None) == BuildOptions()
    assert BuildOptions(camera=CameraParams.sample(1)).camera == CameraParams.sample(1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("layout", "hex", "layout must be one of ('bayer', 'packed', 'linear'), got 'hex'"),
        ("size", 31, "size must be even, got 31"),
        ("size", 8, "size must be >= 16, got 8"),
        ("size", 32.0, "size must be an integer, got 32.0"),
        ("folds", 1, "folds must be 0 (no folds) or at least 2, got 1"),
        ("folds", 200, "folds must be between 0 and 127, got 200"),
        ("test_fraction", 1.0, "test_fraction must be in [0, 1), got 1.0"),
        ("jobs", 0, "jobs must be >= 1, got 0"),
        ("jobs", True, "jobs must be an integer, got True"),
        ("seed", -1, "seed must be a non-negative integer, got -1"),
        ("page", -2, "page must be >= 0, got -2"),
        ("rgb", "yes", "rgb must be True or False, got 'yes'"),
        ("noise", "gauss", "noise must be one of (None, 'brooks'"),
        ("labels", "best", "labels must be one of (None, 'original', 'reannotation')"),
        ("shard", (3, 2), "shard number K must be between 1 and 2, got 3"),
        ("camera", 5, "camera must be CameraParams, a path or None, got int"),
    ],
)
def test_an_invalid_option_names_the_field_and_the_value(field, value, message):
    with pytest.raises(CacheError) as info:
        BuildOptions(**{field: value})
    assert message in str(info.value)
    with pytest.raises(CacheError) as again:  # the same through build's overrides
        rawspace.cache.build("nowhere", "c.h5", **{field: value})
    assert message in str(again.value)


def test_an_unknown_override_is_named(tmp_path):
    with pytest.raises(CacheError, match=r"unknown build option\(s\) colour"):
        rawspace.cache.build(tmp_path, tmp_path / "c.h5", colour="red")
    with pytest.raises(CacheError, match="options must be BuildOptions or None, got dict"):
        rawspace.cache.build(tmp_path, tmp_path / "c.h5", {"size": 32})  # type: ignore[arg-type]


def test_options_and_keywords_build_the_same_cache(tmp_path, sample_images):
    import cv2

    src = tmp_path / "src"
    for c in ("a", "b"):
        for i in range(3):
            path = src / c / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            crop = sample_images["coffee"][20 * i : 20 * i + 24, 30 * (c == "b") :][:, :24]
            cv2.imwrite(str(path), np.ascontiguousarray(crop[:, :, ::-1]))
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    rawspace.cache.build(src, one, size=16, folds=0, layout="packed", seed=3)
    rawspace.cache.build(src, two, BuildOptions(size=16, folds=2, layout="packed"), seed=3, folds=0)
    with h5py.File(one, "r") as a, h5py.File(two, "r") as b:
        for name in ("raw", "rgb", "label", "digest"):
            assert np.array_equal(a[name][...], b[name][...]), name
        assert a.attrs["config"] == b.attrs["config"]
    assert Path(one).exists()
