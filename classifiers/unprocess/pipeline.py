"""Batched unprocessing in torch: :func:`invert`, sRGB → simulated camera raw on any device.

The same formulas as :func:`rawspace.invert` (Brooks et al., CVPR 2019), applied to a
whole batch of images at once, each with its own camera: inverse tone curve, gamma
expansion, sRGB→camera colour matrix, highlight-preserving inverse white balance and
digital gain, clip to [0, 1], Bayer mosaic, optional sensor noise, clip again.

Two paths compute it. The default one runs under ``torch.no_grad`` and writes in place,
in cache-sized parts on CPU and as one fused kernel under ``torch.compile``. With
``differentiable=True`` every step is an out-of-place autograd operation, so gradients
flow from the raw output back to a float input (learned ISPs, adversarial cameras).

The batch is processed at once (on CPU in cache-sized parts of whole images); per
sample parameters are gathered from the table, so nothing waits for the device except
the float range check. Under ``torch.compile`` the pixel work becomes one fused kernel
(``fullgraph=True`` works without a ``generator``; with one, dynamo breaks the graph at
the random draws, which run eagerly before that kernel).

Precision: the arithmetic is float32 on the device; the curves of uint8 images come
from the core's float64 look-up tables (:func:`rawspace.curves.linearize_lut`), float
images are linearised in float32 (float64 for float64 input) with a form of the
inverse smoothstep that stays accurate near 0 and 1. On CPU the result matches
``rawspace.invert(image, camera, layout=..., dtype=numpy.float32).data`` to about 1e-6
(tested to ≤ 1e-5). The per-pixel colour products are element-wise operations, not
matrix multiplications, so TF32 settings of the device never change the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch

from rawspace.hints import CFA_PATTERNS, LAYOUTS, Layout
from rawspace.params import CameraParams
from rawspace.spec import HIGHLIGHT_START

from .. import bayer
from .cameras import _COL, Cameras, CameraSource
from .curves import _is_compiling, _linearize_lut, linearize
from .noise import NoiseArg, _add_noise, _noise_levels, _noisy

__all__ = ["Scale", "invert"]

#: Scaling of raw values: ``"unit"`` in [0, 1], or ``"levels"``, the core's convention
#: (integer values between each camera's black and white level, as ``uint16`` raw data).
Scale = Literal["unit", "levels"]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
#: Colour channel of each packed site, one row per pattern of CFA_PATTERNS (Cameras.cfa).
_SITE_CHANNELS = torch.tensor([bayer.site_channels(cfa) for cfa in CFA_PATTERNS])


# --------------------------------------------------------------------------- checks
def _check_rgb(rgb: Any, layout: str, check_range: bool) -> torch.Tensor:
    if not isinstance(rgb, torch.Tensor):
        raise TypeError(f"rgb must be a torch.Tensor, got {type(rgb).__name__}")
    if rgb.ndim != 4 or rgb.shape[1] != 3:
        hint = (
            " (channel-first: use rgb.permute(0, 3, 1, 2) for channel-last images)"
            if rgb.ndim == 4 and rgb.shape[-1] == 3
            else ""
        )
        raise ValueError(f"rgb must have shape (N, 3, H, W){hint}, got shape {tuple(rgb.shape)}")
    if rgb.dtype != torch.uint8 and rgb.dtype not in _FLOAT_DTYPES:
        raise TypeError(f"rgb must be uint8 or float in [0, 1], got dtype {rgb.dtype}")
    n, _, h, w = rgb.shape
    if n == 0 or h == 0 or w == 0:
        raise ValueError(f"rgb must not be empty, got shape {tuple(rgb.shape)}")
    if layout != "linear" and (h % 2 or w % 2):
        raise ValueError(
            f"rgb must have even height and width for layout={layout!r}, got {h}×{w}; "
            "crop or pad it, or use layout='linear'"
        )
    if check_range and rgb.dtype != torch.uint8:
        lo, hi = (float(v) for v in torch.aminmax(rgb.detach().float()))  # synchronises
        if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both
            raise ValueError(
                f"rgb is a float image and must lie in [0, 1], got values in [{lo:.6g}, {hi:.6g}]"
            )
    return rgb


def _as_cameras(cameras: Any, n: int, device: torch.device) -> Cameras:
    """``cameras`` as a table on ``device`` with one camera per image (a view for one)."""
    if isinstance(cameras, CameraParams):
        cameras = Cameras.stack(cameras, device=device)
    elif not isinstance(cameras, Cameras):
        if isinstance(cameras, (str, bytes)) or not isinstance(cameras, Sequence):
            raise TypeError(
                "cameras must be a Cameras, a CameraParams or a sequence of CameraParams, "
                f"got {type(cameras).__name__}"
            )
        if len(cameras) not in (1, n):
            raise ValueError(
                f"cameras must hold one camera per image (N = {n}) or one for all, "
                f"got {len(cameras)}"
            )
        for i, p in enumerate(cameras):
            if not isinstance(p, CameraParams):
                raise TypeError(f"cameras[{i}] must be a CameraParams, got {type(p).__name__}")
        cameras = Cameras.stack(cameras, device=device)
    if len(cameras) not in (1, n):
        raise ValueError(
            f"cameras must hold one camera per image (N = {n}) or one for all, got {len(cameras)}"
        )
    cameras = cameras.to(device)
    return cameras.expand(n) if len(cameras) == 1 and n > 1 else cameras


def _linearize_float(rgb: torch.Tensor, cams: Cameras, mosaic: bool) -> torch.Tensor:
    """Float (N, 3, H, W) → linear float32 by the formulas (float64 for float64 input)."""
    dtype = torch.float64 if rgb.dtype == torch.float64 else torch.float32
    y = bayer.split_sites(rgb, dtype) if mosaic else rgb.to(dtype)
    return linearize(y.clamp(0.0, 1.0), cams).to(torch.float32)


# --------------------------------------------------------------------------- colour
def _clamp_into(v: torch.Tensor, dst: torch.Tensor) -> None:
    """``dst[...] = clip(v, 0, 1)``; ``dst`` may be a strided view (the Bayer sites)."""
    if _is_compiling():  # dynamo refuses out= with non-contiguous tensors; all is fused
        dst.copy_(v.clamp_(0.0, 1.0))
    else:  # eager: one pass, written straight through the view
        torch.clamp(v, 0.0, 1.0, out=dst)


def _mul_into(a: torch.Tensor, b: torch.Tensor, dst: torch.Tensor) -> None:
    """``dst[...] = a * b``, as :func:`_clamp_into`."""
    if _is_compiling():
        dst.copy_(a * b)
    else:
        torch.mul(a, b, out=dst)


def _float_table(cams: Cameras) -> torch.Tensor:
    """The table's columns up to the coefficients, as float32 (one small cast per call)."""
    return cams.data[:, : _COL["curve"].start].to(torch.float32)


