"""CameraParams: sampling as Brooks et al., derived matrices, validation, JSON round trip."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import rawspace
from rawspace import CameraParams
from rawspace.params import RGB2XYZ, XYZ2CAM_PRESETS


def brooks_sample(rng: np.random.Generator) -> dict:
    """The random camera of Brooks et al., drawn in the same order from the same generator."""
    weights = rng.uniform(1e-8, 1e8, size=4)
    xyz2cam = sum(w * m for w, m in zip(weights, XYZ2CAM_PRESETS, strict=True)) / weights.sum()
    rgb2cam = xyz2cam @ RGB2XYZ
    rgb2cam = rgb2cam / rgb2cam.sum(axis=-1, keepdims=True)
    rgb_gain = 1.0 / rng.normal(0.8, 0.1)
    red_gain = rng.uniform(1.9, 2.4)
    blue_gain = rng.uniform(1.5, 1.9)
    return {"rgb2cam": rgb2cam, "rgb": rgb_gain, "red": red_gain, "blue": blue_gain}


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_sample_draws_brooks_distributions_in_order(seed):
    params = CameraParams.sample(seed)
    want = brooks_sample(np.random.default_rng(seed))
    np.testing.assert_allclose(params.rgb2cam, want["rgb2cam"], rtol=1e-12, atol=1e-15)
    assert params.rgb_gain == pytest.approx(want["rgb"], rel=1e-15)
    assert params.red_gain == pytest.approx(want["red"], rel=1e-15)
    assert params.blue_gain == pytest.approx(want["blue"], rel=1e-15)


def test_sample_pins_reference_values():
    params = CameraParams.sample(0)
    assert params.rgb_gain == pytest.approx(1.3397048571, rel=1e-9)
    assert params.red_gain == pytest.approx(2.3564, abs=1e-4)
    assert params.blue_gain == pytest.approx(1.7427, abs=1e-4)
    np.testing.assert_allclose(params.rgb2cam[0], [0.72552916, 0.30355492, -0.02908407], atol=1e-8)


def test_sample_statistics():
    rng = np.random.default_rng(7)
    draws = [CameraParams.sample(rng) for _ in range(2000)]
    inverse_rgb = np.array([1 / p.rgb_gain for p in draws])
    red = np.array([p.red_gain for p in draws])
    blue = np.array([p.blue_gain for p in draws])
    assert inverse_rgb.mean() == pytest.approx(0.8, abs=0.01)
    assert inverse_rgb.std() == pytest.approx(0.1, abs=0.01)
    assert red.min() >= 1.9 and red.max() <= 2.4 and red.mean() == pytest.approx(2.15, abs=0.01)
    assert blue.min() >= 1.5 and blue.max() <= 1.9 and blue.mean() == pytest.approx(1.7, abs=0.01)


def test_sample_is_reproducible_and_accepts_generators():
    assert CameraParams.sample(3) == CameraParams.sample(3)
    assert CameraParams.sample(3) != CameraParams.sample(4)
    rng = np.random.default_rng(3)
    assert CameraParams.sample(rng) == CameraParams.sample(3)


def test_derived_matrices():
    params = CameraParams.sample(2)
    np.testing.assert_allclose(params.rgb2cam.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(params.rgb2cam @ params.cam2rgb, np.eye(3), atol=1e-12)
    # xyz2cam reproduces rgb2cam through the normalisation that raw developers apply
    product = params.xyz2cam @ RGB2XYZ
    np.testing.assert_allclose(product / product.sum(axis=1, keepdims=True), params.rgb2cam)
    np.testing.assert_allclose(params.cam2rgb @ np.ones(3), np.ones(3), atol=1e-12)
    np.testing.assert_allclose(
        params.wb_gains, np.array([params.red_gain, 1, params.blue_gain]) * params.rgb_gain
    )


def test_from_xyz2cam_normalises_rows():
    params = CameraParams.from_xyz2cam(
        XYZ2CAM_PRESETS[0] * 3.0, rgb_gain=1, red_gain=2, blue_gain=2
    )
    np.testing.assert_allclose(params.rgb2cam.sum(axis=1), 1.0)


def test_json_round_trip_is_exact():
    params = CameraParams.sample(5, cfa="GRBG", black_level=512, white_level=4095, gamma="srgb")
    text = params.to_json()
    assert json.loads(text)["cfa"] == "GRBG"
    again = CameraParams.from_json(text)
    assert again == params and hash(again) == hash(params)
    np.testing.assert_array_equal(again.rgb2cam, params.rgb2cam)
    assert CameraParams.from_dict(params.to_dict()) == params


def test_frozen_and_read_only():
    params = CameraParams.sample(0)
    with pytest.raises(AttributeError):
        params.rgb_gain = 2.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        params.rgb2cam[0, 0] = 1.0
    assert dataclasses.replace(params, cfa="BGGR").cfa == "BGGR"
    assert params.cfa == "RGGB"


def test_input_matrix_is_copied():
    matrix = np.eye(3)
    params = CameraParams(matrix, rgb_gain=1, red_gain=2, blue_gain=2)
    matrix[0, 0] = 5.0
    assert params.rgb2cam[0, 0] == 1.0


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"rgb2cam": np.ones((3, 3)) / 3}, ValueError, r"rgb2cam is singular"),
        ({"rgb2cam": np.eye(2)}, ValueError, r"shape \(3, 3\), got \(2, 2\)"),
        ({"rgb2cam": np.eye(3) * 2}, ValueError, r"rows must sum to 1.*from_xyz2cam"),
        ({"rgb2cam": np.full((3, 3), np.nan)}, ValueError, r"rgb2cam must be finite"),
        ({"rgb_gain": -1.0}, ValueError, r"rgb_gain must be in \[1e-06, 1e\+06\], got -1.0"),
        ({"red_gain": 0}, ValueError, r"red_gain must be in \[1e-06, 1e\+06\], got 0"),
        ({"blue_gain": float("inf")}, ValueError, r"blue_gain .* got inf"),
        ({"blue_gain": "2"}, TypeError, r"blue_gain must be a real number, got str"),
        ({"cfa": "RGBG"}, ValueError, r"cfa must be one of .* got 'RGBG'"),
        ({"tone": "filmic"}, ValueError, r"tone must be one of .* got 'filmic'"),
        ({"gamma": 2.2}, ValueError, r"gamma must be one of .* got 2.2"),
        ({"black_level": 20000}, ValueError, r"black_level=20000, white_level=16383"),
        ({"white_level": 70000}, ValueError, r"white_level=70000"),
        ({"black_level": 1.5}, ValueError, r"black_level must be an integer, got 1.5"),
    ],
)
def test_validation(changes, error, match):
    values = {"rgb2cam": np.eye(3), "rgb_gain": 1.0, "red_gain": 2.0, "blue_gain": 1.5}
    values.update(changes)
    with pytest.raises(error, match=match):
        CameraParams(**values)


def test_from_dict_rejects_unknown_and_missing_fields():
    values = CameraParams.sample(0).to_dict()
    with pytest.raises(ValueError, match=r"unknown CameraParams fields: \['iso'\]"):
        CameraParams.from_dict({**values, "iso": 100})
    del values["rgb_gain"]
    with pytest.raises(ValueError, match=r"missing CameraParams fields: \['rgb_gain'\]"):
        CameraParams.from_dict(values)


def test_seed_errors():
    with pytest.raises(TypeError, match=r"seed must be an int.*got str"):
        CameraParams.sample("0")
    with pytest.raises(ValueError, match=r"non-negative integer, got -3"):
        CameraParams.sample(-3)


@pytest.mark.parametrize(
    ("gains", "match"),
    [
        ({"rgb_gain": 2e3, "red_gain": 1e3}, r"red_gain must be in .* got 2000000.0 \(rgb_gain="),
        ({"rgb_gain": 1e-4, "blue_gain": 1e-4}, r"rgb_gain \* blue_gain must be in .* got 1e-08"),
        ({"rgb_gain": 1e300, "red_gain": 1e10}, r"rgb_gain must be in"),  # inf once multiplied
        ({"red_gain": 1e-7}, r"red_gain must be in \[1e-06, 1e\+06\], got 1e-07"),
        ({"rgb_gain": float("nan")}, r"rgb_gain must be in .* got nan"),
    ],
)
def test_effective_gains_must_stay_in_the_kernels_range(gains, match):
    """Each gain and each product the kernels apply are checked (an infinite product
    used to invert to an all-zero raw image and crash develop)."""
    values = {"rgb2cam": np.eye(3), "rgb_gain": 1.0, "red_gain": 2.0, "blue_gain": 1.5}
    with pytest.raises(ValueError, match=match):
        CameraParams(**{**values, **gains})


def test_extreme_gains_in_range_invert_and_develop(ihc):
    for gains in ((1e-6, 1e6, 1.0), (1e6, 1e-6, 1e-6), (1.0, 1e-6, 1e6)):
        camera = CameraParams(np.eye(3), *gains)
        raw = rawspace.invert(ihc, camera)
        assert rawspace.develop(raw).shape == ihc.shape


@pytest.mark.parametrize("name", ["black_level", "white_level"])
def test_missing_level_is_named(name):
    with pytest.raises(TypeError, match=f"{name} must be an integer, got NoneType"):
        CameraParams(np.eye(3), 1.0, 2.0, 1.5, **{name: None})


# --------------------------------------------------------- optional fields: name, noise profile
def test_name_and_noise_profile_round_trip_and_stay_out_of_old_dicts():
    plain = CameraParams.sample(1)
    assert set(plain.to_dict()) == {
        "rgb2cam", "rgb_gain", "red_gain", "blue_gain", "cfa", "black_level",
        "white_level", "tone", "gamma", "highlight_blend",
    }  # fmt: skip
    profiled = dataclasses.replace(
        plain, name="Nikon D850", noise_profile=[[1e-4, 2e-6], (2e-4, 3e-6), (3e-4, 4e-6)]
    )
    assert profiled.noise_profile == ((1e-4, 2e-6), (2e-4, 3e-6), (3e-4, 4e-6))
    values = json.loads(profiled.to_json())
    assert values["name"] == "Nikon D850"
    assert values["noise_profile"] == [[1e-4, 2e-6], [2e-4, 3e-6], [3e-4, 4e-6]]
    back = CameraParams.from_json(profiled.to_json())
    assert back == profiled and hash(back) == hash(profiled)
    assert back != plain and "noise_profile=" in repr(back)
    assert CameraParams.from_dict(plain.to_dict()) == plain


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"noise_profile": [(1e-4, -1e-6)]}, ValueError, "finite and >= 0"),
        ({"noise_profile": [(1e-4, 1e-6)] * 2}, ValueError, "1 or 3"),
        ({"noise_profile": [1e-4, 1e-6]}, ValueError, r"\(S, O\) pairs"),
        ({"noise_profile": [(float("nan"), 0.0)]}, ValueError, "finite"),
        ({"name": 3}, TypeError, "name must be a str or None, got int"),
    ],
)
def test_optional_fields_are_validated(changes, error, match):
    with pytest.raises(error, match=match):
        dataclasses.replace(CameraParams.sample(0), **changes)


def test_daylight_gains_of_the_brooks_mix():
    params = CameraParams.sample(6, gains="daylight")
    rng = np.random.default_rng(6)
    weights = rng.uniform(1e-8, 1e8, size=4)
    xyz2cam = np.tensordot(weights, XYZ2CAM_PRESETS, axes=1) / weights.sum()
    white = (xyz2cam @ RGB2XYZ).sum(axis=1)
    assert params.rgb_gain == 1.0 / rng.normal(0.8, 0.1)
    assert params.red_gain == pytest.approx(white[1] / white[0], rel=1e-12)
    assert params.blue_gain == pytest.approx(white[1] / white[2], rel=1e-12)
    with pytest.raises(ValueError, match="every channel must be positive"):
        rawspace.params.daylight_gains(-np.eye(3))
