"""classifiers.unprocess: the torch develop, the differentiable path and RandomCamera."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skimage import data  # noqa: E402

import rawspace  # noqa: E402
from classifiers.unprocess import (  # noqa: E402
    Cameras,
    RandomCamera,
    develop,
    draw_cameras,
    invert,
    random_camera,
)
from rawspace import CameraParams  # noqa: E402
from rawspace.hints import CFA_PATTERNS, GAMMAS, LAYOUTS, TONES  # noqa: E402

H, W = 16, 24


def _photo() -> np.ndarray:
    """A real photo crop, uint8 (H, W, 3), and a bright one (the highlight blend acts)."""
    photo = data.astronaut()[180 : 180 + H, 200 : 200 + W]
    bright = (255 - photo // 86).astype(np.uint8)
    return np.stack([photo, bright])


IMAGES = _photo()


def _camera(seed: int, *, cfa="RGGB", tone="smoothstep", gamma="power2.2", blend=True):
    p = CameraParams.sample(seed, cfa=cfa, tone=tone, gamma=gamma, black_level=64)
    return p if blend else dataclasses.replace(p, highlight_blend=False)


def _nchw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2)


def _channels_first(raw: np.ndarray, layout: str) -> np.ndarray:
    return raw[None] if layout == "bayer" else np.moveaxis(raw, -1, 0)


# ------------------------------------------------------------------------------ develop
@pytest.mark.parametrize(
    ("cfa", "tone", "gamma", "blend"),
    list(itertools.product(CFA_PATTERNS, TONES, GAMMAS, (True, False))),
)
def test_develop_matches_the_core_for_every_camera_option(cfa, tone, gamma, blend) -> None:
    cameras = [_camera(5 + i, cfa=cfa, tone=tone, gamma=gamma, blend=blend) for i in range(2)]
    for layout in LAYOUTS:
        raws = [
            rawspace.invert(im, c, layout=layout, dtype=np.float32)
            for im, c in zip(IMAGES, cameras, strict=True)
        ]
        batch = torch.from_numpy(np.stack([_channels_first(r.data, layout) for r in raws]))
        for output in ("srgb", "linear"):
            got = develop(batch, cameras, layout=layout, output=output)
            assert got.dtype == torch.float32 and got.shape == (2, 3, H, W)
            for k, r in enumerate(raws):
                core = rawspace.develop(r, output=output, dtype=np.float32)
                err = np.abs(got[k].numpy().transpose(1, 2, 0) - core).max()
                assert err <= 1e-5, (layout, output, k, err)


def test_develop_reads_the_cores_levels() -> None:
    camera = _camera(3, cfa="GBRG")
    raw = rawspace.invert(IMAGES[0], camera, layout="packed")  # uint16 between the levels
    levels = torch.from_numpy(raw.data.astype(np.float32)).permute(2, 0, 1)[None]
    got = develop(levels, camera, layout="packed", scale="levels")
    core = rawspace.develop(raw, dtype=np.float32)
    assert np.abs(got[0].numpy().transpose(1, 2, 0) - core).max() <= 1e-5
    # and invert's levels are the core's uint16 values (float32 rounding aside)
    ours = invert(_nchw(IMAGES[:1]), camera, layout="packed", scale="levels")
    assert float((ours[0] - levels[0]).abs().max()) <= 1.0
    assert float((ours[0] != levels[0]).float().mean()) < 1e-3
    assert torch.equal(ours, ours.round()) and float(ours.min()) >= camera.black_level


def test_develop_inverts_invert() -> None:
    """develop(invert(x)) = x where nothing clips: every pixel for camera RGB, and flat
    patches (which bilinear demosaicking keeps exactly) for the mosaic layouts."""
    gen = torch.Generator().manual_seed(0)
    x = 0.35 + 0.3 * torch.rand(4, 3, H, W, generator=gen)  # moderate, in gamut
    gray = x.mean(dim=1, keepdim=True)
    x = gray + 0.3 * (x - gray)
    cameras = [
        _camera(20 + i, cfa=c, tone=t)
        for i, (c, t) in enumerate(zip(CFA_PATTERNS, TONES * 2, strict=True))
    ]
    back = develop(invert(x, cameras, layout="linear"), cameras, layout="linear")
    assert float((back - x).abs().max()) <= 1e-5
    flat = x.mean(dim=(2, 3), keepdim=True).expand(4, 3, 6, 8).contiguous()
    for layout in ("bayer", "packed"):
        back = develop(invert(flat, cameras, layout=layout), cameras, layout=layout)
        assert float((back - flat).abs().max()) <= 1e-5
    bright = torch.full((1, 3, 4, 4), 0.99)  # inside the highlight blend
    camera = _camera(1)
    back = develop(invert(bright, camera, layout="linear"), camera, layout="linear")
    assert float((back - bright).abs().max()) <= 1e-5


def test_develop_bad_input_is_named() -> None:
    camera = _camera(0)
    with pytest.raises(ValueError, match=r"raw must have shape \(N, 4, H, W\)"):
        develop(torch.zeros(1, 1, 4, 4), camera, layout="packed")
    with pytest.raises(TypeError, match="raw must be a float tensor"):
        develop(torch.zeros(1, 1, 4, 4, dtype=torch.int16), camera, layout="bayer")
    with pytest.raises(ValueError, match="scale must be 'unit' or 'levels'"):
        develop(torch.zeros(1, 1, 4, 4), camera, layout="bayer", scale="uint16")
    with pytest.raises(ValueError, match="output must be 'srgb' or 'linear'"):
        develop(torch.zeros(1, 1, 4, 4), camera, layout="bayer", output="rgb")


# ------------------------------------------------------------------------------ gradients
@pytest.mark.parametrize("layout", LAYOUTS)
def test_gradcheck_through_invert(layout) -> None:
    cameras = [_camera(1, cfa="GRBG", tone="smoothstep", gamma="srgb"), _camera(2, tone="none")]
    x = (0.2 + 0.6 * torch.rand(2, 3, 4, 4, dtype=torch.float64)).requires_grad_()
    table = Cameras.stack(cameras)

    def f(v: torch.Tensor) -> torch.Tensor:
        return invert(v, table, layout=layout, differentiable=True)

    assert torch.autograd.gradcheck(f, (x,))
    noise = (torch.tensor([1e-3, 2e-3]), torch.tensor([1e-5, 1e-5]))

    def noisy(v: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(0)
        return invert(v, table, layout=layout, differentiable=True, noise=noise, generator=g)

    assert torch.autograd.gradcheck(noisy, (x,))


def test_the_differentiable_path_equals_the_fast_one() -> None:
    cameras = [_camera(10 + i, cfa=c) for i, c in enumerate(CFA_PATTERNS)] * 2
    for x in (_nchw(np.concatenate([IMAGES] * 4)), _nchw(np.concatenate([IMAGES] * 4)) / 255.0):
        x = x.float() if x.is_floating_point() else x
        for layout in LAYOUTS:
            fast = invert(
                x,
                cameras,
                layout=layout,
                noise="brooks",
                generator=torch.Generator().manual_seed(4),
            )
            slow = invert(
                x,
                cameras,
                layout=layout,
                noise="brooks",
                differentiable=True,
                generator=torch.Generator().manual_seed(4),
            )
            assert float((fast - slow).abs().max()) <= 1e-6, layout
    x = torch.rand(1, 3, 4, 4, requires_grad=True)
    assert not invert(x, cameras[0], layout="bayer").requires_grad  # the fast path: no graph
    y = invert(x, cameras[0], layout="bayer", differentiable=True, scale="levels")
    y.sum().backward()  # straight-through rounding: the gradient of the scaled values
    span = cameras[0].white_level - cameras[0].black_level
    plain = torch.rand(1, 3, 4, 4, requires_grad=True)
    with torch.no_grad():
        plain.copy_(x)
    (span * invert(plain, cameras[0], layout="bayer", differentiable=True)).sum().backward()
    assert torch.allclose(x.grad, plain.grad, rtol=1e-4)


# ------------------------------------------------------------------------------ RandomCamera
def test_random_camera_draws_one_camera_per_sample_from_the_table() -> None:
    table = Cameras.sample(5, seed=3)
    x = _nchw(np.stack([IMAGES[0]] * 6))
    out = random_camera(x, cameras=table, generator=torch.Generator().manual_seed(1))
    index = torch.randint(5, (6,), generator=torch.Generator().manual_seed(1))
    assert torch.equal(out, invert(x, table[index]))
    assert len({tuple(out[k].flatten()[:50].tolist()) for k in range(6)}) == len(
        set(index.tolist())
    )
    again = random_camera(x, cameras=table, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out, again)
    fresh = draw_cameras(3, generator=torch.Generator().manual_seed(2))
    assert len(fresh) == 3 and len({p.red_gain for p in fresh.to_params()}) == 3


def test_random_camera_runs_inside_compose_on_an_image_and_a_batch() -> None:
    v2 = pytest.importorskip("torchvision.transforms.v2")
    table = Cameras.sample(4, seed=0)
    transform = v2.Compose(
        [
            v2.RandomHorizontalFlip(p=1.0),
            RandomCamera(
                layout="bayer",
                cameras=table,
                noise="brooks",
                generator=torch.Generator().manual_seed(0),
            ),
        ]
    )
    image = _nchw(IMAGES[:1])[0]  # (3, H, W) uint8
    out = transform(image)
    assert out.shape == (1, H, W) and out.dtype == torch.float32
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    batch = _nchw(IMAGES).float() / 255.0
    out = transform(batch)
    assert out.shape == (2, 1, H, W)
    packed = v2.Compose([RandomCamera(layout="packed", scale="levels")])(batch)
    assert packed.shape == (2, 4, H // 2, W // 2) and torch.equal(packed, packed.round())
    assert "layout='bayer'" in repr(transform) and "4 in a table" in repr(transform)


def test_random_camera_is_differentiable() -> None:
    transform = RandomCamera(
        layout="packed", differentiable=True, generator=torch.Generator().manual_seed(0)
    )
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)

    def f(v: torch.Tensor) -> torch.Tensor:
        transform.generator = torch.Generator().manual_seed(0)  # the same cameras each call
        return transform(v)

    assert torch.autograd.gradcheck(f, (x,))


def test_random_camera_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="layout must be one of"):
        RandomCamera(layout="rgb")
    with pytest.raises(ValueError, match="noise must be None, 'brooks' or"):
        RandomCamera(noise="gaussian")
    with pytest.raises(ValueError, match="noise levels must be finite and >= 0"):
        RandomCamera(noise=(-1.0, 0.0))
    with pytest.raises(TypeError, match="cameras must be a Cameras table or None"):
        RandomCamera(cameras=[CameraParams.sample(0)])
    with pytest.raises(ValueError, match=r"rgb must be a tensor \(3, H, W\) or"):
        random_camera(torch.zeros(4, 4))