def _coefficients(table: torch.Tensor, name: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Column block ``name`` of :func:`_float_table` as a (N, *shape) view."""
    return table[:, _COL[name]].reshape(-1, *shape)


def _camera_mosaic(lin: torch.Tensor, cams: Cameras, dst: torch.Tensor) -> None:
    """Linear sRGB (N, 3, 2, 2, h, w) → clipped mosaic written into ``dst`` (N, 2, 2, h, w).

    Per site only the site channel's row of the colour matrix is applied, and the gray
    level (mean of the three camera channels) for the highlight blend.
    """
    l0, l1, l2 = lin.unbind(1)
    table = _float_table(cams)
    if cams.any_blend:
        rows = _coefficients(table, "site_rows", (3, 2, 2, 1, 1)).unbind(1)
        gray = _coefficients(table, "gray", (3, 1, 1, 1, 1)).unbind(1)
        gain = _coefficients(table, "site_gain", (2, 2, 1, 1))
        slope = _coefficients(table, "site_slope", (2, 2, 1, 1))
        # t = max(gray - 0.9, 0); the gain max(m + (1 - m) g, g) with m = 100 t² is
        # g + m · max(1 - g, 0) (m ≥ 0), so f = gain + t² · slope.
        t = torch.addcmul(torch.full_like(gray[0], -HIGHLIGHT_START), l0, gray[0])
        t.addcmul_(l1, gray[1]).addcmul_(l2, gray[2]).clamp_min_(0.0).square_()
        f = torch.addcmul(gain, t, slope)
    else:
        rows = _coefficients(table, "site_rows_g", (3, 2, 2, 1, 1)).unbind(1)
    v = torch.mul(l0, rows[0])
    v.addcmul_(l1, rows[1]).addcmul_(l2, rows[2])
    if cams.any_blend:
        v.mul_(f)
    _clamp_into(v, dst)


def _camera_linear(lin: torch.Tensor, cams: Cameras, out: torch.Tensor) -> None:
    """Linear sRGB (N, 3, H, W) → clipped camera RGB written into ``out`` (N, 3, H, W)."""
    l0, l1, l2 = lin.unbind(1)
    table = _float_table(cams)
    name = "rgb2cam" if cams.any_blend else "matrix_g"
    m = _coefficients(table, name, (3, 3, 1, 1))
    for k in range(3):
        _mul_into(l0, m[:, k, 0], out[:, k])
        out[:, k].addcmul_(l1, m[:, k, 1]).addcmul_(l2, m[:, k, 2])
    if cams.any_blend:
        gray = _coefficients(table, "gray", (3, 1, 1)).unbind(1)
        t = torch.addcmul(torch.full_like(gray[0], -HIGHLIGHT_START), l0, gray[0])
        t.addcmul_(l1, gray[1]).addcmul_(l2, gray[2]).clamp_min_(0.0).square_()
        gain = _coefficients(table, "gain", (3, 1, 1))
        slope = _coefficients(table, "slope", (3, 1, 1))
        out.mul_(torch.addcmul(gain, t.unsqueeze(1), slope))
    out.clamp_(0.0, 1.0)


# --------------------------------------------------------------------------- batch
#: On CPU the batch is processed in parts of about this many pixels, so that the
#: intermediate tensors of a part stay in the cache (an element-wise pass over a batch
#: that does not fit runs at memory speed, several times slower). Other devices take the
#: whole batch at once; so does a ``torch.compile``d call, whose kernels are fused.
_CPU_PART_PIXELS = 1 << 17


def _chunks(n: int, pixels: int, device: torch.device) -> list[tuple[int, int]]:
    if device.type != "cpu" or _is_compiling():
        return [(0, n)]
    step = max(1, _CPU_PART_PIXELS // pixels)
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def _invert_part(rgb: torch.Tensor, cams: Cameras, layout: str, out: torch.Tensor) -> None:
    """Noise-free inversion of ``rgb`` (n, 3, H, W) into ``out`` (n, C, H', W')."""
    mosaic = layout != "linear"
    if rgb.dtype == torch.uint8:
        lin = _linearize_lut(rgb, cams, mosaic)
    else:
        lin = _linearize_float(rgb, cams, mosaic)
    if mosaic:
        _camera_mosaic(lin, cams, bayer.site_view(out, "bayer" if layout == "bayer" else "packed"))
    else:
        _camera_linear(lin, cams, out)


# --------------------------------------------------------------------------- differentiable
def _invert_differentiable(rgb: torch.Tensor, cams: Cameras, layout: str) -> torch.Tensor:
    """Noise-free inversion with out-of-place autograd operations, in ``rgb``'s float dtype
    (float32 for uint8 and half precision)."""
    dtype = torch.float64 if rgb.dtype == torch.float64 else torch.float32
    if rgb.dtype == torch.uint8:
        lin = _linearize_lut(rgb, cams, mosaic=False)
    else:
        lin = linearize(rgb.to(dtype).clamp(0.0, 1.0), cams)
    table = cams.data.to(dtype)
    m = table[:, _COL["rgb2cam"]].reshape(-1, 3, 3, 1, 1)
    l0, l1, l2 = lin[:, 0:1], lin[:, 1:2], lin[:, 2:3]
    cam = m[:, :, 0] * l0 + m[:, :, 1] * l1 + m[:, :, 2] * l2
    g = table[:, _COL["gray"]].reshape(-1, 3, 1, 1)
    gray = g[:, 0:1] * l0 + g[:, 1:2] * l1 + g[:, 2:3] * l2
    t = (gray - HIGHLIGHT_START).clamp_min(0.0).square()  # slope is 0 without the blend
    gain = table[:, _COL["gain"]].reshape(-1, 3, 1, 1)
    slope = table[:, _COL["slope"]].reshape(-1, 3, 1, 1)
    cam = (cam * (gain + t * slope)).clamp(0.0, 1.0)
    if layout == "linear":
        return cam
    n, _, h, w = cam.shape
    sites = cam.reshape(n, 3, h // 2, 2, w // 2, 2).permute(0, 3, 5, 1, 2, 4)
    chan = _SITE_CHANNELS.to(cam.device)[cams.cfa].reshape(n, 2, 2, 1, 1, 1)
    planes = sites.gather(3, chan.expand(n, 2, 2, 1, h // 2, w // 2)).reshape(n, 4, h // 2, w // 2)
    return planes if layout == "packed" else bayer.unpack(planes)


def _to_levels(x: torch.Tensor, cams: Cameras, differentiable: bool) -> torch.Tensor:
    """[0, 1] → ``round(x (white − black) + black)`` per sample, as the core's uint16 output
    (in float64, then float32; straight-through rounding on the differentiable path)."""
    black = cams.data[:, _COL["black_level"].start].reshape(-1, 1, 1, 1)
    span = cams.data[:, _COL["white_level"].start].reshape(-1, 1, 1, 1) - black
    v = x.double() * span + black
    rounded = torch.floor(v + 0.5)
    if differentiable:
        return (v + (rounded - v).detach()).to(x.dtype)
    return rounded.to(torch.float32)


# --------------------------------------------------------------------------- public
def invert(
    rgb: torch.Tensor,
    cameras: CameraSource,
    *,
    layout: Layout = "packed",
    noise: NoiseArg = None,
    generator: torch.Generator | None = None,
    check_range: bool = True,
    differentiable: bool = False,
    scale: Scale = "unit",
) -> torch.Tensor:
    """Turn a batch of sRGB images into the raw images their cameras would record.

    Parameters
    ----------
    rgb : torch.Tensor
        (N, 3, H, W) sRGB, uint8 or float (float16, bfloat16, float32, float64) in
        [0, 1], on any device. Not modified.
    cameras : Cameras, CameraParams or sequence of CameraParams
        One camera per image (N), or one for every image. A :class:`Cameras` table on
        ``rgb``'s device is the fast path; anything else is stacked (and moved) first.
    layout : {"bayer", "packed", "linear"}
        ``"bayer"``: (N, 1, H, W) mosaic; ``"packed"``: (N, 4, H/2, W/2) planes in site
        order (0,0), (0,1), (1,0), (1,1) (R, Gr, Gb, B for RGGB); ``"linear"``:
        (N, 3, H, W) camera RGB, no mosaic. Mosaic layouts need even H and W.
    noise : None, "brooks" or (shot, read)
        Sensor noise after the mosaic: none; levels drawn per sample as Brooks et al.
        (:func:`sample_noise_levels`); or explicit variances, each a float (≥ 0) or a
        float tensor of shape (N,) (values not checked). The result is clipped to
        [0, 1] again.
    generator : torch.Generator, optional
        On ``rgb``'s device. With ``"brooks"``, the levels are drawn first (as
        :func:`sample_noise_levels`); then the standard normals ``z`` with the output's
        shape: ``out = clip(x + sqrt(max(x·shot + read, 0))·z, 0, 1)``.
    check_range : bool, default True
        For float input, raise unless every value is in [0, 1]. This reads a min/max
        back to the host (a synchronisation); pass False in a hot loop, and values
        are clipped to [0, 1] as :func:`rawspace.invert` does.
    differentiable : bool, default False
        Compute with out-of-place autograd operations, so that gradients flow back to a
        float ``rgb`` (and to nothing else); the result is the same to about 1e-7. The
        default path runs under ``torch.no_grad`` and writes in place.
    scale : {"unit", "levels"}
        ``"unit"``: values in [0, 1]; ``"levels"``: the core's convention, integer
        values between each camera's black and white level (as ``rawspace.invert``'s
        uint16 data), rounded in float64 (straight-through on the differentiable path).

    Returns
    -------
    torch.Tensor
        float32 on ``rgb``'s device (float64 for float64 input on the differentiable
        path), shape per ``layout``.

    Examples
    --------
    >>> camera = CameraParams.sample(0)
    >>> rgb = torch.full((2, 3, 4, 4), 128, dtype=torch.uint8)
    >>> invert(rgb, camera, layout="packed").shape
    torch.Size([2, 4, 2, 2])
    >>> x = torch.rand(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    >>> invert(x, camera, layout="bayer", differentiable=True).sum().backward()
    >>> x.grad.shape
    torch.Size([1, 3, 4, 4])
    """
    rgb = _check_arguments(rgb, layout, check_range, generator, scale)
    n, _, h, w = rgb.shape
    cams = _as_cameras(cameras, n, rgb.device)
    levels = _noise_levels(noise, n, rgb.device, generator)
    shape = {"bayer": (n, 1, h, w), "packed": (n, 4, h // 2, w // 2)}.get(layout, (n, 3, h, w))
    z = None
    if levels is not None:  # after the "brooks" levels, one draw for the whole batch
        z = torch.randn(shape, generator=generator, device=rgb.device, dtype=torch.float32)
    if differentiable:
        out = _invert_differentiable(rgb, cams, layout)
        if z is not None and levels is not None:
            out = _noisy(out, *levels, z)
    else:
        out = _invert_in_place(rgb, cams, layout, shape, levels, z)
    return out if scale == "unit" else _to_levels(out, cams, differentiable)


def _check_arguments(
    rgb: Any, layout: Any, check_range: bool, generator: Any, scale: Any
) -> torch.Tensor:
    """The checked ``rgb`` of :func:`invert`, after checking its other arguments."""
    if not isinstance(layout, str) or layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    rgb = _check_rgb(rgb, layout, check_range)
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        if generator.device.type != rgb.device.type:
            raise ValueError(
                f"generator must be on rgb's device ({rgb.device}), got one on {generator.device}"
            )
    if scale not in ("unit", "levels"):
        raise ValueError(f"scale must be 'unit' or 'levels', got {scale!r}")
    return rgb


@torch.no_grad()
def _invert_in_place(
    rgb: torch.Tensor,
    cams: Cameras,
    layout: str,
    shape: tuple[int, ...],
    levels: tuple[Any, Any] | None,
    z: torch.Tensor | None,
) -> torch.Tensor:
    """The fast path: parts of the batch written in place into one output tensor."""
    n, _, h, w = rgb.shape
    out = torch.empty(shape, dtype=torch.float32, device=rgb.device)
    for start, stop in _chunks(n, h * w, rgb.device):
        part = slice(start, stop)
        _invert_part(rgb[part], cams[part], layout, out[part])
        if z is not None and levels is not None:
            shot, read = (v[part] if isinstance(v, torch.Tensor) else v for v in levels)
            _add_noise(out[part], shot, read, z[part])
    return out
