"""Batched development in torch: :func:`develop`, simulated camera raw → sRGB.

The exact inverse of :func:`classifiers.unprocess.invert` and the same steps as
:func:`rawspace.develop`: black and white levels, per-site saturation (cameras without
the highlight blend), bilinear demosaic (:func:`classifiers.bayer.demosaic`), clip to
[0, 1], the exact inverse of the highlight-preserving gains (the gray level of each
pixel solved by safeguarded Newton steps, as the core's kernel), camera → linear sRGB,
clip, then gamma and tone curve. The arithmetic is float64 whatever the input.
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from rawspace.hints import CFA_PATTERNS, LAYOUTS, Layout
from rawspace.spec import HIGHLIGHT_SLOPE, HIGHLIGHT_START

from .. import bayer
from .cameras import _COL, Cameras, CameraSource
from .curves import render
from .pipeline import Scale, _as_cameras

__all__ = ["develop"]

_CHANNELS = {"bayer": 1, "packed": 4, "linear": 3}
#: Newton steps at most per pixel; the core's kernel allows 100 and needs about 5.
_NEWTON_STEPS = 100


def _check_raw(raw: Any, layout: Any, scale: Any, output: Any) -> torch.Tensor:
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if scale not in ("unit", "levels"):
        raise ValueError(f"scale must be 'unit' or 'levels', got {scale!r}")
    if output not in ("srgb", "linear"):
        raise ValueError(f"output must be 'srgb' or 'linear', got {output!r}")
    if not isinstance(raw, torch.Tensor):
        raise TypeError(f"raw must be a torch.Tensor, got {type(raw).__name__}")
    c = _CHANNELS[layout]
    if raw.ndim != 4 or raw.shape[1] != c or 0 in raw.shape:
        raise ValueError(
            f"raw must have shape (N, {c}, H, W) for layout={layout!r}, got {tuple(raw.shape)}"
        )
    if not raw.is_floating_point():
        raise TypeError(f"raw must be a float tensor (uint16 values as float), got {raw.dtype}")
    return raw


def _column(cams: Cameras, name: str) -> torch.Tensor:
    """Column block ``name`` of the table as (N, width, 1, 1), float64."""
    return cams.data[:, _COL[name]].reshape(len(cams), -1, 1, 1)


def _demosaic(mosaic: torch.Tensor, cams: Cameras) -> torch.Tensor:
    """Bilinear demosaic of each sample with its camera's CFA."""
    codes = cams.cfa
    present = sorted(int(c) for c in torch.unique(codes).tolist())  # synchronises
    if len(present) == 1:
        return bayer.demosaic(mosaic, CFA_PATTERNS[present[0]])
    out = mosaic.new_empty((mosaic.shape[0], 3, *mosaic.shape[2:]))
    for code in present:
        pick = codes == code
        out[pick] = bayer.demosaic(mosaic[pick], CFA_PATTERNS[code])
    return out


