"""classifiers.bayer: the torch CFA geometry agrees with the core's (rawspace.cfa)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rawspace  # noqa: E402
from classifiers import bayer  # noqa: E402
from rawspace.cfa import cfa_channels  # noqa: E402
from rawspace.hints import CFA_PATTERNS  # noqa: E402


def _rgb(n: int = 2, h: int = 6, w: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, h, w, 3))


def _nchw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def test_site_order_is_the_cores_packed_order() -> None:
    block = np.arange(4).reshape(2, 2)
    assert rawspace.pack(block).reshape(4).tolist() == [block[i, j] for i, j in bayer.SITES]
    for cfa in CFA_PATTERNS:
        assert bayer.site_channels(cfa) == tuple(cfa_channels(cfa).ravel().tolist())


@pytest.mark.parametrize("cfa", CFA_PATTERNS)
def test_mosaic_pack_unpack_equal_the_core(cfa: str) -> None:
    rgb = _rgb()
    x = _nchw(rgb)
    core = np.stack([rawspace.mosaic(image, cfa) for image in rgb])
    assert np.array_equal(bayer.mosaic(x, cfa)[:, 0].numpy(), core)
    packed = np.stack([rawspace.pack(m, cfa) for m in core])  # (n, h, w, 4)
    assert np.array_equal(bayer.mosaic_planes(x, cfa).numpy(), packed.transpose(0, 3, 1, 2))
    assert np.array_equal(bayer.pack(torch.from_numpy(core)[:, None]).numpy(),
                          packed.transpose(0, 3, 1, 2))  # fmt: skip
    planes = torch.from_numpy(np.ascontiguousarray(packed.transpose(0, 3, 1, 2)))
    assert np.array_equal(bayer.unpack(planes)[:, 0].numpy(), core)


def test_site_views_address_pixel_2i_plus_dy() -> None:
    x = torch.arange(2 * 6 * 8).reshape(2, 1, 6, 8)
    view = bayer.site_view(x, "bayer")
    split = bayer.split_sites(x)
    for n, dy, dx, i, j in [(0, 0, 1, 2, 3), (1, 1, 0, 0, 2), (1, 1, 1, 2, 0)]:
        assert view[n, dy, dx, i, j] == x[n, 0, 2 * i + dy, 2 * j + dx]
        assert split[n, 0, dy, dx, i, j] == x[n, 0, 2 * i + dy, 2 * j + dx]
    planes = bayer.pack(x)
    assert torch.equal(bayer.site_view(planes, "packed"), view)
    view[0, 1, 1, 0, 0] = -1  # writes go through
    assert x[0, 0, 1, 1] == -1
    assert bayer.split_sites(x, torch.float64).dtype == torch.float64


@pytest.mark.parametrize("cfa", CFA_PATTERNS)
def test_bilinear_demosaic_equals_the_core_borders_included(cfa: str) -> None:
    mosaics = np.random.default_rng(1).random((2, 6, 10))
    out = bayer.demosaic(torch.from_numpy(mosaics)[:, None], cfa).numpy()
    for image, got in zip(mosaics, out, strict=True):
        expected = rawspace.demosaic(image, cfa, "bilinear")
        np.testing.assert_allclose(got.transpose(1, 2, 0), expected, rtol=0, atol=1e-12)


def test_demosaic_is_differentiable() -> None:
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: bayer.demosaic(t, "GBRG"), (x,))


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="cfa must be one of"):
        bayer.site_channels("RGB")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"rgb must be a tensor \(N, 3, H, W\)"):
        bayer.mosaic(torch.zeros(1, 4, 2, 2), "RGGB")
    with pytest.raises(ValueError, match="even, non-zero height and width; got 3×4"):
        bayer.pack(torch.zeros(1, 1, 3, 4))
    with pytest.raises(ValueError, match="bayer must be a float tensor"):
        bayer.demosaic(torch.zeros(1, 1, 2, 2, dtype=torch.int16), "RGGB")
    with pytest.raises(ValueError, match="layout must be 'bayer' or 'packed'"):
        bayer.site_view(torch.zeros(1, 1, 2, 2), "linear")  # type: ignore[arg-type]
