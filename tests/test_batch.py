"""The batch API of `rawspace.invert` and `rawspace.develop`: (..., H, W, 3) with one camera
or one per image, identical to single-image calls."""

from __future__ import annotations

import numpy as np
import pytest

import rawspace
from rawspace import CameraParams, RawBatch, develop, invert

LAYOUTS = ("bayer", "packed", "linear")


@pytest.fixture(scope="module")
def images(ihc: np.ndarray) -> np.ndarray:
    """Six 32×48 uint8 crops of a real image, shape (2, 3, 32, 48, 3)."""
    crops = [ihc[y : y + 32, x : x + 48] for y in (0, 40, 90) for x in (0, 100)]
    return np.stack(crops).reshape(2, 3, 32, 48, 3)


def _cameras(n: int) -> list[CameraParams]:
    """Cameras that differ in everything the kernels read per image."""
    cfas = ("RGGB", "BGGR", "GRBG", "GBRG")
    out = []
    for i in range(n):
        p = CameraParams.sample(100 + i)
        out.append(
            CameraParams(
                rgb2cam=p.rgb2cam,
                rgb_gain=p.rgb_gain,
                red_gain=p.red_gain,
                blue_gain=p.blue_gain,
                cfa=cfas[i % 4],
                black_level=64 * (i % 3),
                white_level=4095 if i % 2 else 16383,
                tone=("smoothstep", "none")[i % 2],
                gamma=("power2.2", "srgb")[(i // 2) % 2],
                highlight_blend=i % 3 != 1,
            )
        )
    return out


def _flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(-1, *images.shape[-3:])


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_one_camera_per_image_equals_single_calls(images, layout, dtype):
    cams = _cameras(6)
    batch = invert(images, cams, layout=layout, dtype=dtype)
    assert isinstance(batch, RawBatch)
    assert batch.batch_shape == (2, 3)
    assert batch.data.shape[:2] == (2, 3)
    flat = batch.data.reshape(6, *batch.data.shape[2:])
    for i, (x, p) in enumerate(zip(_flat(images), cams, strict=True)):
        single = invert(x, p, layout=layout, dtype=dtype)
        np.testing.assert_array_equal(flat[i], single.data)
        np.testing.assert_array_equal(batch[i].data, single.data)
        assert batch[i].params is p


@pytest.mark.parametrize("layout", LAYOUTS)
def test_one_camera_for_all_equals_single_calls(images, layout):
    cam = CameraParams.sample(3)
    batch = invert(images.astype(np.float32) / 255, cam, layout=layout, dtype=np.float32)
    for i, x in enumerate(_flat(images).astype(np.float32) / 255):
        single = invert(x, cam, layout=layout, dtype=np.float32)
        np.testing.assert_array_equal(batch[i].data, single.data)
        assert batch[i].params is cam


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("noise", ["brooks", (1e-3, 1e-5)])
def test_one_seed_is_one_generator_drawn_image_after_image(images, layout, noise):
    batch = invert(images, seed=11, layout=layout, noise=noise)
    rng = np.random.default_rng(11)
    for i, x in enumerate(_flat(images)):
        single = invert(x, seed=rng, layout=layout, noise=noise)
        np.testing.assert_array_equal(batch[i].data, single.data)
        assert batch.params[i] == single.params
        assert batch.noise[i] == single.noise
        assert batch.seeds[i] is None
    assert len(set(batch.noise)) == (6 if noise == "brooks" else 1)  # drawn per image
    assert batch.params[0] != batch.params[1]


def test_a_seed_per_image_reproduces_each_image_alone(images):
    seeds = [5, 6, 7, 8, 9, 10]
    batch = invert(images, seed=seeds, noise="brooks", layout="packed")
    assert batch.seeds == tuple(seeds)
    for i, (x, s) in enumerate(zip(_flat(images), seeds, strict=True)):
        single = invert(x, seed=s, noise="brooks", layout="packed")
        np.testing.assert_array_equal(batch[i].data, single.data)
        assert batch[i].seed == s
        assert batch[i].params == single.params


@pytest.mark.parametrize(
    ("layout", "method"),
    [
        ("bayer", "bilinear"),
        ("bayer", "malvar2004"),
        ("packed", "malvar2004"),
        ("linear", "bilinear"),
    ],
)
@pytest.mark.parametrize(
    ("output", "dtype"), [("srgb", np.uint8), ("srgb", np.float32), ("linear", np.uint16)]
)
def test_develop_batch_equals_single_calls(images, layout, output, dtype, method):
    cams = _cameras(6)
    batch = invert(images, cams, layout=layout, noise=(1e-3, 1e-5), seed=2)
    developed = develop(batch, demosaic=method, output=output, dtype=dtype)
    assert developed.shape == (2, 3, 32, 48, 3)
    assert developed.dtype == dtype
    flat = developed.reshape(6, 32, 48, 3)
    for i, raw in enumerate(batch):
        np.testing.assert_array_equal(
            flat[i], develop(raw, demosaic=method, output=output, dtype=dtype)
        )


def test_round_trip_of_a_batch_is_exact(images):
    cams = _cameras(6)
    raw = invert(images, cams, layout="linear", dtype=np.float32)
    back = develop(raw)
    # Exact wherever nothing clipped: compare with the single-image round trips.
    for i, x in enumerate(_flat(images)):
        alone = develop(invert(x, cams[i], layout="linear", dtype=np.float32))
        np.testing.assert_array_equal(back.reshape(6, 32, 48, 3)[i], alone)
    assert np.mean(back == images) > 0.9


def test_from_images_stacks_and_develops(images):
    cams = _cameras(3)
    singles = [invert(x, p) for x, p in zip(_flat(images)[:3], cams, strict=True)]
    batch = RawBatch.from_images(singles)
    assert batch.batch_shape == (3,)
    developed = develop(batch)
    for i, raw in enumerate(singles):
        np.testing.assert_array_equal(developed[i], develop(raw))


def test_a_batch_of_one_image_and_an_empty_batch(images):
    one = invert(images[:1, :1], CameraParams.sample(0))
    assert one.data.shape == (1, 1, 32, 48)
    np.testing.assert_array_equal(one[0].data, invert(images[0, 0], CameraParams.sample(0)).data)
    empty = invert(images[:0], CameraParams.sample(0))
    assert empty.data.shape == (0, 3, 32, 48)
    assert len(empty) == 0
    assert develop(empty).shape == (0, 3, 32, 48, 3)


def test_batch_errors_name_the_argument(images):
    with pytest.raises(
        ValueError, match=r"params must be one camera or one per image \(6\), got 2"
    ):
        invert(images, [CameraParams.sample(0), CameraParams.sample(0)])
    with pytest.raises(TypeError, match="params must be a CameraParams"):
        invert(images, ["RGGB"] * 6)
    with pytest.raises(ValueError, match=r"seed must be one seed or one per image \(6\), got 3"):
        invert(images, seed=[1, 2, 3])
    with pytest.raises(TypeError, match="for one image"):
        invert(images[0, 0], seed=[1])
    with pytest.raises(ValueError, match=r"rgb must have shape \(H, W, 3\) or \(\.\.\., H, W, 3\)"):
        invert(images[0, 0, 0])
    with pytest.raises(ValueError, match="must lie in"):
        invert(np.full((2, 4, 4, 3), 1.5))
    with pytest.raises(IndexError, match="out of range for a batch of 6"):
        invert(images, CameraParams.sample(0))[6]
    with pytest.raises(TypeError, match="raw must be a RawImage or a RawBatch"):
        develop(np.zeros((4, 4)))


def test_public_api_exports_the_batch_and_image_loading():
    for name in ("RawBatch", "read_image", "fit_image"):
        assert name in rawspace.__all__
        assert hasattr(rawspace, name)
