"""classifiers.augment: like-for-like augmentation of the raw spaces.

The geometric part is checked against rawspace's own development: augmenting raw data
then developing it equals developing it then transforming the RGB image.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
skimage_data = pytest.importorskip("skimage.data")

import rawspace  # noqa: E402
from classifiers import augment  # noqa: E402
from rawspace.cfa import cfa_channels  # noqa: E402
from rawspace.hints import CFA_PATTERNS  # noqa: E402

#: All 16 choices (hflip, vflip, turns): every one of the 8 rigid transforms, twice.
CHOICES = list(itertools.product((False, True), (False, True), range(4)))


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A 64×64 crop of a real photograph (edges, skin, colour), uint8 (64, 64, 3)."""
    return np.ascontiguousarray(skimage_data.astronaut()[80:144, 200:264])


def _batch_geometry(device: str = "cpu") -> augment.Geometry:
    hflip, vflip, turns = (
        torch.tensor(values, device=device) for values in zip(*CHOICES, strict=True)
    )
    return augment.Geometry(hflip, vflip, turns)


def _np_transform(a: np.ndarray, hflip: bool, vflip: bool, turns: int) -> np.ndarray:
    """The rigid transform on an (H, W, ...) array, written with NumPy (independent of torch)."""
    if hflip:
        a = a[:, ::-1]
    if vflip:
        a = a[::-1]
    return np.ascontiguousarray(np.rot90(a, turns, axes=(0, 1)))


def _np_shift(a: np.ndarray, shift_y: int, shift_x: int) -> np.ndarray:
    """Translate by one pixel up/left: drop the first row/column, repeat the one two in."""
    if shift_y:
        a = np.concatenate([a[1:], a[-2:-1]], axis=0)
    if shift_x:
        a = np.concatenate([a[:, 1:], a[:, -2:-1]], axis=1)
    return a


def _shift_back(cfa: str, moved: str) -> tuple[int, int]:
    """The one-pixel translation (up, left) that turns pattern ``moved`` into ``cfa``."""
    grid = np.array(list(cfa)).reshape(2, 2)
    new = np.array(list(moved)).reshape(2, 2)
    (shift,) = [
        (sy, sx)
        for sy, sx in itertools.product((0, 1), repeat=2)
        if (np.roll(new, (-sy, -sx), axis=(0, 1)) == grid).all()
    ]
    return shift


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ((False, False, 0), "RGGB"),
        ((True, False, 0), "GRBG"),
        ((False, True, 0), "GBRG"),
        ((True, True, 0), "BGGR"),
        ((False, False, 1), "GBRG"),
        ((False, False, 2), "BGGR"),
        ((False, False, 3), "GRBG"),
        ((True, False, 1), "RGGB"),  # a transpose keeps the diagonal of RGGB
    ],
)
def test_transformed_cfa_of_rggb(choice, expected) -> None:
    hflip, vflip, turns = choice
    cfa, order = augment.transformed_cfa("RGGB", hflip=hflip, vflip=vflip, turns=turns)
    assert cfa == expected
    assert sorted(order) == [0, 1, 2, 3] and "".join("RGGB"[k] for k in order) == cfa


@pytest.mark.parametrize("cfa", CFA_PATTERNS)
def test_packed_geometry_is_exact_and_develops_like_the_rgb(image, cfa) -> None:
    camera = rawspace.CameraParams.sample(0, cfa=cfa)
    bayer = rawspace.invert(image, camera, layout="bayer", dtype=np.float32)
    packed = rawspace.invert(image, camera, layout="packed", dtype=np.float32)
    developed = rawspace.develop(packed, dtype=np.float32)
    x = torch.from_numpy(packed.data).permute(2, 0, 1)[None].expand(len(CHOICES), -1, -1, -1)
    y = augment.raw_geometry(x, _batch_geometry(), layout="packed", cfa=cfa)
    rgb = torch.from_numpy(developed).permute(2, 0, 1)[None].contiguous()
    colours = cfa_channels(cfa).ravel()
    for i, (hflip, vflip, turns) in enumerate(CHOICES):
        moved, order = augment.transformed_cfa(cfa, hflip=hflip, vflip=vflip, turns=turns)
        planes = y[i, list(order)].permute(1, 2, 0).numpy()
        # the site planes of the transformed full-resolution mosaic, channels in colour order
        assert np.array_equal(planes, rawspace.pack(_np_transform(bayer.data, *CHOICES[i])))
        assert [moved[k] for k in range(4)] == ["RGB"[colours[k]] for k in order]
        params = dataclasses.replace(camera, cfa=moved)
        ours = rawspace.develop(rawspace.RawImage(planes, params, "packed"), dtype=np.float32)
        fixed = augment.Geometry.fixed(1, hflip=hflip, vflip=vflip, turns=turns)
        theirs = augment.geometry(rgb, fixed)[0].permute(1, 2, 0).numpy()
        assert np.array_equal(ours, theirs), (cfa, CHOICES[i])  # exact, whole image
        assert np.array_equal(theirs, _np_transform(developed, hflip, vflip, turns))


