"""invert() and develop(): against the published formulas, as exact inverses, and their errors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import rawspace
from rawspace import CameraParams, RawImage, develop, invert
from rawspace._reference import develop_reference, invert_reference

CFAS = ("RGGB", "BGGR", "GRBG", "GBRG")

# ----------------------------------------------------------------------------------------------
# Brooks et al. (CVPR 2019) written out directly from the paper's formulas (SPEC §2): an
# implementation independent of rawspace's, to check invert() against.
RGB2XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)


def brooks_packed(image: np.ndarray, rgb2cam, rgb_gain, red_gain, blue_gain) -> np.ndarray:
    """Unprocess a float image in [0, 1] to packed RGGB (H/2, W/2, 4), as Brooks et al."""
    image = np.clip(image, 0.0, 1.0)
    image = 0.5 - np.sin(np.arcsin(1.0 - 2.0 * image) / 3.0)
    image = np.maximum(image, 1e-8) ** 2.2
    image = np.tensordot(image, rgb2cam, axes=[[-1], [-1]])
    gains = np.array([1.0 / red_gain, 1.0, 1.0 / blue_gain]) / rgb_gain
    gray = np.mean(image, axis=-1, keepdims=True)
    inflection = 0.9
    mask = (np.maximum(gray - inflection, 0.0) / (1.0 - inflection)) ** 2.0
    safe_gains = np.maximum(mask + (1.0 - mask) * gains, gains)
    image = np.clip(image * safe_gains, 0.0, 1.0)
    red = image[0::2, 0::2, 0]
    green_red = image[0::2, 1::2, 1]
    green_blue = image[1::2, 0::2, 1]
    blue = image[1::2, 1::2, 2]
    return np.stack((red, green_red, green_blue, blue), axis=-1)


def brooks_rgb2cam(xyz2cam: np.ndarray) -> np.ndarray:
    rgb2cam = xyz2cam @ RGB2XYZ
    return rgb2cam / rgb2cam.sum(axis=-1, keepdims=True)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


# ----------------------------------------------------------------------------------------------
def test_packed_float_matches_brooks_formulas(sample_images):
    for seed, image in enumerate(sample_images.values()):
        params = CameraParams.sample(seed)
        got = invert(image, params, layout="packed", dtype=np.float32).data
        want = brooks_packed(
            image / 255.0, params.rgb2cam, params.rgb_gain, params.red_gain, params.blue_gain
        )
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@settings(max_examples=30, deadline=None)
@given(
    image=arrays(np.float64, (6, 8, 3), elements=st.floats(0.0, 1.0)),
    weights=arrays(np.float64, 4, elements=st.floats(1e-8, 1e8)),
    rgb_gain=st.floats(0.5, 2.0),
    red_gain=st.floats(1.0, 3.0),
    blue_gain=st.floats(1.0, 3.0),
)
def test_packed_float_matches_brooks_formulas_for_any_input(
    image, weights, rgb_gain, red_gain, blue_gain
):
    xyz2cam = np.tensordot(weights, rawspace.params.XYZ2CAM_PRESETS, axes=1) / weights.sum()
    rgb2cam = brooks_rgb2cam(xyz2cam)
    params = CameraParams(rgb2cam, rgb_gain=rgb_gain, red_gain=red_gain, blue_gain=blue_gain)
    got = invert(image, params, layout="packed", dtype=np.float32).data
    want = brooks_packed(image, rgb2cam, rgb_gain, red_gain, blue_gain)
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_uint16_output_spans_black_to_white():
    image = np.zeros((4, 4, 3), np.uint8)
    image[:2] = 255
    params = CameraParams.sample(3, black_level=512, white_level=4095)
    raw = invert(image, params, layout="linear").data
    assert raw.dtype == np.uint16
    assert raw.min() == 512
    unit = invert(image, params, layout="linear", dtype=np.float32).data
    np.testing.assert_array_equal(raw, np.floor(unit.astype(np.float64) * 3583 + 512.5))


@pytest.mark.parametrize("cfa", CFAS)
def test_layouts_agree(ihc, cfa):
    params = CameraParams.sample(5, cfa=cfa)
    bayer = invert(ihc, params, layout="bayer").data
    packed = invert(ihc, params, layout="packed").data
    linear = invert(ihc, params, layout="linear").data
    np.testing.assert_array_equal(rawspace.pack(bayer, cfa), packed)
    np.testing.assert_array_equal(rawspace.mosaic(linear, cfa), bayer)


# ----------------------------------------------------------------------------- exact inverse
def bright_image(seed: int) -> np.ndarray:
    """Near-white pixels: camera gray above 0.9, where the highlight blend is active."""
    rng = np.random.default_rng(seed)
    base = rng.integers(215, 256, (48, 64, 1))
    return np.clip(base + rng.integers(-12, 13, (48, 64, 3)), 0, 255).astype(np.uint8)


def unclipped(image: np.ndarray, params: CameraParams) -> np.ndarray:
    """Pixels whose camera values stay inside [0, 1], so that invert() clips nothing."""
    x = 0.5 - np.sin(np.arcsin(1.0 - 2.0 * (image / 255.0)) / 3.0)
    cam = np.maximum(x, 1e-8) ** 2.2 @ params.rgb2cam.T
    gains = np.array([1.0 / params.red_gain, 1.0, 1.0 / params.blue_gain]) / params.rgb_gain
    mask = (np.maximum(cam.mean(axis=-1, keepdims=True) - 0.9, 0.0) / 0.1) ** 2
    cam = cam * np.maximum(mask + (1.0 - mask) * gains, gains)
    return ((cam >= 0) & (cam <= 1)).all(axis=-1)


@pytest.mark.parametrize("seed", range(6))
def test_develop_inverts_invert_bit_exactly(sample_images, seed):
    params = CameraParams.sample(seed)
    for image in [*sample_images.values(), bright_image(seed)]:
        raw = invert(image, params, layout="linear", dtype=np.float32)
        np.testing.assert_array_equal(develop(raw, dtype=np.uint8), image)
        inside = unclipped(image, params)
        assert inside.mean() > 0.98  # the check below covers nearly every pixel
        error = np.abs(develop(raw, dtype=np.float32) - image / 255.0)[inside]
        assert error.max() <= 1e-4


def test_plain_white_balance_without_the_blend(sample_images):
    """highlight_blend=False: plain gains, still an exact inverse for unsaturated colours."""
    params = dataclasses.replace(CameraParams.sample(3), highlight_blend=False)
    image = sample_images["immunohistochemistry"]
    raw = invert(image, params, layout="linear", dtype=np.float32)
    linear = np.maximum(0.5 - np.sin(np.arcsin(1 - 2 * (image / 255.0)) / 3), 1e-8) ** 2.2
    plain = np.clip(linear @ params.rgb2cam.T / params.wb_gains, 0, 1)
    np.testing.assert_allclose(raw.data, plain, atol=1e-6)
    np.testing.assert_array_equal(develop(raw), image)
    # saturated raw values develop to white, as a raw developer clips them
    white = RawImage(np.ones((4, 4, 3), np.float32), params, layout="linear")
    np.testing.assert_array_equal(develop(white), 255)


def test_highlight_blend_is_exercised():
    image = bright_image(0)
    params = CameraParams.sample(0)
    raw = invert(image, params, layout="linear", dtype=np.float32)
    # Plain division by the gains (no blend inverse) must fail here, or the test proves nothing.
    undone = raw.data * params.wb_gains
    assert (undone.mean(axis=-1) > 0.9).mean() > 0.05
    plain = np.clip(undone @ params.cam2rgb.T, 0, 1)
    assert np.abs(plain - develop(raw, output="linear", dtype=np.float32)).max() > 1e-3


@pytest.mark.parametrize("gamma", ["power2.2", "srgb"])
@pytest.mark.parametrize("tone", ["smoothstep", "none"])
def test_exact_inverse_for_every_curve(ihc, tone, gamma):
    params = CameraParams.sample(11, tone=tone, gamma=gamma)
    raw = invert(ihc, params, layout="linear", dtype=np.float32)
    np.testing.assert_array_equal(develop(raw), ihc)


def test_uint16_input_round_trip(ihc):
    image16 = ihc.astype(np.uint16) * 257
    params = CameraParams.sample(2)
    raw = invert(image16, params, layout="linear", dtype=np.float32)
    out = develop(raw, dtype=np.uint16)
    assert np.abs(out.astype(np.int64) - image16).max() <= 8


def test_round_trip_through_14_bit_raw_psnr(sample_images):
    """Quantising to 14 bits costs little: PSNR of the 8-bit round trip through uint16."""
    values = []
    for seed, image in enumerate(sample_images.values()):
        raw = invert(image, CameraParams.sample(seed), layout="linear", dtype=np.uint16)
        values.append(psnr(develop(raw, dtype=np.float32), image / 255.0))
    assert min(values) > 70.0, values


def test_develop_of_mosaic_is_close_to_the_image(sample_images):
    image = sample_images["immunohistochemistry"]
    raw = invert(image, CameraParams.sample(1))
    for method, floor in (("bilinear", 28.0), ("malvar2004", 30.0)):
        assert psnr(develop(raw, demosaic=method), image, 255.0) > floor


# ------------------------------------------------------------------- kernels vs NumPy twins
@pytest.mark.parametrize("layout", ["bayer", "packed", "linear"])
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
@pytest.mark.parametrize("input_dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_invert_kernel_matches_numpy_twin(ihc, layout, dtype, input_dtype):
    if np.issubdtype(input_dtype, np.integer):
        image = ihc.astype(input_dtype) * (257 if input_dtype == np.uint16 else 1)
    else:
        image = (ihc / 255.0).astype(input_dtype)
    params = CameraParams.sample(7, cfa="GBRG", black_level=64, gamma="srgb")
    for blend in (True, False):
        params = dataclasses.replace(params, highlight_blend=blend)
        got = invert(image, params, layout=layout, dtype=dtype).data
        want = invert_reference(image, params, layout=layout, dtype=dtype)
        if dtype == np.uint16:
            assert np.abs(got.astype(np.int64) - want).max() <= 1
            assert np.mean(got != want) < 1e-3
        else:
            np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("layout", ["bayer", "packed", "linear"])
@pytest.mark.parametrize("method", ["bilinear", "malvar2004"])
@pytest.mark.parametrize("output", ["srgb", "linear"])
@pytest.mark.parametrize("blend", [True, False])
def test_develop_kernel_matches_numpy_twin(layout, method, output, blend):
    image = bright_image(4)
    image[::7] //= 3  # dark and bright rows
    for cfa in CFAS:
        params = CameraParams.sample(len(cfa + layout), cfa=cfa, black_level=256)
        params = dataclasses.replace(params, highlight_blend=blend)
        raw = invert(image, params, layout=layout, noise=(1e-3, 1e-5), seed=1)
        for dtype in (np.uint8, np.uint16, np.float32):
            got = develop(raw, demosaic=method, output=output, dtype=dtype)
            want = develop_reference(
                raw.data, params, layout=layout, demosaic=method, output=output, dtype=dtype
            )
            if dtype == np.float32:
                np.testing.assert_allclose(got, want, atol=1e-6)
            else:
                assert np.abs(got.astype(np.int64) - want).max() <= 1


# ----------------------------------------------------------------------------------- noise
def test_noise_matches_the_model_and_is_seeded():
    image = np.full((200, 200, 3), 128, np.uint8)
    params = CameraParams.sample(0)
    clean = invert(image, params, layout="linear", dtype=np.float32).data.astype(np.float64)
    shot, read = 0.01, 1e-4
    noisy = invert(image, params, layout="linear", dtype=np.float32, noise=(shot, read), seed=3)
    assert noisy.noise == (shot, read)
    expected_var = clean[0, 0] * shot + read
    measured_var = (noisy.data - clean).reshape(-1, 3).var(axis=0)
    np.testing.assert_allclose(measured_var, expected_var, rtol=0.05)
    again = invert(image, params, layout="linear", dtype=np.float32, noise=(shot, read), seed=3)
    np.testing.assert_array_equal(noisy.data, again.data)


def test_brooks_noise_levels_are_sampled_and_recorded(ihc):
    raw = invert(ihc, seed=9, noise="brooks")
    shot, read = raw.noise
    assert 1e-4 <= shot <= 0.012 and read > 0
    assert raw.seed == 9
    same = invert(ihc, seed=9, noise="brooks")
    np.testing.assert_array_equal(raw.data, same.data)
    assert same.params == raw.params


def test_sampled_params_are_recorded(ihc):
    raw = invert(ihc, seed=4)
    assert raw.params == CameraParams.sample(4)
    assert raw.layout == "bayer" and raw.noise is None


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        (np.zeros((8, 8), np.uint8), ValueError, r"rgb must have shape \(H, W, 3\).*\(8, 8\)"),
        (np.zeros((8, 8, 4), np.uint8), ValueError, r"3 channels.*\(8, 8, 4\)"),
        (np.zeros((7, 8, 3), np.uint8), ValueError, r"even height and width.*7×8"),
        (np.full((8, 8, 3), np.nan), ValueError, r"rgb contains 192 NaN"),
        (np.full((8, 8, 3), np.inf, np.float32), ValueError, r"NaN or infinite"),
        (np.full((8, 8, 3), 1.5), ValueError, r"\[0, 1\].*1\.5"),
        (np.full((8, 8, 3), -0.1), ValueError, r"\[0, 1\].*-0\.1"),
        (np.zeros((8, 8, 3), np.int32), TypeError, r"uint8, uint16 or float.*int32"),
        (np.zeros((8, 8, 3), bool), TypeError, r"bool"),
        ([[[0, 0, 0]]], TypeError, r"numpy.ndarray, got list"),
        (np.zeros((0, 8, 3), np.uint8), ValueError, r"empty"),
    ],
)
def test_invert_rejects_bad_images(image, error, match):
    with pytest.raises(error, match=match):
        invert(image, CameraParams.sample(0))


def test_invert_rejects_bad_options(ihc):
    params = CameraParams.sample(0)
    with pytest.raises(ValueError, match=r"layout must be one of .* got 'rggb'"):
        invert(ihc, params, layout="rggb")
    with pytest.raises(TypeError, match=r"dtype must be .* got uint8"):
        invert(ihc, params, dtype=np.uint8)
    with pytest.raises(ValueError, match=r"noise must be None, 'brooks' or \(shot, read\)"):
        invert(ihc, params, noise="gaussian")
    with pytest.raises(ValueError, match=r"noise levels must be finite and >= 0"):
        invert(ihc, params, noise=(-1.0, 0.0))
    with pytest.raises(TypeError, match=r"params must be a CameraParams or None, got dict"):
        invert(ihc, params.to_dict())
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer, got -1"):
        invert(ihc, seed=-1)


def test_odd_sizes_are_fine_without_a_mosaic():
    image = np.full((7, 9, 3), 100, np.uint8)
    raw = invert(image, CameraParams.sample(0), layout="linear", dtype=np.float32)
    np.testing.assert_array_equal(develop(raw), image)


def test_develop_rejects_bad_input(ihc):
    raw = invert(ihc, CameraParams.sample(0))
    with pytest.raises(TypeError, match=r"raw must be a RawImage or a RawBatch, got ndarray"):
        develop(raw.data)
    with pytest.raises(ValueError, match=r"demosaic must be one of .* got 'ahd'"):
        develop(raw, demosaic="ahd")
    with pytest.raises(ValueError, match=r"output must be one of .* got 'xyz'"):
        develop(raw, output="xyz")
    with pytest.raises(TypeError, match=r"dtype must be .* got float64"):
        develop(raw, dtype=np.float64)
    bad = RawImage(np.full((4, 4), np.nan, np.float32), raw.params)
    with pytest.raises(ValueError, match=r"raw.data contains 16 NaN"):
        develop(bad)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"data": np.zeros((5, 4), np.uint16)}, ValueError, r"even height and width, got 5×4"),
        ({"data": np.zeros((4, 4), np.uint8)}, TypeError, r"uint16 or float32, got uint8"),
        ({"data": np.zeros((4, 4, 3), np.uint16)}, ValueError, r"shape \(H, W\)"),
        ({"data": np.zeros((4, 4), np.uint16), "layout": "stack"}, ValueError, r"'stack'"),
        (
            {"data": np.zeros((2, 2, 3), np.uint16), "layout": "packed"},
            ValueError,
            r"4 channels",
        ),
    ],
)
def test_raw_image_validates(kwargs, error, match):
    with pytest.raises(error, match=match):
        RawImage(params=CameraParams.sample(0), **kwargs)


def test_inputs_are_never_modified(ihc):
    image = ihc.copy()
    image.setflags(write=True)
    before = image.copy()
    raw = invert(image, CameraParams.sample(0), noise="brooks", seed=1)
    np.testing.assert_array_equal(image, before)
    data_before = raw.data.copy()
    develop(raw, demosaic="malvar2004")
    develop(raw, output="linear", dtype=np.float32)
    np.testing.assert_array_equal(raw.data, data_before)


def test_read_only_inputs_are_accepted(ihc):
    assert not ihc.flags.writeable
    develop(invert(ihc, CameraParams.sample(0)))


def test_non_contiguous_inputs(ihc):
    view = ihc[::2, ::-2]
    params = CameraParams.sample(0)
    raw = invert(view, params, layout="linear", dtype=np.float32)
    np.testing.assert_array_equal(develop(raw), view)


def test_import_does_not_pull_in_torch():
    code = "import sys, rawspace; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_camera_noise_uses_the_profile_of_the_camera(ihc):
    """``noise="camera"`` adds the noise of ``params.noise_profile`` (planes averaged),
    exactly as the same explicit levels do, for one image and for a batch."""
    profile = ((2e-3, 1e-5), (1e-3, 3e-5), (3e-3, 2e-5))
    params = dataclasses.replace(CameraParams.sample(1), noise_profile=profile)
    rgb = ihc[:64, :64]
    levels = (2e-3, 2e-5)
    by_camera = invert(rgb, params, seed=4, noise="camera", dtype=np.float32)
    explicit = invert(rgb, params, seed=4, noise=levels, dtype=np.float32)
    np.testing.assert_allclose(by_camera.noise, levels, rtol=1e-12)
    assert np.array_equal(by_camera.data, explicit.data)
    batch = invert(np.stack([rgb, rgb[::-1]]), [params, params], seed=[4, 5], noise="camera")
    assert np.array_equal(batch[0].data, invert(rgb, params, seed=4, noise="camera").data)
    with pytest.raises(ValueError, match="noise"):
        invert(rgb, CameraParams.sample(1), seed=4, noise="camera")
