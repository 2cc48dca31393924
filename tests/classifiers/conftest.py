"""A tiny cache, built from generated PNG cells with the real builder (rawspace.cache.build)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import rawspace.cache
from rawspace import CameraParams
from rawspace.images import write_png

BLACK, WHITE = 64, 1023
CLASSES = ("BAS", "EOS", "LYT")
#: A camera whose raw values are the gamma-expanded (2.2) RGB, scaled to [BLACK, WHITE].
CAMERA = CameraParams(
    rgb2cam=np.eye(3),
    rgb_gain=1.0,
    red_gain=1.0,
    blue_gain=1.0,
    black_level=BLACK,
    white_level=WHITE,
    tone="none",
)


def write_images(folder: Path, *, per_class: int, size: int, seed: int, last: int) -> Path:
    """``per_class`` PNGs of ``size×size`` per class (``last`` for the last class) into
    ``folder/CLASS/NNN.png``; each class has its own tint, so a model can learn something."""
    rng = np.random.default_rng(seed)
    tints = np.array([[0.9, 0.4, 0.5], [0.5, 0.8, 0.4], [0.4, 0.5, 0.9]])
    for k, name in enumerate(CLASSES):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(last if k == len(CLASSES) - 1 else per_class):
            base = rng.uniform(0.2, 0.8, size=(size, size, 1))
            image = np.clip(base * tints[k] + rng.normal(0, 0.05, (size, size, 3)), 0, 1)
            write_png(folder / name / f"{i:03d}.png", np.round(image * 255).astype(np.uint8))
    return folder


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
    """Build a cache of ``len(CLASSES) × per_class`` images of ``size×size`` at ``path``.

    Per class, ``test_per_class`` images are test and the others are dealt over ``folds``
    folds (``assign_splits`` with ``test_fraction = test_per_class / per_class``). With
    ``empty_test_class`` the last class has a single image, which stays in training.
    """
    images = write_images(
        path.with_name(f"{path.stem}-images"),
        per_class=per_class,
        size=size,
        seed=seed,
        last=1 if empty_test_class else per_class,
    )
    rawspace.cache.build(
        images,
        path,
        layout=layout,
        camera=CAMERA,
        seed=seed,
        size=size,
        test_fraction=test_per_class / per_class,
        folds=folds,
        rgb=rgb,
    )
    return path


@pytest.fixture
def make_cache(tmp_path: Path) -> Callable[..., Path]:
    """``make_cache(name="cache.h5", **options)`` builds a tiny cache into ``tmp_path``."""

    def make(name: str = "cache.h5", **options: object) -> Path:
        return write_cache(tmp_path / name, **options)

    return make


def _tiny_create(name: str, *, num_classes: int, in_channels: int = 3, **options: object):
    """A four-filter network in place of any model of ``classifiers.models.create``."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(in_channels, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, num_classes),
    )


@pytest.fixture
def tiny_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``rawspace compare`` (in this process) train a tiny network for every model."""
    from classifiers import compare

    monkeypatch.setattr(compare.models, "create", _tiny_create)


@pytest.fixture
def run_compare() -> Callable[[list[str]], int]:
    """``run_compare(argv)`` runs ``rawspace compare ARGV`` in this process; its exit status."""
    import argparse

    from rawspace.cli import compare

    def run(argv: list[str]) -> int:
        parser = argparse.ArgumentParser()
        compare.register(parser.add_subparsers())
        args = parser.parse_args(["compare", *argv])
        return args.func(args)

    return run
