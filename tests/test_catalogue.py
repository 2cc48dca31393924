"""The camera catalogue: LibRaw's numbers, the held-out split and sampling real cameras."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from rawspace import CameraParams
from rawspace.catalogue import (
    HELD_OUT_FRACTION,
    Camera,
    catalogue,
    find_camera,
    format_catalogue,
    held_out_cameras,
    select_cameras,
    training_cameras,
)
from rawspace.params import RGB2XYZ, daylight_gains

# Three rows of LibRaw's src/tables/colordata.cpp (commit e419de08), copied literally:
#   { LIBRAW_CAMERAMAKER_Canon, "EOS 5D Mark III", 0, 0x3c80,
#     { 6722,-635,-963,-4287,12460,2028,-908,2162,5668 } },
#   { LIBRAW_CAMERAMAKER_Nikon, "D850", 0, 0,
#     { 10405,-3755,-1270,-5461,13787,1793,-1040,2015,6785 } },
#   { LIBRAW_CAMERAMAKER_Sony, "ILCE-7RM3", 0, 0,
#     { 6640,-1847,-503,-5238,13010,2474,-993,1673,6527 } },
LIBRAW_ROWS = [
    (
        "Canon",
        "EOS 5D Mark III",
        0,
        0x3C80,
        (6722, -635, -963, -4287, 12460, 2028, -908, 2162, 5668),
    ),
    ("Nikon", "D850", 0, 0, (10405, -3755, -1270, -5461, 13787, 1793, -1040, 2015, 6785)),
    ("Sony", "ILCE-7RM3", 0, 0, (6640, -1847, -503, -5238, 13010, 2474, -993, 1673, 6527)),
]


@pytest.mark.parametrize(("maker", "model", "black", "maximum", "matrix"), LIBRAW_ROWS)
def test_entries_match_libraw_table(maker, model, black, maximum, matrix):
    camera = find_camera(f"{maker} {model}")
    assert (camera.maker, camera.model, camera.black, camera.maximum) == (
        maker,
        model,
        black,
        maximum,
    )
    assert camera.matrix == matrix
    np.testing.assert_array_equal(camera.xyz2cam, np.array(matrix).reshape(3, 3) / 10000)
    assert camera.source == "Adobe"


def test_catalogue_holds_hundreds_of_distinct_bayer_cameras():
    cameras = catalogue()
    assert len(cameras) >= 300
    assert len({c.name for c in cameras}) == len(cameras)
    assert len({c.matrix for c in cameras}) == len(cameras)  # one row per distinct matrix
    assert all(len(c.matrix) == 9 for c in cameras)
    assert not {"Sigma", "Polaroid"} & {c.maker for c in cameras}  # Foveon
    fuji = {c.model for c in cameras if c.maker == "Fujifilm"}
    assert "X-T3" not in fuji and "X-Pro2" not in fuji and "GFX 100" in fuji  # X-Trans out
    # Every camera is usable: a valid CameraParams with its own daylight white balance.
    for camera in cameras:
        red, blue = daylight_gains(camera.xyz2cam)
        CameraParams.from_xyz2cam(camera.xyz2cam, rgb_gain=1, red_gain=red, blue_gain=blue)
    assert catalogue() is catalogue()  # read once


def test_split_is_the_documented_hash_and_disjoint():
    training, held = training_cameras(), held_out_cameras()
    assert len(training) + len(held) == len(catalogue())
    assert {c.name for c in training}.isdisjoint(c.name for c in held)
    assert {c.matrix for c in training}.isdisjoint(c.matrix for c in held)
    for camera in catalogue():
        digest = hashlib.blake2b(
            f"{camera.maker}\0{camera.model}".encode(), digest_size=8, person=b"rawspace.split"
        ).digest()
        want = int.from_bytes(digest, "little") / 2**64 < HELD_OUT_FRACTION
        assert (camera.part == "held-out") == want
    assert 0.15 < len(held) / len(catalogue()) < 0.25


def _camera_names(params: CameraParams) -> set[str]:
    """The catalogue cameras in a sampled camera's name (``"w A + v B"`` for a mix)."""
    if " + " not in params.name:
        return {params.name}
    return {part.split(" ", 1)[1] for part in params.name.split(" + ")}


def test_no_held_out_camera_in_any_training_pool():
    held = {c.name for c in held_out_cameras()}
    seen = set()
    for seed in range(300):
        for mix in (False, True):
            params = CameraParams.sample(
                seed, matrices="catalogue", include=training_cameras(), mix=mix
            )
            seen |= _camera_names(params)
    assert seen and seen.isdisjoint(held)
    assert seen <= {c.name for c in training_cameras()}


def test_catalogue_sample_is_the_camera_matrix_with_brooks_gains():
    params = CameraParams.sample(5, matrices="catalogue", include=["Nikon D850"])
    assert params.name == "Nikon D850"
    camera = find_camera("Nikon D850")
    want = camera.xyz2cam @ RGB2XYZ
    np.testing.assert_allclose(params.rgb2cam, want / want.sum(axis=1, keepdims=True))
    rng = np.random.default_rng(5)
    rng.integers(1)  # the camera's index in a pool of one
    assert params.rgb_gain == 1.0 / rng.normal(0.8, 0.1)
    assert params.red_gain == rng.uniform(1.9, 2.4)
    assert params.blue_gain == rng.uniform(1.5, 1.9)


def test_daylight_gains_and_mixes():
    params = CameraParams.sample(2, matrices="catalogue", include=["Canon"], gains="daylight")
    camera = find_camera(params.name)
    white = (camera.xyz2cam @ RGB2XYZ).sum(axis=1)
    assert params.red_gain == pytest.approx(white[1] / white[0], rel=1e-12)
    assert params.blue_gain == pytest.approx(white[1] / white[2], rel=1e-12)
    makers = set()
    for seed in range(20):
        mixed = CameraParams.sample(seed, matrices="catalogue", include=["Sony"], mix=True)
        parts = mixed.name.split(" + ")
        assert len(parts) == 2
        weights = [float(p.split(" ", 1)[0]) for p in parts]
        assert sum(weights) == pytest.approx(1.0, abs=2e-3)
        makers |= {p.split(" ", 2)[1] for p in parts}
    assert makers == {"Sony"}


def test_brooks_draws_unchanged_and_options_checked():
    assert CameraParams.sample(0).name is None
    assert "name" not in CameraParams.sample(0).to_dict()
    with pytest.raises(ValueError, match="matrices='catalogue'"):
        CameraParams.sample(0, include=["Canon"])
    with pytest.raises(ValueError, match="matrices must be"):
        CameraParams.sample(0, matrices="adobe")
    with pytest.raises(ValueError, match="gains must be"):
        CameraParams.sample(0, gains="auto")
    with pytest.raises(ValueError, match="no camera is left"):
        CameraParams.sample(0, matrices="catalogue", include=["Nikon"], exclude=["Nikon"])
    with pytest.raises(KeyError, match="did you mean"):
        select_cameras(["Nikon D8500"])
    with pytest.raises(TypeError, match="iterable"):
        select_cameras("Nikon")


def test_format_catalogue_lists_every_camera():
    text = format_catalogue()
    assert text.count("\n") == len(catalogue()) + 2
    assert "Nikon D850" in text and "LibRaw" in text
    assert isinstance(catalogue()[0], Camera)
