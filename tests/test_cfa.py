"""Bayer patterns: mosaic and demosaic against colour-demosaicing, pack/unpack, errors."""

from __future__ import annotations

import numpy as np
import pytest

from rawspace import demosaic, mosaic, pack, unpack
from rawspace._reference import demosaic_reference
from rawspace.cfa import cfa_channels

colour_demosaicing = pytest.importorskip("colour_demosaicing")

CFAS = ("RGGB", "BGGR", "GRBG", "GBRG")
PEERS = {
    "bilinear": colour_demosaicing.demosaicing_CFA_Bayer_bilinear,
    "malvar2004": colour_demosaicing.demosaicing_CFA_Bayer_Malvar2004,
}


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    from skimage import data

    return data.astronaut()[150:214, 180:260] / 255.0


@pytest.mark.parametrize("cfa", CFAS)
def test_mosaic_equals_colour_demosaicing(image, cfa):
    np.testing.assert_array_equal(
        mosaic(image, cfa), colour_demosaicing.mosaicing_CFA_Bayer(image, cfa)
    )


def test_mosaic_keeps_dtype_and_odd_sizes():
    rgb = np.arange(5 * 7 * 3, dtype=np.uint16).reshape(5, 7, 3)
    out = mosaic(rgb, "GRBG")
    assert out.dtype == np.uint16 and out.shape == (5, 7)
    np.testing.assert_array_equal(out, colour_demosaicing.mosaicing_CFA_Bayer(rgb, "GRBG"))


@pytest.mark.parametrize("cfa", CFAS)
@pytest.mark.parametrize("method", ["bilinear", "malvar2004"])
def test_demosaic_equals_colour_demosaicing_inside(image, cfa, method):
    bayer = mosaic(image, cfa)
    ours = demosaic(bayer, cfa, method)
    theirs = PEERS[method](bayer, cfa)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours[2:-2, 2:-2], theirs[2:-2, 2:-2], atol=1e-4)
    # the borders differ only by the documented mirroring
    assert np.abs(ours - theirs).max() > 1e-4


@pytest.mark.parametrize("cfa", CFAS)
@pytest.mark.parametrize("method", ["bilinear", "malvar2004"])
def test_demosaic_kernel_equals_numpy_twin_everywhere(image, cfa, method):
    bayer = mosaic(image, cfa)
    ours = demosaic(bayer, cfa, method)
    np.testing.assert_allclose(ours, demosaic_reference(bayer, cfa, method), rtol=0, atol=1e-12)


def test_demosaic_border_uses_true_sites():
    """Mirroring keeps the CFA phase: a flat colour field is reproduced exactly, borders too."""
    flat = np.empty((6, 8, 3))
    flat[...] = [0.2, 0.5, 0.7]
    for cfa in CFAS:
        np.testing.assert_allclose(demosaic(mosaic(flat, cfa), cfa, "bilinear"), flat)
        np.testing.assert_allclose(demosaic(mosaic(flat, cfa), cfa, "malvar2004"), flat)


def test_demosaic_dtypes():
    bayer = np.full((4, 4), 1000, np.uint16)
    out = demosaic(bayer, "RGGB")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 1000)


@pytest.mark.parametrize("cfa", CFAS)
def test_pack_order_and_round_trip(cfa):
    bayer = np.arange(6 * 8, dtype=np.uint16).reshape(6, 8)
    packed = pack(bayer, cfa)
    assert packed.shape == (3, 4, 4) and packed.flags.c_contiguous
    np.testing.assert_array_equal(packed[..., 0], bayer[0::2, 0::2])
    np.testing.assert_array_equal(packed[..., 1], bayer[0::2, 1::2])
    np.testing.assert_array_equal(packed[..., 2], bayer[1::2, 0::2])
    np.testing.assert_array_equal(packed[..., 3], bayer[1::2, 1::2])
    np.testing.assert_array_equal(unpack(packed, cfa), bayer)


def test_rggb_packed_planes_are_r_gr_gb_b():
    rgb = np.zeros((2, 2, 3))
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 1.0, 2.0, 3.0
    np.testing.assert_array_equal(pack(mosaic(rgb, "RGGB"), "RGGB")[0, 0], [1, 2, 2, 3])
    np.testing.assert_array_equal(pack(mosaic(rgb, "BGGR"), "BGGR")[0, 0], [3, 2, 2, 1])


def test_cfa_channels():
    np.testing.assert_array_equal(cfa_channels("GBRG"), [[1, 2], [0, 1]])


def test_errors():
    with pytest.raises(ValueError, match=r"cfa must be one of .* got 'BG'"):
        mosaic(np.zeros((4, 4, 3)), "BG")
    with pytest.raises(ValueError, match=r"method must be one of .* got 'vng'"):
        demosaic(np.zeros((4, 4)), "RGGB", "vng")
    with pytest.raises(ValueError, match=r"even, non-zero height and width .* got 5×4"):
        pack(np.zeros((5, 4)), "RGGB")
    with pytest.raises(ValueError, match=r"even, non-zero height and width .* got 4×3"):
        demosaic(np.zeros((4, 3)), "RGGB")
    with pytest.raises(ValueError, match=r"bayer contains 1 NaN"):
        demosaic(np.array([[np.nan, 0], [0, 0]]), "RGGB")
    with pytest.raises(ValueError, match=r"4 channels .* got shape \(2, 2, 3\)"):
        unpack(np.zeros((2, 2, 3)), "RGGB")
    with pytest.raises(ValueError, match=r"bayer must have shape \(H, W\)"):
        demosaic(np.zeros((4, 4, 1)), "RGGB")


def test_inputs_unchanged(image):
    before = image.copy()
    bayer = mosaic(image, "RGGB")
    bayer_before = bayer.copy()
    demosaic(bayer, "RGGB", "malvar2004")
    pack(bayer, "RGGB")
    np.testing.assert_array_equal(image, before)
    np.testing.assert_array_equal(bayer, bayer_before)