@pytest.mark.parametrize("cfa", CFA_PATTERNS)
def test_bayer_geometry_keeps_the_cfa_and_develops_like_the_rgb(image, cfa) -> None:
    camera = rawspace.CameraParams.sample(0, cfa=cfa)
    bayer = rawspace.invert(image, camera, layout="bayer", dtype=np.float32)
    developed = rawspace.develop(bayer, dtype=np.float32)
    x = torch.from_numpy(bayer.data)[None, None].expand(len(CHOICES), -1, -1, -1)
    y = augment.raw_geometry(x, _batch_geometry(), layout="bayer", cfa=cfa)
    shifted = 0
    for i, choice in enumerate(CHOICES):
        moved, _ = augment.transformed_cfa(cfa, hflip=choice[0], vflip=choice[1], turns=choice[2])
        sy, sx = _shift_back(cfa, moved)
        shifted += sy + sx
        mosaic = y[i, 0].numpy()
        assert np.array_equal(mosaic, _np_shift(_np_transform(bayer.data, *choice), sy, sx))
        ours = rawspace.develop(rawspace.RawImage(mosaic, camera, "bayer"), dtype=np.float32)
        theirs = _np_shift(_np_transform(developed, *choice), sy, sx)
        # exact except the first and last row (column) of a shifted direction: the dropped
        # side, and the filled side, where the demosaic's 3×3 neighbourhood is mirrored
        inner = (slice(sy, 64 - sy), slice(sx, 64 - sx))
        assert np.array_equal(ours[inner], theirs[inner]), (cfa, choice)
        border = np.ones((64, 64), dtype=bool)
        border[inner] = False
        assert border.sum() == 2 * 64 * (sy + sx) - 4 * sy * sx
    assert shifted == 16  # 6 of the 8 transforms change the CFA: 4 need one shift, 2 two


@pytest.mark.parametrize("cfa", CFA_PATTERNS)
def test_bayer_result_is_a_mosaic_of_the_same_cfa(cfa) -> None:
    colours = torch.from_numpy(cfa_channels(cfa)).float().repeat(4, 5)  # (8, 10) site colours
    # colour code + distinct sample values: every output value must keep its site colour
    x = (colours + torch.rand(len(CHOICES), 1, 8, 10) * 0.5) / 3
    geo = _batch_geometry()
    geo = geo._replace(turns=None)  # 8 × 10 is not square: flips only
    y = augment.raw_geometry(x, geo, layout="bayer", cfa=cfa)
    assert torch.equal(torch.floor(y * 3), colours.expand_as(y))
    square = (colours[:, :8] + torch.rand(len(CHOICES), 1, 8, 8) * 0.5) / 3
    y = augment.raw_geometry(square, _batch_geometry(), layout="bayer", cfa=cfa)
    assert torch.equal(torch.floor(y * 3), colours[:, :8].expand_as(y))
    for i in range(len(CHOICES)):  # and every value is one of the input's, rearranged
        assert torch.isin(y[i], square[i]).all()


@pytest.mark.parametrize("layout", ["packed", "bayer"])
@pytest.mark.parametrize("cfa", CFA_PATTERNS)
def test_photometric_scales_each_colour_and_clips_at_white(layout, cfa) -> None:
    gen = torch.Generator().manual_seed(0)
    shape = (2, 4, 6, 6) if layout == "packed" else (2, 1, 12, 12)
    x = torch.rand(shape, generator=gen)
    gains = torch.tensor([[1.5, 1.0, 0.5], [0.8, 1.2, 2.0]])
    y = augment.raw_photometric(x, gains, layout=layout, cfa=cfa)
    colours = cfa_channels(cfa)
    for n, (dy, dx) in itertools.product(range(2), itertools.product(range(2), repeat=2)):
        site = x[n, 2 * dy + dx] if layout == "packed" else x[n, 0, dy::2, dx::2]
        out = y[n, 2 * dy + dx] if layout == "packed" else y[n, 0, dy::2, dx::2]
        gain = gains[n, colours[dy, dx]]
        assert torch.equal(out, (site * gain).clamp(max=1.0))
    assert y.max() == 1.0 and (y == 1.0).any() and y.min() >= 0
    below = augment.raw_photometric(-x, gains, layout=layout, cfa=cfa)
    assert (below < 0).all()  # values below black are scaled, not clipped


