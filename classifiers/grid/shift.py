"""The cameras of a cell: the evaluation camera of the ``*_cam`` spaces and the unseen
cameras of the camera-shift test, on which every trained raw model is also tested.

Unseen cameras never come from the distribution the models were trained on: the
``*_cam`` spaces train on cameras of the camera catalogue's training part
(:data:`~classifiers.grid.plan.TRAINING_CAMERAS`), and ``--test-cameras K`` draws K
cameras of its held-out part (:func:`classifiers.unprocess.unseen_cameras`, split by
maker and model), from the stream ``stable_seed(train.seed, "test-cameras")`` (unrelated
to any training camera), so the k-th camera is the same in every run and process; their
count is bounded by :data:`MAX_TEST_CAMERAS`. Every test camera shares the cache's CFA,
levels and (unless ``test_camera_curves="own"``) tone and gamma curves, so that only the
camera changes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from rawspace import CameraParams
from rawspace.cache import CacheReader
from rawspace.cameras import load_camera, stable_seed

from .. import data, distributed, spaces, unprocess
from ..train import predict
from .config import CompareConfig, CompareError
from .plan import TRAINING_CAMERAS

__all__ = [
    "MAX_TEST_CAMERAS",
    "camera_schedule",
    "check_count",
    "predict_shifted",
    "test_cameras",
]

#: Most unseen cameras one comparison tests on (each costs one pass over the test split
#: per raw cell).
MAX_TEST_CAMERAS = 1000


def _cache_camera(reader: CacheReader, **fields: object) -> CameraParams:
    """A camera in the cache's raw format (CFA, levels, curves), drawn as Brooks et al."""
    attrs = reader.attrs
    options = {
        "cfa": reader.cfa,
        "black_level": reader.black_level,
        "white_level": reader.white_level,
        "tone": attrs["tone"],
        "gamma": attrs["gamma"],
    }
    return CameraParams.sample(**(options | fields))  # type: ignore[arg-type]


def _evaluation_camera(reader: CacheReader) -> CameraParams:
    """The camera that validation and test samples of the camera spaces are unprocessed
    with: the cache's own when all its samples share one; else one fixed camera drawn
    from the cache's seed."""
    if reader.attrs["n_cameras"] == 1:
        return reader.params(0)
    return _cache_camera(
        reader, seed_or_rng=stable_seed(int(reader.attrs["seed"]), "evaluation-camera")
    )


def camera_schedule(
    reader: CacheReader, train_rows: np.ndarray, seed: int, device: torch.device
) -> unprocess.CameraSchedule:
    """The per-epoch camera schedule of a ``*_cam`` cell: a pool of cameras of the
    catalogue's training part (its names in ``pool_cameras``)."""
    return unprocess.CameraSchedule.create(
        train_rows=train_rows, evaluation=_evaluation_camera(reader), seed=seed,
        source=TRAINING_CAMERAS, device=device,
    )  # fmt: skip


def check_count(count: int) -> None:
    """Refuse a count of test cameras that is negative or absurd, before any drawing."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise CompareError(f"--test-cameras must be an integer ≥ 0; got {count!r}")
    if count > MAX_TEST_CAMERAS:
        raise CompareError(
            f"--test-cameras must be at most {MAX_TEST_CAMERAS} (each is one more pass over "
            f"the test split for every raw cell); got {count}"
        )


def test_cameras(config: CompareConfig, reader: CacheReader) -> list[tuple[str, CameraParams]]:
    """The unseen cameras of the camera-shift test as (name, camera), each in the cache's
    CFA, levels and curves: ``config.test_cameras`` drawn from the catalogue's held-out
    part (named after their catalogue cameras), then those read from the given files
    (named by file, after the camera's own name when the file gives one; the file's own
    tone and gamma with ``test_camera_curves="own"``).
    Names are unique: a repeated one gets `` (2)``, `` (3)``, …"""
    check_count(config.test_cameras)
    like = _evaluation_camera(reader)
    drawn: tuple[CameraParams, ...] = ()
    if config.test_cameras:
        rng = np.random.default_rng(stable_seed(config.train.seed, "test-cameras"))
        drawn = unprocess.unseen_cameras(config.test_cameras, rng, like=like)
    found = [(str(camera.name), camera) for camera in drawn]
    own = config.test_camera_curves == "own"
    for path in config.test_camera_files:
        try:
            camera = load_camera(path)
        except (OSError, ValueError) as error:
            raise CompareError(f"--test-camera {path}: {error}") from error
        in_cache_format = dataclasses.replace(
            camera, cfa=reader.cfa, black_level=reader.black_level,
            white_level=reader.white_level, tone=camera.tone if own else like.tone,
            gamma=camera.gamma if own else like.gamma,
        )  # fmt: skip
        label = Path(path).name if camera.name is None else f"{camera.name} ({Path(path).name})"
        found.append((label, in_cache_format))
    return _unique(found)


def _unique(cameras: Sequence[tuple[str, CameraParams]]) -> list[tuple[str, CameraParams]]:
    seen: dict[str, int] = {}
    named = []
    for name, camera in cameras:
        seen[name] = seen.get(name, 0) + 1
        named.append((name if seen[name] == 1 else f"{name} ({seen[name]})", camera))
    return named


def _raw_rows(
    reader: CacheReader, rows: np.ndarray, *, camera: CameraParams, device: torch.device
) -> np.ndarray:
    """The cache's rgb images of ``rows`` inverted with ``camera`` (in the cache's raw
    format) into the cache's raw layout: what a cache built with that camera would hold,
    without noise, rounded to levels as :func:`rawspace.invert` rounds."""
    rgb = torch.from_numpy(reader.read("rgb", rows)).to(device).permute(0, 3, 1, 2)
    levels = unprocess.invert(rgb, camera, layout=reader.layout, scale="levels")
    array = levels.cpu().numpy().astype(np.uint16)
    if reader.layout == "bayer":
        return array[:, 0]
    return array.transpose(0, 2, 3, 1)  # (n, h, w, C): packed planes or camera RGB


def predict_shifted(
    model: torch.nn.Module,
    pipeline: spaces.InputPipeline,
    reader: CacheReader,
    test_rows: np.ndarray,
    cameras: Sequence[tuple[str, CameraParams]],
    *,
    config: CompareConfig,
    device: torch.device,
    group: distributed.Group,
    samples: data.ResidentSamples | data.StreamedSamples,
) -> np.ndarray:
    """Test probabilities (C, n, K) of ``model`` with each unseen camera."""
    found = []
    for _, camera in cameras:
        these: data.ResidentSamples | data.StreamedSamples
        if pipeline.space.camera:
            assert pipeline.cameras is not None
            shifted = dataclasses.replace(
                pipeline, cameras=pipeline.cameras.with_evaluation(camera)
            )
            these = samples
        else:
            shifted = pipeline
            these = data.ResidentSamples(
                reader,
                pipeline.space,
                rows=test_rows,
                device=device,
                input_size=config.input_size,
                read=functools.partial(_raw_rows, reader, camera=camera, device=device),
            )
        probabilities, _ = predict(
            model, these, shifted, test_rows, device=device,
            batch_size=config.train.batch_size, group=group,
        )  # fmt: skip
        found.append(probabilities)
    return np.stack(found)
