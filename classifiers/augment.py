"""Training-time augmentation of batches, on their device, per sample.

:func:`rgb` is the augmentation of the ``rgb_aug`` space: random flips, rot90 and a
colour jitter of sRGB values. :func:`raw` is its like-for-like counterpart for the raw
spaces (``raw_packed``, ``raw_bayer``): the same random flips and rot90, applied so that
the CFA stays valid, and a photometric jitter of linear raw values (exposure gain and
white balance), clipped at the white level.

Geometry, shared by both: a horizontal flip (``flip(-1)``) and a vertical flip
(``flip(-2)``), each with p = 0.5, then ``rot90`` by k·90° (k uniform in 0..3, dims
(−2, −1)) when the input is square; :func:`draw_geometry` draws one :class:`Geometry`
per batch and :func:`geometry` applies it (both :class:`Geometry`, :func:`geometry` and
:func:`transformed_cfa` live in :mod:`classifiers.bayer`, the one home of the CFA
geometry, and are re-exported here). All choices are made per sample with
``torch.where`` on the input's device: no host synchronisation.

Raw geometry (:func:`raw_geometry`), for a transform T of the full-resolution image:

* ``packed`` (N, 4, H/2, W/2): every site plane is flipped/rotated as a picture. These
  are exactly the site planes of T(image), whose CFA is T applied to the 2×2 pattern
  (a horizontal flip turns RGGB into GRBG), with the channels kept in their colour
  order: channel k still holds the samples of colour ``site_channels(cfa)[k]``.
  :func:`transformed_cfa` gives T's CFA and the channel order that lists the planes in
  site order (0,0), (0,1), (1,0), (1,1), e.g. to develop an augmented sample; developing
  that equals applying T to the developed image, exactly.
* ``bayer`` (N, 1, H, W): T(mosaic) is a mosaic of T's CFA; to keep a mosaic of the
  *same* CFA (what a 1-channel model expects) it is translated by one pixel where
  needed (Liu et al., "Learning raw image denoising with Bayer pattern unification and
  Bayer preserving augmentation", CVPRW 2019): the first row (column) is dropped and the
  last one filled with the nearest row (column) of the same colours, two pixels in (a
  mirror without repeating the edge, as :func:`rawspace.demosaic` extends its borders).
  Developing the result equals the rigid transform T of the developed image, translated
  by that one pixel, except in the first row/column (the dropped side).

Raw photometry (:func:`raw_photometric`), on values normalised as
(v − black) / (white − black): each sample gets gains (g_R, g_G, g_B) =
e·(w_R, 1, w_B), applied to every site of that colour, then values above 1 (the white
level) are clipped. The exposure e = b^2.2 with b uniform in
[1 − :data:`RAW_EXPOSURE_JITTER`, 1 + :data:`RAW_EXPOSURE_JITTER`]: rendered through a
2.2 gamma it scales the developed image by b, the brightness factor of ``rgb_aug``
(e ∈ [0.793, 1.233] for 0.1). w_R, w_B are uniform in
[1 − :data:`RAW_WB_JITTER`, 1 + :data:`RAW_WB_JITTER`] (G fixed): ±10 % is about the
spread of the red and blue gains of Brooks et al.'s camera sampler (U(1.9, 2.4) and
U(1.5, 1.9), ±12 %), i.e. the white-balance variation between cameras and illuminants.
The colour of a site is that of the original CFA: the geometry keeps the colour of every
packed channel and of every Bayer site, so geometry and photometry commute (the gains
are per colour and the clip is per value); :func:`raw` applies the geometry first, as
:func:`rgb` does, and draws in that order too.
"""

from __future__ import annotations

from typing import Literal

import torch

from rawspace.hints import CFA_PATTERNS, Cfa
from rawspace.spec import POWER_GAMMA

from .bayer import Geometry, geometry, restore_phase, site_channels, transformed_cfa

__all__ = [
    "JITTER",
    "RAW_EXPOSURE_JITTER",
    "RAW_LAYOUTS",
    "RAW_WB_JITTER",
    "Geometry",
    "draw_geometry",
    "draw_raw_gains",
    "geometry",
    "raw",
    "raw_geometry",
    "raw_photometric",
    "rgb",
    "transformed_cfa",
]

