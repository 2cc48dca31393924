"""Tone curves and gammas: reference values, inverse pairs and look-up tables."""

from __future__ import annotations

import numpy as np
import pytest

from rawspace.curves import (
    gamma_compress,
    gamma_expand,
    inverse_tone_map,
    linearize_lut,
    render_thresholds,
    tone_map,
)

x = np.linspace(0.0, 1.0, 2001)


def test_smoothstep_reference_values():
    np.testing.assert_allclose(tone_map(np.array([0.0, 0.25, 0.5, 1.0])), [0, 0.15625, 0.5, 1])
    np.testing.assert_allclose(inverse_tone_map(np.array([0.15625, 0.5])), [0.25, 0.5])


def test_srgb_reference_values():
    # IEC 61966-2-1: 0.5 encoded is 0.2140 linear; 0.04045 is the break point
    assert gamma_expand(np.array(0.5), "srgb") == pytest.approx(0.21404114, abs=1e-8)
    assert gamma_expand(np.array(0.04045), "srgb") == pytest.approx(0.04045 / 12.92)
    assert gamma_compress(np.array(0.18), "srgb") == pytest.approx(0.46135613, abs=1e-8)


def test_power_gamma_reference_values():
    assert gamma_expand(np.array(0.5)) == pytest.approx(0.5**2.2)
    assert gamma_expand(np.array(0.0)) == pytest.approx(1e-8**2.2)


@pytest.mark.parametrize("tone", ["smoothstep", "none"])
def test_tone_inverse_pairs(tone):
    np.testing.assert_allclose(tone_map(inverse_tone_map(x, tone), tone), x, atol=1e-12)


@pytest.mark.parametrize("gamma", ["power2.2", "srgb"])
def test_gamma_inverse_pairs(gamma):
    inside = x[x > 1e-6]
    np.testing.assert_allclose(gamma_compress(gamma_expand(inside, gamma), gamma), inside)


def test_curves_clip_inputs():
    assert tone_map(np.array(1.5)) == 1.0
    assert inverse_tone_map(np.array(-0.5)) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_linearize_lut_matches_formulas(dtype):
    lut = linearize_lut(dtype, "smoothstep", "srgb")
    top = np.iinfo(dtype).max
    assert lut.shape == (top + 1,) and not lut.flags.writeable
    codes = np.array([0, 1, top // 3, top])
    np.testing.assert_allclose(
        lut[codes], gamma_expand(inverse_tone_map(codes / top, "smoothstep"), "srgb")
    )
    assert linearize_lut(dtype, "smoothstep", "srgb") is lut


@pytest.mark.parametrize("tone", ["smoothstep", "none"])
@pytest.mark.parametrize("gamma", ["power2.2", "srgb"])
def test_render_thresholds_give_the_rounded_code(tone, gamma):
    thresholds, start = render_thresholds(tone, gamma)
    assert thresholds.shape == (255,) and np.all(np.diff(thresholds) > 0)
    v = np.random.default_rng(0).random(20000) ** 3
    direct = np.floor(tone_map(gamma_compress(v, gamma), tone) * 255 + 0.5)
    np.testing.assert_array_equal(np.searchsorted(thresholds, v, side="right"), direct)
    grid = np.arange(start.size) / (start.size - 1)
    np.testing.assert_array_equal(start, np.searchsorted(thresholds, grid, side="right"))


def test_unknown_curves():
    with pytest.raises(ValueError, match=r"tone must be one of .* got 'log'"):
        tone_map(x, "log")
    with pytest.raises(ValueError, match=r"gamma must be one of .* got 'bt709'"):
        gamma_expand(x, "bt709")
    with pytest.raises(ValueError, match=r"dtype must be uint8 or uint16, got int32"):
        linearize_lut(np.int32, "none", "srgb")