def _solve_gray(r: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The exact inverse of ``r = x · (g + m(mean x) · max(1 − g, 0))`` for (M, 3) pixels
    whose plain division ``mean(r / g)`` exceeds the start of the blend.

    As ``rawspace._kernels._undo_inverse_gains``: the gray level ``t`` solves
    ``mean(r / f(t)) = t`` (the left side does not increase with ``t``); safeguarded
    Newton steps on ``(start, mean(r / g)]``, each pixel frozen once it has converged.
    """
    a = (1.0 - g).clamp_min(0.0)
    t = (r / g).mean(dim=1)
    lo, hi = torch.full_like(t, HIGHLIGHT_START), t.clone()
    active = torch.ones_like(t, dtype=torch.bool)
    for _ in range(_NEWTON_STEPS):
        d = t - HIGHLIGHT_START
        m = (d * HIGHLIGHT_SLOPE).clamp_min(0.0).square()[:, None]
        dm = (2.0 * d * HIGHLIGHT_SLOPE * HIGHLIGHT_SLOPE)[:, None]
        f = g + m * a
        h = (r / f).mean(dim=1) - t
        lo, hi = torch.where(h > 0, t, lo), torch.where(h > 0, hi, t)
        dh = -(r * a / (f * f) * dm).sum(dim=1) / 3.0 - 1.0
        step = t - h / dh
        step = torch.where((lo < step) & (step < hi), step, 0.5 * (lo + hi))
        done = (step - t).abs() <= 4e-16 * t
        t = torch.where(active, step, t)
        active = active & ~done
        if not bool(active.any()):  # synchronises; the loop is short
            break
    m = ((t - HIGHLIGHT_START) * HIGHLIGHT_SLOPE).clamp_min(0.0).square()[:, None]
    return r / (g + m * a)


def _undo_gains(cam: torch.Tensor, cams: Cameras) -> torch.Tensor:
    """Camera RGB in [0, 1] (N, 3, H, W) → white-balanced camera RGB, exactly inverted."""
    gain = _column(cams, "gain")  # the inverse gains g = 1 / wb_gains
    x = cam / gain
    blend = cams.highlight_blend.reshape(-1, 1, 1, 1)
    x = torch.where(blend, x, x.clamp(0.0, 1.0))  # plain white balance saturates, as LibRaw
    inside = blend[:, 0] & (x.sum(dim=1) > 3.0 * HIGHLIGHT_START)  # (N, H, W)
    if not bool(inside.any()):  # synchronises
        return x
    pixels = cam.permute(0, 2, 3, 1)[inside]
    g = gain.permute(0, 2, 3, 1).expand(-1, *inside.shape[1:], 3)[inside]
    out = x.permute(0, 2, 3, 1).clone()
    out[inside] = _solve_gray(pixels, g)
    return out.permute(0, 3, 1, 2)


def develop(
    raw: torch.Tensor,
    cameras: CameraSource,
    *,
    layout: Layout = "packed",
    scale: Scale = "unit",
    output: Literal["srgb", "linear"] = "srgb",
) -> torch.Tensor:
    """Render a batch of raw images to sRGB: the exact inverse of :func:`invert`.

    Parameters
    ----------
    raw : torch.Tensor
        Float (N, 1, H, W) mosaics, (N, 4, H/2, W/2) site planes or (N, 3, H, W)
        camera RGB, on any device: values in [0, 1] (``scale="unit"``) or the core's
        levels between each camera's black and white level (``scale="levels"``, uint16
        values as float). Negative values count as 0.
    cameras : Cameras, CameraParams or sequence of CameraParams
        One camera per image, or one for all (as :func:`invert`).
    layout : {"bayer", "packed", "linear"}
    scale : {"unit", "levels"}
    output : {"srgb", "linear"}
        ``"linear"`` stops before the gamma and the tone curve (linear sRGB).

    Returns
    -------
    torch.Tensor
        (N, 3, H, W) in [0, 1], float64 for float64 input, float32 otherwise.

    Notes
    -----
    Equals ``rawspace.develop(RawImage(...), dtype=numpy.float32)`` per image (moved to
    channel-first) to float32 rounding (both compute in float64);
    ``develop(invert(x, c, layout="linear"), c, layout="linear")`` gives ``x`` back where
    nothing clipped. Mixed CFAs in one batch are demosaicked pattern by pattern.

    Examples
    --------
    >>> from rawspace import CameraParams
    >>> from classifiers.unprocess import invert
    >>> camera = CameraParams.sample(0)
    >>> x = torch.full((1, 3, 4, 4), 0.5)
    >>> back = develop(invert(x, camera, layout="packed"), camera, layout="packed")
    >>> bool((back - x).abs().max() < 1e-5)
    True
    """
    raw = _check_raw(raw, layout, scale, output)
    cams = _as_cameras(cameras, raw.shape[0], raw.device)
    x = raw.to(torch.float64)
    if scale == "levels":
        black = _column(cams, "black_level")
        x = (x - black) / (_column(cams, "white_level") - black)
    x = x.clamp_min(0.0)
    if layout == "linear":
        cam = x
    else:
        planes = x if layout == "packed" else bayer.pack(x)
        limit = torch.where(
            cams.highlight_blend.reshape(-1, 1, 1, 1),
            torch.full_like(_column(cams, "site_gain"), torch.inf),
            _column(cams, "site_gain"),  # saturate at 1 after the gain, as LibRaw
        )
        cam = _demosaic(bayer.unpack(torch.minimum(planes, limit)), cams)
    lin = _undo_gains(cam.clamp(0.0, 1.0), cams)
    m = torch.linalg.inv(cams.rgb2cam).reshape(-1, 3, 3, 1, 1)
    l0, l1, l2 = lin[:, 0:1], lin[:, 1:2], lin[:, 2:3]
    srgb = (m[:, :, 0] * l0 + m[:, :, 1] * l1 + m[:, :, 2] * l2).clamp(0.0, 1.0)
    if output == "srgb":
        srgb = render(srgb, cams)
    return srgb.to(torch.float64 if raw.dtype == torch.float64 else torch.float32)