#: Half-width of the uniform colour jitter factors: each factor lies in [1 − J, 1 + J].
JITTER = 0.1
#: Half-width of the rendered brightness factor b of :func:`raw`; the linear exposure
#: gain is b ** 2.2 (see the module notes).
RAW_EXPOSURE_JITTER = 0.1
#: Half-width of the uniform red and blue white-balance factors of :func:`raw`.
RAW_WB_JITTER = 0.1
#: Layouts of raw model inputs that :func:`raw` augments: (N, 4, H/2, W/2) site planes
#: or (N, 1, H, W) mosaics.
RAW_LAYOUTS = ("packed", "bayer")

_LUMA = (0.299, 0.587, 0.114)
_CHANNELS = {"packed": 4, "bayer": 1}


def _uniform(
    n: int, *shape: int, like: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    return torch.rand(n, *shape, device=like.device, generator=generator)


def draw_geometry(x: torch.Tensor, *, generator: torch.Generator | None = None) -> Geometry:
    """Draw flips (p = 0.5 each) and, for square ``x``, k uniform in 0..3 per sample.

    Parameters
    ----------
    x : torch.Tensor
        (N, C, H, W); only its batch size, shape and device are used.
    generator : torch.Generator, optional
        On ``x``'s device. Draws: ``rand(N, 2)`` for the flips, then ``rand(N)`` for the
        turns when H = W.

    Returns
    -------
    Geometry
        On ``x``'s device; ``turns`` is None when H ≠ W.
    Examples
    --------
    >>> geo = draw_geometry(torch.zeros(2, 3, 4, 4), generator=torch.Generator().manual_seed(0))
    >>> geo.hflip.shape, geo.turns.shape
    (torch.Size([2]), torch.Size([2]))
    """
    _check_batch(x)
    n = x.shape[0]
    flips = _uniform(n, 2, like=x, generator=generator) < 0.5
    turns = None
    if x.shape[-1] == x.shape[-2]:
        turns = torch.floor(_uniform(n, like=x, generator=generator) * 4).long()
    return Geometry(flips[:, 0], flips[:, 1], turns)


def rgb(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random flips, rot90 and colour jitter of a batch of sRGB images.

    Parameters
    ----------
    x : torch.Tensor
        (N, 3, H, W) float in [0, 1].
    generator : torch.Generator, optional
        On ``x``'s device, for reproducible draws.

    Returns
    -------
    torch.Tensor
        Same shape, float in [0, 1]: horizontal and vertical flips (p = 0.5 each), a
        rotation by k·90° with k uniform in 0..3 when H = W (:func:`draw_geometry`,
        :func:`geometry`), then brightness (x·b), contrast ((x − mean)·c + mean) and
        saturation (gray + (x − gray)·s) with b, c, s uniform in
        [1 − :data:`JITTER`, 1 + :data:`JITTER`], clamped to [0, 1].
    Examples
    --------
    >>> out = rgb(torch.rand(2, 3, 8, 8), generator=torch.Generator().manual_seed(0))
    >>> out.shape, bool(out.min() >= 0), bool(out.max() <= 1)
    (torch.Size([2, 3, 8, 8]), True, True)
    """
    n = x.shape[0]
    x = geometry(x, draw_geometry(x, generator=generator))
    factors = 1.0 + JITTER * (2.0 * _uniform(n, 3, like=x, generator=generator) - 1.0)
    brightness, contrast, saturation = (factors[:, i, None, None, None] for i in range(3))
    x = x * brightness
    luma = torch.tensor(_LUMA, device=x.device, dtype=x.dtype)
    gray = (x * luma[None, :, None, None]).sum(1, keepdim=True)
    mean = gray.mean(dim=(-2, -1), keepdim=True)
    x = (x - mean) * contrast + mean
    gray = gray * contrast + mean * (1 - contrast)
    x = gray + (x - gray) * saturation
    return x.clamp(0.0, 1.0)


def raw_geometry(
    x: torch.Tensor, geo: Geometry, *, layout: Literal["packed", "bayer"], cfa: Cfa
) -> torch.Tensor:
    """Apply ``geo`` to raw model inputs so that the CFA stays valid (see the module notes).

    Parameters
    ----------
    x : torch.Tensor
        ``packed``: (N, 4, H/2, W/2) site planes in order (0,0), (0,1), (1,0), (1,1) of
        ``cfa``; ``bayer``: (N, 1, H, W) mosaic of ``cfa``, H and W even. Any dtype.
    geo : Geometry
        (N,) tensors on ``x``'s device; ``turns`` only for square inputs.
    layout : {"packed", "bayer"}
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}

    Returns
    -------
    torch.Tensor
        Same shape and dtype. ``packed``: each plane transformed as a picture, channel k
        still of colour ``site_channels(cfa)[k]`` (:func:`transformed_cfa` gives
        the sites). ``bayer``: a mosaic of ``cfa`` again, the transformed mosaic
        translated by one pixel up and/or left where the transform changed the CFA.
    Examples
    --------
    >>> x = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> y = raw_geometry(x, Geometry.fixed(1, hflip=True), layout="bayer", cfa="RGGB")
    >>> y[0, 0, 0]  # flipped, then shifted one pixel left: R stays at (0, 0)
    tensor([2., 1., 0., 1.])
    """
    _check_raw(x, layout, cfa)
    y = geometry(x, geo)
    return y if layout == "packed" else restore_phase(y, geo, cfa)


def draw_raw_gains(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw the per-sample colour gains of :func:`raw`: e·(w_R, 1, w_B).

    Parameters
    ----------
    x : torch.Tensor
        (N, C, H, W); only its batch size and device are used.
    generator : torch.Generator, optional
        On ``x``'s device. Draws ``rand(N, 3)``: b, w_R, w_B.

    Returns
    -------
    torch.Tensor
        (N, 3) float32 on ``x``'s device: gains of R, G, B, with e = b^2.2, b uniform in
        [1 − :data:`RAW_EXPOSURE_JITTER`, 1 + :data:`RAW_EXPOSURE_JITTER`] and w_R, w_B
        uniform in [1 − :data:`RAW_WB_JITTER`, 1 + :data:`RAW_WB_JITTER`].
    Examples
    --------
    >>> gains = draw_raw_gains(torch.zeros(3, 4, 2, 2), generator=torch.Generator().manual_seed(0))
    >>> gains.shape, gains[:, 1].min().item() > 0.79
    (torch.Size([3, 3]), True)
    """
    _check_batch(x)
    u = 2.0 * _uniform(x.shape[0], 3, like=x, generator=generator) - 1.0
    exposure = (1.0 + RAW_EXPOSURE_JITTER * u[:, 0]) ** POWER_GAMMA
    red, blue = 1.0 + RAW_WB_JITTER * u[:, 1], 1.0 + RAW_WB_JITTER * u[:, 2]
    return exposure[:, None] * torch.stack([red, torch.ones_like(red), blue], dim=1)


def raw_photometric(
    x: torch.Tensor, gains: torch.Tensor, *, layout: Literal["packed", "bayer"], cfa: Cfa
) -> torch.Tensor:
    """Scale every site by the gain of its colour, then clip at the white level (1).

    Parameters
    ----------
    x : torch.Tensor
        Linear raw values, (v − black) / (white − black), float: ``packed``
        (N, 4, H/2, W/2) in site order of ``cfa``, or ``bayer`` (N, 1, H, W), H, W even.
    gains : torch.Tensor
        (N, 3) positive gains of R, G, B per sample (:func:`draw_raw_gains`).
    layout : {"packed", "bayer"}
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}
        The CFA of ``x``'s sites (unchanged by :func:`raw_geometry`).

    Returns
    -------
    torch.Tensor
        Same shape, float: x·g[colour of the site], values above 1 set to 1 (the white
        level; values below 0, if any, are scaled and kept).
    Examples
    --------
    >>> x = torch.full((1, 4, 1, 1), 0.5)
    >>> gains = torch.tensor([[2.0, 1.0, 0.5]])
    >>> raw_photometric(x, gains, layout="packed", cfa="RGGB").flatten()
    tensor([1.0000, 0.5000, 0.5000, 0.2500])
    """
    _check_raw(x, layout, cfa)
    if not x.is_floating_point():
        raise ValueError(f"x must be a float tensor; got {x.dtype}")
    if gains.shape != (x.shape[0], 3):
        raise ValueError(
            f"gains must be ({x.shape[0]}, 3) for x of {tuple(x.shape)}; got {tuple(gains.shape)}"
        )
    gains = gains.to(x.dtype)
    # basic indexing only: no index tensor to copy to the device
    site = torch.stack([gains[:, c] for c in site_channels(cfa)], dim=1)
    n, c, h, w = x.shape
    if layout == "packed":
        y = x * site[:, :, None, None]
    else:
        y = (x.reshape(n, c, h // 2, 2, w // 2, 2) * site.reshape(n, 1, 1, 2, 1, 2)).reshape(
            x.shape
        )
    return y.clamp(max=1.0)


def raw(
    x: torch.Tensor,
    *,
    layout: Literal["packed", "bayer"],
    cfa: Cfa,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random flips, rot90, exposure and white-balance jitter of a batch of raw inputs.

    The like-for-like counterpart of :func:`rgb` for ``raw_packed`` and ``raw_bayer``.

    Parameters
    ----------
    x : torch.Tensor
        Float, (v − black) / (white − black) (in [0, 1] for data within the levels):
        ``packed`` (N, 4, H/2, W/2) site planes in order (0,0), (0,1), (1,0), (1,1) of
        ``cfa``, or ``bayer`` (N, 1, H, W) mosaic of ``cfa`` with H and W even.
    layout : {"packed", "bayer"}
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}
        The CFA of the cache the inputs come from.
    generator : torch.Generator, optional
        On ``x``'s device, for reproducible draws (same generator state, same result).

    Returns
    -------
    torch.Tensor
        Same shape and dtype: :func:`raw_geometry` with :func:`draw_geometry` (flips
        p = 0.5 each, rot90 by k uniform in 0..3 when square), then
        :func:`raw_photometric` with :func:`draw_raw_gains`. Values above 1 are clipped.
    Examples
    --------
    >>> x = torch.rand(2, 1, 8, 8)
    >>> raw(x, layout="bayer", cfa="GRBG", generator=torch.Generator().manual_seed(0)).shape
    torch.Size([2, 1, 8, 8])
    """
    _check_raw(x, layout, cfa)
    if not x.is_floating_point():
        raise ValueError(f"x must be a float tensor; got {x.dtype}")
    x = raw_geometry(x, draw_geometry(x, generator=generator), layout=layout, cfa=cfa)
    return raw_photometric(x, draw_raw_gains(x, generator=generator), layout=layout, cfa=cfa)


def _check_batch(x: object) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a tensor (N, C, H, W); got {_describe(x)}")


def _check_cfa(cfa: object) -> None:
    if cfa not in CFA_PATTERNS:
        raise ValueError(f"cfa must be one of {', '.join(CFA_PATTERNS)}; got {cfa!r}")


def _check_raw(x: torch.Tensor, layout: str, cfa: str) -> None:
    _check_batch(x)
    if layout not in RAW_LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(RAW_LAYOUTS)}; got {layout!r}")
    _check_cfa(cfa)
    channels = _CHANNELS[layout]
    if x.shape[1] != channels:
        raise ValueError(
            f"x must have {channels} channel(s) for layout {layout!r}; got {_describe(x)}"
        )
    if layout == "bayer" and (x.shape[-1] % 2 or x.shape[-2] % 2 or x.shape[-1] == 0):
        raise ValueError(
            f"x must have even, non-zero H and W for layout 'bayer'; got {_describe(x)}"
        )


def _describe(x: object) -> str:
    if isinstance(x, torch.Tensor):
        return f"{x.dtype} {tuple(x.shape)}"
    return type(x).__name__