def test_drawn_gains_cover_the_documented_ranges() -> None:
    x = torch.zeros(4000, 4, 2, 2)
    gains = augment.draw_raw_gains(x, generator=torch.Generator().manual_seed(1))
    assert gains.shape == (4000, 3) and gains.dtype == torch.float32
    exposure = gains[:, 1]
    wb = torch.stack([gains[:, 0], gains[:, 2]], 1) / exposure[:, None]
    j, w = augment.RAW_EXPOSURE_JITTER, augment.RAW_WB_JITTER
    lo, hi = (1 - j) ** 2.2, (1 + j) ** 2.2
    assert lo - 1e-6 <= exposure.min() < lo + 0.01 and hi - 0.01 < exposure.max() <= hi + 1e-6
    assert 1 - w - 1e-6 <= wb.min() < 1 - w + 0.005 and 1 + w - 0.005 < wb.max() <= 1 + w + 1e-6
    brightness = exposure ** (1 / 2.2)  # uniform on the rendered scale, as rgb_aug's b
    assert abs(brightness.mean().item() - 1.0) < 0.005
    assert abs(torch.corrcoef(wb.T)[0, 1].item()) < 0.1


@pytest.mark.parametrize("layout", ["packed", "bayer"])
def test_raw_is_geometry_then_photometry_and_they_commute(layout) -> None:
    cfa = "GBRG"
    x = torch.rand((32, 4, 8, 8) if layout == "packed" else (32, 1, 16, 16))
    y = augment.raw(x, layout=layout, cfa=cfa, generator=torch.Generator().manual_seed(7))
    gen = torch.Generator().manual_seed(7)
    geo = augment.draw_geometry(x, generator=gen)
    gains = augment.draw_raw_gains(x, generator=gen)
    moved = augment.raw_geometry(x, geo, layout=layout, cfa=cfa)
    assert torch.equal(y, augment.raw_photometric(moved, gains, layout=layout, cfa=cfa))
    scaled = augment.raw_photometric(x, gains, layout=layout, cfa=cfa)
    assert torch.equal(y, augment.raw_geometry(scaled, geo, layout=layout, cfa=cfa))
    assert y.shape == x.shape and y.dtype == x.dtype and y.max() <= 1.0


def test_reproducible_and_all_eight_transforms_drawn(monkeypatch) -> None:
    x = torch.rand(256, 4, 8, 8)
    first = augment.raw(x, layout="packed", cfa="RGGB", generator=torch.Generator().manual_seed(3))
    again = augment.raw(x, layout="packed", cfa="RGGB", generator=torch.Generator().manual_seed(3))
    other = augment.raw(x, layout="packed", cfa="RGGB", generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other)
    grid = torch.arange(9.0).reshape(1, 1, 3, 3).expand(256, 1, 3, 3)
    geo = augment.draw_geometry(grid, generator=torch.Generator().manual_seed(3))
    seen = {tuple(t.flatten().tolist()) for t in augment.geometry(grid, geo)}
    assert len(seen) == 8  # the whole dihedral group over one batch
    flat = augment.draw_geometry(torch.zeros(256, 1, 4, 6), generator=torch.Generator())
    assert flat.turns is None and flat.hflip.any() and flat.vflip.any()
    # the same draws and the same geometry as rgb_aug (without its colour jitter)
    monkeypatch.setattr(augment, "JITTER", 0.0)
    picture = torch.rand(64, 3, 8, 8)
    expected = augment.geometry(
        picture, augment.draw_geometry(picture, generator=torch.Generator().manual_seed(5))
    )
    assert torch.allclose(
        augment.rgb(picture, generator=torch.Generator().manual_seed(5)), expected
    )


def test_bad_input_is_named() -> None:
    packed, bayer = torch.rand(2, 4, 6, 6), torch.rand(2, 1, 12, 12)
    geo = augment.Geometry.fixed(2, hflip=True, turns=1)
    cases = [
        (lambda: augment.raw(bayer, layout="packed", cfa="RGGB"), "4 channel"),
        (lambda: augment.raw(packed, layout="bayer", cfa="RGGB"), "1 channel"),
        (lambda: augment.raw(torch.rand(2, 1, 11, 12), layout="bayer", cfa="RGGB"), "even"),
        (lambda: augment.raw(packed, layout="linear", cfa="RGGB"), "layout must be"),
        (lambda: augment.raw(packed, layout="packed", cfa="RGBG"), "cfa must be"),
        (lambda: augment.raw(packed[0], layout="packed", cfa="RGGB"), r"\(N, C, H, W\)"),
        (lambda: augment.raw(packed.long(), layout="packed", cfa="RGGB"), "float"),
        (lambda: augment.raw_geometry(packed[..., :4], geo, layout="packed", cfa="RGGB"), "square"),
        (lambda: augment.geometry(packed[:1], geo), r"geo.hflip must be a tensor of shape \(1,\)"),
        (lambda: augment.geometry(packed, (geo.hflip, geo.vflip, None)), "geo must be a Geometry"),
        (
            lambda: augment.raw_photometric(packed, torch.ones(2, 4), layout="packed", cfa="RGGB"),
            r"gains must be \(2, 3\)",
        ),
        (lambda: augment.transformed_cfa("RGGB", turns=4), "turns must be"),
        (lambda: augment.Geometry.fixed(2, turns=-1), "turns must be"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
