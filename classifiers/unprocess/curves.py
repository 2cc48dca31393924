"""The tone curves and gammas of the torch backend, both directions, per sample.

The same curves as :mod:`rawspace.curves`, with the constants and the vocabulary
(names, codes, the index of a (tone, gamma) pair) of :mod:`rawspace.spec`. Each camera
of a :class:`~classifiers.unprocess.Cameras` table has its own pair; the functions
here apply each sample's pair, and evaluate only the curves that some camera uses.
All are differentiable (apart from the uint8 look-up tables): with gradients enabled
they work out of place, without (the default path of ``invert``) in place on their
temporaries.
"""

from __future__ import annotations

import math

import torch

from rawspace.hints import Gamma, Tone
from rawspace.spec import (
    CURVE_PAIRS,
    GAMMA_CURVES,
    GAMMA_FLOOR,
    POWER_GAMMA,
    SRGB_EXPONENT,
    SRGB_KNEE,
    SRGB_LINEAR_KNEE,
    SRGB_OFFSET,
    SRGB_SCALE,
    SRGB_SLOPE,
    TONE_CURVES,
)

from .cameras import _COL, Cameras

__all__: list[str] = []

_SMOOTHSTEP = TONE_CURVES["smoothstep"].code
_SRGB = GAMMA_CURVES["srgb"].code


def _per_sample(values: torch.Tensor, ndim: int) -> torch.Tensor:
    """(N,) → (N, 1, …, 1) with ``ndim`` dimensions, to broadcast over a batch."""
    return values.reshape(-1, *([1] * (ndim - 1)))


def _tones(cams: Cameras) -> set[Tone]:
    return {CURVE_PAIRS[c][0] for c in cams.curves}


def _gammas(cams: Cameras) -> set[Gamma]:
    return {CURVE_PAIRS[c][1] for c in cams.curves}


def _is_compiling() -> bool:
    check = getattr(torch.compiler, "is_compiling", None)  # torch >= 2.3
    return bool(check()) if check is not None else False


# --------------------------------------------------------------------------- inverse
def _linearize_lut(rgb: torch.Tensor, cams: Cameras, mosaic: bool) -> torch.Tensor:
    """uint8 (N, 3, H, W) → linear float32 through the core's tables: one gather.

    ``mosaic``: the result is (N, 3, 2, 2, H/2, W/2), in CFA site order.
    """
    n, _, h, w = rgb.shape
    shape = (n, 3, 2, 2, h // 2, w // 2) if mosaic else (n, 3, h, w)
    src = rgb.view(n, 3, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4) if mosaic else rgb
    if len(cams.curves) == 1:
        table = cams.lut[next(iter(cams.curves))]
        offset = None
    else:
        table = cams.lut.reshape(-1)
        offset = _per_sample(cams.data[:, _COL["curve"].start].to(torch.int32), len(shape))
    if _is_compiling():  # functional form: the gather fuses with what follows
        index = src.to(torch.int32) if offset is None else src + offset
        return table[index]
    # eager: the int32 index in site order, written in one pass, then one gather
    index = torch.empty(shape, dtype=torch.int32, device=rgb.device)
    if offset is None:
        index.copy_(src)
    else:
        torch.add(src, offset, out=index)
    return table.index_select(0, index.view(-1)).view(shape)


def _inverse_smoothstep(y: torch.Tensor) -> torch.Tensor:
    """``0.5 − sin(asin(1 − 2y) / 3)`` in a form without cancellation near 0 and 1.

    With ``s = min(y, 1 − y)`` and ``a = asin(√s) / 3`` the inverse is ``2 sin(a) sin(a +
    π/3)`` for ``y ≤ 0.5`` and one minus that above (the curve is symmetric about
    (½, ½)); ``asin(1 − 2s) = π/2 − 2 asin(√s)`` makes them equal to the formula.
    """
    s = torch.minimum(y, 1.0 - y)
    if torch.is_grad_enabled():  # out of place, for autograd
        a = s.sqrt().asin() * (1.0 / 3.0)
        f = 2.0 * torch.sin(a) * torch.sin(a + math.pi / 3.0)
    else:  # the same in place on the temporaries: fewer passes over memory
        a = s.sqrt_().asin_().mul_(1.0 / 3.0)
        f = torch.sin(a).mul_(a.add_(math.pi / 3.0).sin_()).mul_(2.0)
    return torch.where(y > 0.5, 1.0 - f, f)


def _gamma_expand(x: torch.Tensor, gamma: Gamma) -> torch.Tensor:
    in_place = not torch.is_grad_enabled()
    if gamma == "power2.2":
        floor = x.clamp_min(GAMMA_FLOOR)
        return floor.pow_(POWER_GAMMA) if in_place else floor.pow(POWER_GAMMA)
    shifted = (x + SRGB_OFFSET) / SRGB_SCALE
    curve = shifted.pow_(SRGB_EXPONENT) if in_place else shifted.pow(SRGB_EXPONENT)
    return torch.where(x <= SRGB_KNEE, x / SRGB_SLOPE, curve)


def linearize(y: torch.Tensor, cams: Cameras) -> torch.Tensor:
    """Encoded values in [0, 1] (N, …) → linear: each sample's inverse tone, then gamma."""
    tones = _tones(cams)
    if tones == {"smoothstep"}:
        y = _inverse_smoothstep(y)
    elif len(tones) > 1:
        smooth = _per_sample(cams.data[:, _COL["tone"].start] == _SMOOTHSTEP, y.ndim)
        y = torch.where(smooth, _inverse_smoothstep(y), y)
    gammas = _gammas(cams)
    if len(gammas) == 1:
        return _gamma_expand(y, next(iter(gammas)))
    srgb = _per_sample(cams.data[:, _COL["gamma"].start] == _SRGB, y.ndim)
    return torch.where(srgb, _gamma_expand(y, "srgb"), _gamma_expand(y, "power2.2"))


# --------------------------------------------------------------------------- forward
def _smoothstep(x: torch.Tensor) -> torch.Tensor:
    return x * x * (3.0 - 2.0 * x)


def _gamma_compress(x: torch.Tensor, gamma: Gamma) -> torch.Tensor:
    if gamma == "power2.2":
        return x.clamp_min(GAMMA_FLOOR).pow(1.0 / POWER_GAMMA)
    power = SRGB_SCALE * x.clamp_min(SRGB_LINEAR_KNEE).pow(1.0 / SRGB_EXPONENT) - SRGB_OFFSET
    return torch.where(x <= SRGB_LINEAR_KNEE, SRGB_SLOPE * x, power)


def render(x: torch.Tensor, cams: Cameras) -> torch.Tensor:
    """Linear values in [0, 1] (N, …) → encoded: each sample's gamma, then tone curve."""
    gammas = _gammas(cams)
    if len(gammas) == 1:
        y = _gamma_compress(x, next(iter(gammas)))
    else:
        srgb = _per_sample(cams.data[:, _COL["gamma"].start] == _SRGB, x.ndim)
        y = torch.where(srgb, _gamma_compress(x, "srgb"), _gamma_compress(x, "power2.2"))
    tones = _tones(cams)
    if tones == {"smoothstep"}:
        return _smoothstep(y)
    if len(tones) > 1:
        smooth = _per_sample(cams.data[:, _COL["tone"].start] == _SMOOTHSTEP, y.ndim)
        return torch.where(smooth, _smoothstep(y), y)
    return y
