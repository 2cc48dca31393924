"""A tiny HDF5 cache in the fixed rawspace layout, written with h5py (no builder needed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

BLACK, WHITE = 64, 1023
CLASSES = ("BAS", "EOS", "LYT")
_SITES = ((0, 0), (0, 1), (1, 0), (1, 1))


def write_cache(
    path: Path,
    *,
    layout: str = "bayer",
    rgb: bool = True,
    per_class: int = 8,
    size: int = 32,
    folds: int = 2,
    test_per_class: int = 2,
    empty_test_class: bool = False,
    seed: int = 0,
) -> Path:
    """Write a cache of ``len(CLASSES) × per_class`` images of ``size×size`` at ``path``.

    Each class has its own tint, so a model can learn something; raw data is the RGB
    gamma-expanded (2.2), scaled to [BLACK, WHITE] and stored in ``layout`` (RGGB).
    Per class, ``test_per_class`` images are test (split 1, fold −1), the others train,
    dealt round-robin over ``folds`` folds.
    """
    rng = np.random.default_rng(seed)
    n = len(CLASSES) * per_class
    labels = np.repeat(np.arange(len(CLASSES)), per_class)
    tints = np.array([[0.9, 0.4, 0.5], [0.5, 0.8, 0.4], [0.4, 0.5, 0.9]])
    base = rng.uniform(0.2, 0.8, size=(n, size, size, 1))
    images = np.clip(
        base * tints[labels][:, None, None, :] + rng.normal(0, 0.05, (n, size, size, 3)), 0, 1
    )
    rgb_u8 = np.round(images * 255).astype(np.uint8)
    linear = BLACK + np.round(images**2.2 * (WHITE - BLACK)).astype(np.uint16)
    mosaic = np.empty((n, size, size), dtype=np.uint16)
    for (i, j), c in zip(_SITES, (0, 1, 1, 2), strict=True):
        mosaic[:, i::2, j::2] = linear[:, i::2, j::2, c]
    raw = {
        "bayer": mosaic,
        "packed": np.stack([mosaic[:, i::2, j::2] for i, j in _SITES], axis=-1),
        "linear": linear,
    }[layout]
    split = np.zeros(n, dtype=np.int8)
    fold = np.full(n, -1, dtype=np.int8)
    for k in range(len(CLASSES)):
        members = np.flatnonzero(labels == k)
        n_test = 0 if (empty_test_class and k == len(CLASSES) - 1) else test_per_class
        split[members[:n_test]] = 1
        fold[members[n_test:]] = np.arange(members.size - n_test) % max(folds, 1)
    with h5py.File(path, "w") as handle:
        handle["raw"] = raw
        if rgb:
            handle["rgb"] = rgb_u8
        handle["label"] = labels.astype(np.int64)
        handle["path"] = np.array(
            [f"{CLASSES[k]}/{i}.tiff" for i, k in enumerate(labels)], dtype="S"
        )
        handle["params"] = np.zeros((n, 4), dtype=np.float32)
        handle["split"] = split
        handle["fold"] = fold
        handle.attrs["class_names"] = list(CLASSES)
        handle.attrs["layout"] = layout
        handle.attrs["cfa"] = "RGGB"
        handle.attrs["black_level"] = BLACK
        handle.attrs["white_level"] = WHITE
        handle.attrs["seed"] = seed
        handle.attrs["camera_policy"] = "dataset"
        handle.attrs["config"] = json.dumps({"size": size})
    return path


@pytest.fixture
def make_cache(tmp_path: Path) -> Callable[..., Path]:
    """``make_cache(name="cache.h5", **options)`` writes a tiny cache into ``tmp_path``."""

    def make(name: str = "cache.h5", **options: object) -> Path:
        return write_cache(tmp_path / name, **options)

    return make
