"""CFA site geometry in torch: mosaic, pack, unpack, site views, demosaic, and the flips,
rotations and one-pixel shifts that keep a mosaic's CFA phase.

Batches are channel-first: a Bayer mosaic is (N, 1, H, W) with H and W even, packed
site planes are (N, 4, H/2, W/2) in the core's site order :data:`SITES` — (0,0), (0,1),
(1,0), (1,1) of each 2×2 block (R, Gr, Gb, B for RGGB), as :func:`rawspace.cfa.pack` —
and the colour of each site comes from :func:`rawspace.cfa.cfa_channels`, the one map
from CFA names (``"RGGB"``, ``"BGGR"``, ``"GRBG"``, ``"GBRG"``, read row by row) to
channels. Every function works on any device and, unless it says otherwise, on any
dtype; none synchronises with the host.

Geometry (:class:`Geometry`, :func:`geometry`) is a per-sample horizontal flip, vertical
flip and rotation by k·90°. Applied to site planes it keeps every plane's colour and
changes the CFA of the full-resolution image (:func:`transformed_cfa`); applied to a
mosaic, :func:`restore_phase` translates the result by one pixel where needed so that it
is a mosaic of the original CFA again.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from rawspace.cfa import cfa_channels
from rawspace.hints import CFA_PATTERNS, Cfa

__all__ = [
    "SITES",
    "Geometry",
    "demosaic",
    "geometry",
    "mosaic",
    "mosaic_planes",
    "pack",
    "phase_shifts",
    "restore_phase",
    "site_channels",
    "site_view",
    "split_sites",
    "transformed_cfa",
    "unpack",
]

#: (row, column) of each packed plane in the 2×2 block: the order of :func:`rawspace.cfa.pack`
#: (the row-major order of the block, so plane ``k`` is site ``(k // 2, k % 2)``).
SITES: tuple[tuple[int, int], ...] = tuple((k // 2, k % 2) for k in range(4))


def site_channels(cfa: Cfa) -> tuple[int, int, int, int]:
    """Colour channel (0 R, 1 G, 2 B) of each site in :data:`SITES` order.

    Examples
    --------
    >>> site_channels("RGGB"), site_channels("GBRG")
    ((0, 1, 1, 2), (1, 2, 0, 1))
    """
    if cfa not in CFA_PATTERNS:
        raise ValueError(f"cfa must be one of {', '.join(CFA_PATTERNS)}; got {cfa!r}")
    a, b, c, d = (int(v) for v in cfa_channels(cfa).ravel())
    return a, b, c, d


def _check_mosaic(name: str, x: torch.Tensor, channels: int) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[1] != channels:
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a tensor (N, {channels}, H, W); got {got}")


def _check_even(name: str, x: torch.Tensor) -> None:
    h, w = x.shape[-2:]
    if h % 2 or w % 2 or h == 0 or w == 0:
        raise ValueError(f"{name} must have even, non-zero height and width; got {h}×{w}")


def site_view(x: torch.Tensor, layout: Literal["bayer", "packed"]) -> torch.Tensor:
    """View ``[n, dy, dx, i, j]`` of pixel (2i + dy, 2j + dx) of a mosaic or site planes.

    Parameters
    ----------
    x : torch.Tensor
        ``bayer``: (N, 1, H, W), H and W even; ``packed``: (N, 4, H/2, W/2). Contiguous.
    layout : {"bayer", "packed"}

    Returns
    -------
    torch.Tensor
        (N, 2, 2, H/2, W/2), a view: writes through it change ``x``.

    Examples
    --------
    >>> bayer = torch.arange(16.0).reshape(1, 1, 4, 4)
    >>> site_view(bayer, "bayer")[0, 0, 1]  # the (0, 1) sites
    tensor([[ 1.,  3.],
            [ 9., 11.]])
    """
    if layout == "bayer":
        _check_mosaic("x", x, 1)
        _check_even("x", x)
        n, _, h, w = x.shape
        return x.view(n, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3)
    if layout == "packed":
        _check_mosaic("x", x, 4)
        n, _, h, w = x.shape
        return x.view(n, 2, 2, h, w)
    raise ValueError(f"layout must be 'bayer' or 'packed'; got {layout!r}")


def split_sites(x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """(N, C, H, W) → a new contiguous (N, C, 2, 2, H/2, W/2): channel, site (dy, dx), plane.

    Parameters
    ----------
    x : torch.Tensor
        Any dtype, H and W even.
    dtype : torch.dtype, optional
        Of the result (default ``x``'s); the copy and the cast are one pass.

    Examples
    --------
    >>> x = torch.arange(16).reshape(1, 1, 4, 4)
    >>> split_sites(x)[0, 0, 1, 0]  # the (1, 0) sites
    tensor([[ 4,  6],
            [12, 14]])
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a tensor (N, C, H, W); got {getattr(x, 'shape', type(x))}")
    _check_even("x", x)
    n, c, h, w = x.shape
    out = torch.empty((n, c, 2, 2, h // 2, w // 2), dtype=dtype or x.dtype, device=x.device)
    out.copy_(x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4))
    return out


def pack(bayer: torch.Tensor) -> torch.Tensor:
    """Mosaic (N, 1, H, W) → site planes (N, 4, H/2, W/2) in :data:`SITES` order, a copy.

    As :func:`rawspace.cfa.pack`, the order does not depend on the CFA.

    Examples
    --------
    >>> pack(torch.arange(16).reshape(1, 1, 4, 4))[0, :, 0, 0]
    tensor([0, 1, 4, 5])
    """
    n, _, h, w = bayer.shape if bayer.ndim == 4 else (0, 0, 0, 0)
    return site_view(bayer, "bayer").reshape(n, 4, h // 2, w // 2)


def unpack(planes: torch.Tensor) -> torch.Tensor:
    """Site planes (N, 4, h, w) → mosaic (N, 1, 2h, 2w), the inverse of :func:`pack`.

    Examples
    --------
    >>> x = torch.arange(32).reshape(2, 1, 4, 4)
    >>> torch.equal(unpack(pack(x)), x)
    True
    """
    _check_mosaic("planes", planes, 4)
    n, _, h, w = planes.shape
    return planes.reshape(n, 2, 2, h, w).permute(0, 3, 1, 4, 2).reshape(n, 1, 2 * h, 2 * w)


def mosaic_planes(rgb: torch.Tensor, cfa: Cfa) -> torch.Tensor:
    """Sample (N, 3, H, W) through the CFA into site planes (N, 4, H/2, W/2), a copy.

    Plane ``k`` holds channel ``site_channels(cfa)[k]`` at site ``SITES[k]``.

    Examples
    --------
    >>> rgb = torch.arange(3.0).reshape(1, 3, 1, 1).expand(1, 3, 2, 2)
    >>> mosaic_planes(rgb, "BGGR")[0, :, 0, 0]
    tensor([2., 1., 1., 0.])
    """
    _check_mosaic("rgb", rgb, 3)
    _check_even("rgb", rgb)
    channels = site_channels(cfa)
    return torch.stack(
        [rgb[:, c, i::2, j::2] for c, (i, j) in zip(channels, SITES, strict=True)], dim=1
    )


def mosaic(rgb: torch.Tensor, cfa: Cfa) -> torch.Tensor:
    """Sample (N, 3, H, W) through the CFA: the mosaic (N, 1, H, W), as :func:`rawspace.mosaic`.

    Examples
    --------
    >>> rgb = torch.arange(3.0).reshape(1, 3, 1, 1).expand(1, 3, 2, 2)
    >>> mosaic(rgb, "RGGB")[0, 0]
    tensor([[0., 1.],
            [1., 2.]])
    """
    return unpack(mosaic_planes(rgb, cfa))


def demosaic(bayer: torch.Tensor, cfa: Cfa) -> torch.Tensor:
    """Bilinear demosaic of (N, 1, H, W) float mosaics into (N, 3, H, W), as the core's.

    The 3×3 kernels of :func:`rawspace.demosaic` (``method="bilinear"``) with its
    borders: mirrored without repeating the edge pixel, which keeps the CFA phase.
    Differentiable; values are not clipped.

    Examples
    --------
    >>> flat = torch.full((1, 1, 4, 4), 0.5)
    >>> torch.equal(demosaic(flat, "GRBG"), torch.full((1, 3, 4, 4), 0.5))
    True
    """
    _check_mosaic("bayer", bayer, 1)
    _check_even("bayer", bayer)
    if not bayer.is_floating_point():
        raise ValueError(f"bayer must be a float tensor; got {bayer.dtype}")
    h, w = bayer.shape[-2:]
    p = F.pad(bayer, (1, 1, 1, 1), mode="reflect")

    def at(dy: int, dx: int) -> torch.Tensor:
        return p[:, :, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    v = at(0, 0)
    along_row = 0.5 * (at(0, -1) + at(0, 1))
    along_col = 0.5 * (at(-1, 0) + at(1, 0))
    green = 0.25 * (at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1))
    other = 0.25 * (at(-1, -1) + at(-1, 1) + at(1, -1) + at(1, 1))
    chan = torch.as_tensor(cfa_channels(cfa), device=bayer.device)
    site = chan.repeat(h // 2, w // 2)  # (H, W) colour of each pixel
    red_row = (chan == 0).any(dim=1).repeat(h // 2)[:, None]  # rows holding red sites
    g_site = site == 1
    red = torch.where(site == 0, v, torch.where(site == 2, other, along_col))
    red = torch.where(g_site & red_row, along_row, red)
    blue = torch.where(site == 2, v, torch.where(site == 0, other, along_row))
    blue = torch.where(g_site & red_row, along_col, blue)
    return torch.cat([red, torch.where(g_site, v, green), blue], dim=1)


# --------------------------------------------------------------------------- geometry
class Geometry(NamedTuple):
    """Per-sample choices of a rigid transform, applied in this order.

    Attributes
    ----------
    hflip, vflip : torch.Tensor
        (N,) bool: flip left–right (``flip(-1)``), then top–bottom (``flip(-2)``).
    turns : torch.Tensor or None
        (N,) integer k in 0..3: then ``rot90`` by k·90° over dims (−2, −1) (from the
        row axis towards the column axis, counter-clockwise as displayed). None: no
        rotation (non-square inputs).

    Examples
    --------
    >>> Geometry.fixed(2, hflip=True).hflip
    tensor([True, True])
    """

    hflip: torch.Tensor
    vflip: torch.Tensor
    turns: torch.Tensor | None

    @classmethod
    def fixed(
        cls,
        n: int,
        *,
        hflip: bool = False,
        vflip: bool = False,
        turns: int | None = 0,
        device: torch.device | str | None = None,
    ) -> Geometry:
        """The same transform for all ``n`` samples of a batch."""
        if turns is not None and turns not in range(4):
            raise ValueError(f"turns must be 0, 1, 2, 3 or None; got {turns!r}")
        full = torch.full
        return cls(
            full((n,), bool(hflip), dtype=torch.bool, device=device),
            full((n,), bool(vflip), dtype=torch.bool, device=device),
            None if turns is None else full((n,), turns, dtype=torch.int64, device=device),
        )


def _check_geometry(geo: object, x: torch.Tensor) -> Geometry:
    if not isinstance(geo, Geometry):
        raise ValueError(f"geo must be a Geometry; got {type(geo).__name__}")
    n = x.shape[0]
    for name in ("hflip", "vflip", "turns"):
        value = getattr(geo, name)
        if name == "turns" and value is None:
            continue
        if not isinstance(value, torch.Tensor) or value.shape != (n,):
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"geo.{name} must be a tensor of shape ({n},); got {got}")
        if value.device != x.device:
            raise ValueError(f"geo.{name} must be on x's device {x.device}; got {value.device}")
    if geo.turns is not None and x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"x must be square (H = W) for rot90 (geo.turns); got {x.shape[-2]}×{x.shape[-1]}"
        )
    return geo


def geometry(x: torch.Tensor, geo: Geometry) -> torch.Tensor:
    """Apply the flips and rotations of ``geo`` to each sample of ``x`` as a picture.

    Parameters
    ----------
    x : torch.Tensor
        (N, C, H, W), any dtype; H = W when ``geo.turns`` is not None.
    geo : Geometry
        Tensors of shape (N,), on ``x``'s device.

    Returns
    -------
    torch.Tensor
        Same shape and dtype. Choices are made with ``torch.where``: no host
        synchronisation.

    Examples
    --------
    >>> x = torch.arange(4).reshape(1, 1, 2, 2)
    >>> geometry(x, Geometry.fixed(1, turns=1))[0, 0]
    tensor([[1, 3],
            [0, 2]])
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a tensor (N, C, H, W); got {getattr(x, 'shape', type(x))}")
    geo = _check_geometry(geo, x)
    x = torch.where(geo.hflip.bool()[:, None, None, None], x.flip(-1), x)
    x = torch.where(geo.vflip.bool()[:, None, None, None], x.flip(-2), x)
    if geo.turns is not None:
        turns = geo.turns[:, None, None, None]
        out = torch.where(turns == 0, x, x.new_zeros(()))  # keeps x's dtype
        for k in range(1, 4):
            out = out + torch.where(turns == k, torch.rot90(x, k, dims=(-2, -1)), x.new_zeros(()))
        x = out
    return x


def transformed_cfa(
    cfa: Cfa, *, hflip: bool = False, vflip: bool = False, turns: int = 0
) -> tuple[Cfa, tuple[int, int, int, int]]:
    """CFA of a transformed mosaic, and where its site planes are after :func:`geometry`.

    Parameters
    ----------
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}
        CFA of the image before the transform.
    hflip, vflip, turns
        One transform, as in :class:`Geometry` (turns in 0..3).

    Returns
    -------
    cfa : str
        The CFA of the transformed full-resolution image (the transform applied to the
        2×2 pattern).
    order : tuple of int
        For each site of :data:`SITES` of the transformed image, the plane of the
        transformed site planes that holds it: ``y[:, order]`` are the planes of the
        transformed image, to unpack with the returned CFA.

    Examples
    --------
    >>> transformed_cfa("RGGB", hflip=True)
    ('GRBG', (1, 0, 3, 2))
    """
    if cfa not in CFA_PATTERNS:
        raise ValueError(f"cfa must be one of {', '.join(CFA_PATTERNS)}; got {cfa!r}")
    if turns not in range(4):
        raise ValueError(f"turns must be 0, 1, 2 or 3; got {turns!r}")
    sites = torch.arange(4).reshape(1, 1, 2, 2)
    moved = geometry(sites, Geometry.fixed(1, hflip=hflip, vflip=vflip, turns=turns))
    a, b, c, d = (int(k) for k in moved.reshape(4))
    new = "".join(cfa[k] for k in (a, b, c, d))
    (name,) = (p for p in CFA_PATTERNS if p == new)
    return name, (a, b, c, d)


def phase_shifts(geo: Geometry, cfa: Cfa) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) bool row and column shifts that bring each transformed mosaic back to ``cfa``.

    The 2×2 site grid goes through :func:`geometry` for all 16 choices (built on the
    device, no copy from the host); where the red site of ``cfa`` lands gives the
    translation (the four Bayer patterns are the four translates of one another).

    Examples
    --------
    >>> phase_shifts(Geometry.fixed(1, hflip=True), "RGGB")
    (tensor([False]), tensor([True]))
    """
    device = geo.hflip.device
    code = torch.arange(16, device=device)
    table = Geometry((code % 2).bool(), (code // 2 % 2).bool(), code // 4)
    sites = torch.arange(4, device=device).reshape(1, 1, 2, 2).expand(16, 1, 2, 2)
    moved = geometry(sites, table).reshape(16, 4)
    red = int(np.flatnonzero(np.asarray(site_channels(cfa)) == 0)[0])
    new_red = (moved == red).long().argmax(dim=1)  # where the red sites are now
    shift_y = (new_red // 2) != (red // 2)
    shift_x = (new_red % 2) != (red % 2)
    turns = geo.turns if geo.turns is not None else torch.zeros_like(geo.hflip, dtype=torch.long)
    index = geo.hflip.long() + 2 * geo.vflip.long() + 4 * turns.long()
    return shift_y[index], shift_x[index]


def _shift_one(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Translate by one pixel towards the start of ``dim``: drop the first row (column),
    fill the last with the one two pixels in (same CFA colours)."""
    size = x.shape[dim]
    return torch.cat([x.narrow(dim, 1, size - 1), x.narrow(dim, size - 2, 1)], dim=dim)


def restore_phase(moved: torch.Tensor, geo: Geometry, cfa: Cfa) -> torch.Tensor:
    """Translate mosaics transformed by ``geo`` by one pixel where needed to be of ``cfa``.

    Parameters
    ----------
    moved : torch.Tensor
        ``geometry(bayer, geo)`` for (N, 1, H, W) mosaics of ``cfa``, H and W even.
    geo : Geometry
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}

    Returns
    -------
    torch.Tensor
        Same shape and dtype: a mosaic of ``cfa`` again, translated one pixel up and/or
        left where the transform changed the CFA (the first row/column is dropped, the
        last filled with the nearest one of the same colours, two pixels in).

    Examples
    --------
    >>> x = torch.arange(16).reshape(1, 1, 4, 4)
    >>> geo = Geometry.fixed(1, hflip=True)
    >>> restore_phase(geometry(x, geo), geo, "RGGB")[0, 0, 0]
    tensor([2, 1, 0, 1])
    """
    _check_mosaic("moved", moved, 1)
    _check_even("moved", moved)
    shift_y, shift_x = phase_shifts(_check_geometry(geo, moved), cfa)
    y = torch.where(shift_y[:, None, None, None], _shift_one(moved, -2), moved)
    return torch.where(shift_x[:, None, None, None], _shift_one(y, -1), y)
