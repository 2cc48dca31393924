"""`rawspace.spec`: the constants of Brooks et al. and of sRGB, and the curve registries."""

from __future__ import annotations

import ast
import math
import typing
from pathlib import Path

import colour
import numpy as np
import pytest

from rawspace import _kernels, spec
from rawspace.curves import gamma_code, gamma_compress, gamma_expand, tone_code
from rawspace.hints import GAMMAS, TONES, Gamma, Tone

ROOT = Path(__file__).resolve().parents[1]


def test_constants_are_those_of_the_paper_and_of_srgb():
    # Brooks et al. (CVPR 2019), as the technical reference quotes them.
    np.testing.assert_array_equal(
        spec.RGB2XYZ,
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ],
    )
    assert spec.XYZ2CAM_PRESETS.shape == (4, 3, 3)
    np.testing.assert_array_equal(
        spec.XYZ2CAM_PRESETS[0],
        [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
    )
    np.testing.assert_array_equal(
        spec.XYZ2CAM_PRESETS[3],
        [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
    )
    assert not spec.RGB2XYZ.flags.writeable and not spec.XYZ2CAM_PRESETS.flags.writeable
    assert spec.CCM_WEIGHT_RANGE == (1e-8, 1e8)
    assert spec.RGB_GAIN_INVERSE == (0.8, 0.1)
    assert spec.RED_GAIN_RANGE == (1.9, 2.4)
    assert spec.BLUE_GAIN_RANGE == (1.5, 1.9)
    assert (spec.HIGHLIGHT_START, spec.HIGHLIGHT_WIDTH, spec.HIGHLIGHT_SLOPE) == (0.9, 0.1, 10.0)
    assert (spec.POWER_GAMMA, spec.GAMMA_FLOOR) == (2.2, 1e-8)
    assert spec.LOG_SHOT_RANGE == (math.log(1e-4), math.log(0.012))  # natural, not log10
    assert (spec.LOG_READ_SLOPE, spec.LOG_READ_OFFSET, spec.LOG_READ_SIGMA) == (2.18, 1.20, 0.26)
    # The sRGB constants against colour-science's, an independent statement of IEC 61966-2-1.
    x = np.linspace(0.0, 1.0, 1001)
    srgb = np.where(
        x <= spec.SRGB_LINEAR_KNEE,
        spec.SRGB_SLOPE * x,
        spec.SRGB_SCALE * x ** (1 / spec.SRGB_EXPONENT) - spec.SRGB_OFFSET,
    )
    np.testing.assert_allclose(srgb, colour.cctf_encoding(x, function="sRGB"), atol=1e-12)
    assert spec.SRGB_KNEE == pytest.approx(spec.SRGB_LINEAR_KNEE * spec.SRGB_SLOPE, abs=1e-6)


def test_registries_cover_the_vocabularies_with_codes_0_to_n():
    assert set(spec.TONE_CURVES) == set(TONES) == set(typing.get_args(Tone))
    assert set(spec.GAMMA_CURVES) == set(GAMMAS) == set(typing.get_args(Gamma))
    for registry in (spec.TONE_CURVES, spec.GAMMA_CURVES):
        assert sorted(c.code for c in registry.values()) == list(range(len(registry)))
        assert all(name == curve.name for name, curve in registry.items())
        with pytest.raises(TypeError):
            registry["other"] = None  # type: ignore[index]
    assert spec.TONE_CURVES["none"].code == 0  # the identity is code 0
    assert [tone_code(t) for t in TONES] == [spec.TONE_CURVES[t].code for t in TONES]
    assert [gamma_code(g) for g in GAMMAS] == [spec.GAMMA_CURVES[g].code for g in GAMMAS]


def test_curve_pairs_are_indexed_by_curve_pair_index():
    assert len(spec.CURVE_PAIRS) == len(TONES) * len(GAMMAS)
    assert set(spec.CURVE_PAIRS) == {(t, g) for t in TONES for g in GAMMAS}
    for i, (tone, gamma) in enumerate(spec.CURVE_PAIRS):
        assert spec.curve_pair_index(tone, gamma) == i
    with pytest.raises(ValueError, match="tone must be one of"):
        spec.curve_pair_index("gamma", "srgb")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gamma must be one of"):
        spec.curve_pair_index("none", "power2.4")  # type: ignore[arg-type]


def test_curves_and_kernels_read_the_registry():
    assert _kernels.HIGHLIGHT_SLOPE is spec.HIGHLIGHT_SLOPE
    assert _kernels.GAMMA_FLOOR is spec.GAMMA_FLOOR
    assert _kernels._SMOOTHSTEP == spec.TONE_CURVES["smoothstep"].code
    assert _kernels._POWER == spec.GAMMA_CURVES["power2.2"].code
    x = np.linspace(0.0, 1.0, 257)
    np.testing.assert_array_equal(
        gamma_expand(x, "power2.2"), np.maximum(x, spec.GAMMA_FLOOR) ** spec.POWER_GAMMA
    )
    np.testing.assert_allclose(
        gamma_compress(x, "srgb"), colour.cctf_encoding(x, function="sRGB"), atol=1e-12
    )
    np.testing.assert_allclose(
        gamma_expand(x, "srgb"), colour.cctf_decoding(x, function="sRGB"), atol=1e-12
    )


# Numbers that only the specification spells: a second copy anywhere is a second home.
_SPEC_NUMBERS = {0.04045, 12.92, 0.0031308, 1.055, 0.4124564, 1.0234, 2.18, 0.012}


@pytest.mark.parametrize("package", ["rawspace", "classifiers"])
def test_no_module_declares_the_constants_again(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        if path == ROOT / "rawspace" / "spec.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and type(node.value) is float:
                if node.value in _SPEC_NUMBERS:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert not offenders, "import these from rawspace.spec:\n" + "\n".join(offenders)
