"""Batched unprocessing in torch: sRGB → simulated camera raw on any device.

The same formulas as :func:`rawspace.invert` (Brooks et al., CVPR 2019), applied to a
whole batch of images at once, each with its own camera: inverse tone curve, gamma
expansion, sRGB→camera colour matrix, highlight-preserving inverse white balance and
digital gain, clip to [0, 1], Bayer mosaic, optional sensor noise, clip again.

- :class:`Cameras` stacks :class:`rawspace.CameraParams` into tensors once (for
  instance one table per epoch on the training device) and is indexed by a tensor of
  indices to take the cameras of a batch without leaving the device.
- :func:`invert` converts a batch (N, 3, H, W) to float32 raw in [0, 1]: a Bayer plane
  (N, 1, H, W), packed site planes (N, 4, H/2, W/2) or camera RGB (N, 3, H, W).
- :class:`Unprocess` is the ``nn.Module`` form of :func:`invert` for training loops.
- :func:`sample_noise_levels` draws Brooks et al.'s noise levels per sample.

Cameras are drawn by :meth:`rawspace.CameraParams.sample` or read from raw files
(:func:`rawspace.read_camera`); this module never re-implements the sampling.

Precision: the arithmetic is float32 on the device; the curves of uint8 images come
from the core's float64 look-up tables (:func:`rawspace.curves.linearize_lut`), float
images are linearised in float32 (float64 for float64 input) with a form of the
inverse smoothstep that stays accurate near 0 and 1. On CPU the result matches
``rawspace.invert(image, camera, layout=..., dtype=numpy.float32).data`` to about 1e-6
(tested to ≤ 1e-5). The per-pixel colour products are element-wise operations, not
matrix multiplications, so TF32 settings of the device never change the result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from rawspace.cameras import stable_seed
from rawspace.cfa import cfa_channels
from rawspace.curves import GAMMA_FLOOR, gamma_code, linearize_lut, tone_code
from rawspace.hints import CFA_PATTERNS, GAMMAS, LAYOUTS, TONES, Cfa, Gamma, Layout, Tone
from rawspace.noise import resolve_noise
from rawspace.params import HIGHLIGHT_START, CameraParams, as_rng

__all__ = [
    "CameraSchedule",
    "CameraSource",
    "Cameras",
    "NoiseArg",
    "Unprocess",
    "invert",
    "sample_noise_levels",
]

#: Brooks et al.'s range of ``ln(shot)``, and the affine law of ``ln(read)`` with its spread.
_LOG_SHOT_RANGE = (math.log(1e-4), math.log(0.012))
_LOG_READ_SLOPE, _LOG_READ_OFFSET, _LOG_READ_SIGMA = 2.18, 1.20, 0.26

_SRGB_KNEE = 0.04045  # where the sRGB curve turns from linear to power
_HIGHLIGHT_SLOPE = 10.0  # 1 / width of the highlight blend (0.1)
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_TONE_NAMES = {tone_code(t): t for t in TONES}
_GAMMA_NAMES = {gamma_code(g): g for g in GAMMAS}


# --------------------------------------------------------------------------- the table
# Columns of Cameras.data (float64, one row per camera). The first block holds the
# fields of CameraParams; the second the per-camera coefficients that `invert` uses,
# derived once in float64 when the cameras are stacked.
def _columns(spec: list[tuple[str, int]]) -> dict[str, slice]:
    out, start = {}, 0
    for name, width in spec:
        out[name] = slice(start, start + width)
        start += width
    return out


_COL = _columns(
    [
        ("rgb2cam", 9),
        ("rgb_gain", 1),
        ("red_gain", 1),
        ("blue_gain", 1),
        ("black_level", 1),
        ("white_level", 1),
        ("cfa", 1),  # index into CFA_PATTERNS
        ("tone", 1),  # rawspace.curves.tone_code: 0 none, 1 smoothstep
        ("gamma", 1),  # rawspace.curves.gamma_code: 0 power 2.2, 1 sRGB
        ("highlight_blend", 1),
        # ---- derived: mosaic layouts, per CFA site s (packed order) and input channel c
        ("site_rows", 12),  # rgb2cam[chan[s], c], c-major: [c * 4 + s]
        ("site_rows_g", 12),  # site_rows * site_gain of the site (used without any blend)
        ("site_gain", 4),  # inverse gain of the site's channel
        ("site_slope", 4),  # 100 * max(1 - gain, 0), 0 without the blend
        # ---- derived: linear layout, per output channel k and input channel c
        ("matrix_g", 9),  # rgb2cam[k, c] * gain[k] (used without any blend)
        ("gain", 3),  # 1 / wb_gains
        ("slope", 3),  # 100 * max(1 - gain, 0), 0 without the blend
        # ---- derived: both
        ("gray", 3),  # column means of rgb2cam: gray = mean of the camera channels
        ("curve", 1),  # row of the look-up table × 256: (2 * tone + gamma) * 256
    ]
)
_N_COLUMNS = max(s.stop for s in _COL.values())
_PARAM_END = _COL["highlight_blend"].stop


def _curve_row(tone: int, gamma: int) -> int:
    return 2 * tone + gamma


def _lut_table() -> np.ndarray:
    """The core's uint8 tables, one row per (tone, gamma) code pair, (4, 256) float64."""
    rows = np.empty((4, 256))
    for tone in TONES:
        for gamma in GAMMAS:
            rows[_curve_row(tone_code(tone), gamma_code(gamma))] = linearize_lut(
                np.uint8, tone, gamma
            )
    return rows


def _row(p: CameraParams) -> np.ndarray:
    """One row of the table: the fields of ``p`` and its derived coefficients, float64."""
    r = np.empty(_N_COLUMNS)
    chan = cfa_channels(p.cfa).ravel()  # channel of each site, packed order
    gain = 1.0 / p.wb_gains  # exactly as rawspace.pipeline.invert
    # the blend's weight is m = (10 t)² with t = max(gray - 0.9, 0): fold the 100 in here
    slope = _HIGHLIGHT_SLOPE**2 * np.maximum(1.0 - gain, 0.0) * float(p.highlight_blend)
    rows = p.rgb2cam[chan]  # (4 sites, 3)
    tone, gamma = tone_code(p.tone), gamma_code(p.gamma)
    r[_COL["rgb2cam"]] = p.rgb2cam.ravel()
    r[_COL["rgb_gain"]] = p.rgb_gain
    r[_COL["red_gain"]] = p.red_gain
    r[_COL["blue_gain"]] = p.blue_gain
    r[_COL["black_level"]] = p.black_level
    r[_COL["white_level"]] = p.white_level
    r[_COL["cfa"]] = CFA_PATTERNS.index(p.cfa)
    r[_COL["tone"]] = tone
    r[_COL["gamma"]] = gamma
    r[_COL["highlight_blend"]] = float(p.highlight_blend)
    r[_COL["site_rows"]] = rows.T.ravel()
    r[_COL["site_rows_g"]] = (rows * gain[chan, None]).T.ravel()
    r[_COL["site_gain"]] = gain[chan]
    r[_COL["site_slope"]] = slope[chan]
    r[_COL["matrix_g"]] = (p.rgb2cam * gain[:, None]).ravel()
    r[_COL["gain"]] = gain
    r[_COL["slope"]] = slope
    r[_COL["gray"]] = (p.rgb2cam[0] + p.rgb2cam[1] + p.rgb2cam[2]) / 3.0
    r[_COL["curve"]] = 256 * _curve_row(tone, gamma)
    return r


@dataclass(frozen=True, eq=False)
class Cameras:
    """A batch (or table) of cameras as tensors on one device.

    Build one with :meth:`stack` (from :class:`rawspace.CameraParams`) or
    :meth:`sample`; take the cameras of a batch with ``cameras[index]``. Nothing here
    re-draws or changes a camera: the values are the ``CameraParams`` fields, exactly
    (float64).

    Attributes
    ----------
    data : torch.Tensor
        (N, K) float64: each camera's fields and the coefficients :func:`invert` uses,
        derived once. Read the fields through the properties below.
    lut : torch.Tensor
        (4, 256) float32: the core's uint8 linearisation tables
        (:func:`rawspace.curves.linearize_lut`), one row per (tone, gamma), shared by
        every index of the table.
    curves : frozenset of int
        Host-side: the (tone, gamma) table rows that may occur (``2 * tone_code +
        gamma_code``); an indexed subset keeps its parent's set. Lets :func:`invert`
        skip curves no camera uses without asking the device.
    any_blend : bool
        Host-side: whether some camera may use the highlight blend (kept on indexing).

    Notes
    -----
    Indexing with a tensor on the table's device involves no host synchronisation;
    ``len`` and the properties are views or cheap casts.
    """

    data: torch.Tensor
    lut: torch.Tensor = field(repr=False)
    curves: frozenset[int]
    any_blend: bool

    # ------------------------------------------------------------------ creators
    @classmethod
    def stack(
        cls,
        params: CameraParams | Sequence[CameraParams],
        *,
        device: torch.device | str | None = None,
    ) -> Cameras:
        """Stack cameras into tensors, once.

        Parameters
        ----------
        params : CameraParams or sequence of CameraParams
            At least one camera; a single one gives a table of length 1 (which
            :func:`invert` applies to every image).
        device : torch.device or str, optional
            Where the tensors live (default: CPU).

        Returns
        -------
        Cameras
            ``len(params)`` cameras, in order.
        """
        if isinstance(params, CameraParams):
            params = [params]
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
            raise TypeError(
                f"params must be a CameraParams or a sequence of them, got {type(params).__name__}"
            )
        if len(params) == 0:
            raise ValueError("params must hold at least one CameraParams, got an empty sequence")
        for i, p in enumerate(params):
            if not isinstance(p, CameraParams):
                raise TypeError(f"params[{i}] must be a CameraParams, got {type(p).__name__}")
        table = np.stack([_row(p) for p in params])
        curves = frozenset(_curve_row(tone_code(p.tone), gamma_code(p.gamma)) for p in params)
        return cls(
            data=torch.as_tensor(table, dtype=torch.float64).to(device),
            lut=torch.as_tensor(_lut_table(), dtype=torch.float32).to(device),
            curves=curves,
            any_blend=any(p.highlight_blend for p in params),
        )

    @classmethod
    def sample(
        cls,
        n: int,
        seed: int | np.random.Generator | None = None,
        *,
        cfa: Cfa = "RGGB",
        tone: Tone = "smoothstep",
        gamma: Gamma = "power2.2",
        black_level: int = 0,
        white_level: int = 16383,
        device: torch.device | str | None = None,
    ) -> Cameras:
        """Draw ``n`` cameras with :meth:`rawspace.CameraParams.sample` and stack them.

        Camera ``i`` is the ``i``-th draw from one NumPy generator made from ``seed``
        (``rawspace.params.as_rng``): ``Cameras.sample(n, s)`` equals
        ``Cameras.stack([CameraParams.sample(rng, ...) for _ in range(n)])`` with
        ``rng = numpy.random.default_rng(s)``.

        Parameters
        ----------
        n : int
            Number of cameras, ≥ 1.
        seed : int, numpy.random.Generator or None
            Seed of the draws (None: fresh entropy).
        cfa, tone, gamma, black_level, white_level
            Fixed fields of every camera, as in :meth:`rawspace.CameraParams.sample`.
        device : torch.device or str, optional
            Where the tensors live.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        rng = as_rng(seed)
        options = dict(
            cfa=cfa, tone=tone, gamma=gamma, black_level=black_level, white_level=white_level
        )
        return cls.stack(
            [CameraParams.sample(rng, **options) for _ in range(int(n))], device=device
        )

    # ------------------------------------------------------------------ container
    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: Any) -> Cameras:
        """The cameras at ``index``: an int, a slice, or a tensor / array / list of indices
        (or a boolean mask). An int gives a table of length 1. A tensor index on the
        table's device needs no host synchronisation; others are moved there first."""
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f"index {index} is out of range for {n} cameras")
            index = slice(index, index + 1 if index != -1 else None)
        elif isinstance(index, np.ndarray):
            index = torch.from_numpy(index)
        elif isinstance(index, (list, tuple)):
            index = torch.as_tensor(index)
        if isinstance(index, torch.Tensor):
            if index.dtype.is_floating_point or index.is_complex():
                raise TypeError(f"index must be integer or boolean, got dtype {index.dtype}")
            if index.ndim != 1:
                raise ValueError(f"index must be one-dimensional, got shape {tuple(index.shape)}")
            index = index.to(self.data.device, non_blocking=True)
        elif not isinstance(index, slice):
            raise TypeError(
                f"index must be an int, a slice or a tensor/array of indices, "
                f"got {type(index).__name__}"
            )
        return Cameras(self.data[index], self.lut, self.curves, self.any_blend)

    def to(self, device: torch.device | str, *, non_blocking: bool = False) -> Cameras:
        """The same cameras on ``device`` (self when already there)."""
        device = torch.device(device)
        if self.data.device == device:
            return self
        return Cameras(
            self.data.to(device, non_blocking=non_blocking),
            self.lut.to(device, non_blocking=non_blocking),
            self.curves,
            self.any_blend,
        )

    def expand(self, n: int) -> Cameras:
        """A table of length 1 repeated ``n`` times (a view, no copy)."""
        if len(self) != 1:
            raise ValueError(f"only a single camera can be expanded, got {len(self)}")
        return Cameras(self.data.expand(n, -1), self.lut, self.curves, self.any_blend)

    @property
    def device(self) -> torch.device:
        """Device of the tensors."""
        return self.data.device

    def __repr__(self) -> str:
        return f"Cameras(n={len(self)}, device={self.device})"

    # ------------------------------------------------------------------ fields
    @property
    def rgb2cam(self) -> torch.Tensor:
        """(N, 3, 3) float64: linear sRGB → camera matrices."""
        return self.data[:, _COL["rgb2cam"]].reshape(-1, 3, 3)

    @property
    def wb_gains(self) -> torch.Tensor:
        """(N, 3) float64: forward gains ``[red_gain, 1, blue_gain] * rgb_gain``."""
        ones = torch.ones_like(self.red_gain)
        return torch.stack([self.red_gain, ones, self.blue_gain], 1) * self.rgb_gain[:, None]

    def _field(self, name: str) -> torch.Tensor:
        return self.data[:, _COL[name].start]

    @property
    def rgb_gain(self) -> torch.Tensor:
        """(N,) float64."""
        return self._field("rgb_gain")

    @property
    def red_gain(self) -> torch.Tensor:
        """(N,) float64."""
        return self._field("red_gain")

    @property
    def blue_gain(self) -> torch.Tensor:
        """(N,) float64."""
        return self._field("blue_gain")

    @property
    def black_level(self) -> torch.Tensor:
        """(N,) int64."""
        return self._field("black_level").long()

    @property
    def white_level(self) -> torch.Tensor:
        """(N,) int64."""
        return self._field("white_level").long()

    @property
    def cfa(self) -> torch.Tensor:
        """(N,) int64: index into :data:`rawspace.hints.CFA_PATTERNS`."""
        return self._field("cfa").long()

    @property
    def tone(self) -> torch.Tensor:
        """(N,) int64: :func:`rawspace.curves.tone_code` (0 none, 1 smoothstep)."""
        return self._field("tone").long()

    @property
    def gamma(self) -> torch.Tensor:
        """(N,) int64: :func:`rawspace.curves.gamma_code` (0 power 2.2, 1 sRGB)."""
        return self._field("gamma").long()

    @property
    def highlight_blend(self) -> torch.Tensor:
        """(N,) bool."""
        return self._field("highlight_blend") > 0.5

    def to_params(self) -> list[CameraParams]:
        """The cameras as :class:`rawspace.CameraParams` again (copies to the host)."""
        rows = self.data[:, :_PARAM_END].cpu().numpy()
        c = _COL
        return [
            CameraParams(
                rgb2cam=r[c["rgb2cam"]].reshape(3, 3),
                rgb_gain=float(r[c["rgb_gain"]][0]),
                red_gain=float(r[c["red_gain"]][0]),
                blue_gain=float(r[c["blue_gain"]][0]),
                cfa=CFA_PATTERNS[int(r[c["cfa"]][0])],
                black_level=int(r[c["black_level"]][0]),
                white_level=int(r[c["white_level"]][0]),
                tone=_TONE_NAMES[int(r[c["tone"]][0])],
                gamma=_GAMMA_NAMES[int(r[c["gamma"]][0])],
                highlight_blend=bool(r[c["highlight_blend"]][0]),
            )
            for r in rows
        ]


#: What :func:`invert` accepts as cameras.
CameraSource = Cameras | CameraParams | Sequence[CameraParams]
#: What :func:`invert` accepts as noise: none, Brooks et al.'s levels drawn per sample,
#: or (shot, read) variances, each a float or a tensor of shape (N,).
NoiseArg = Literal["brooks"] | tuple[float | torch.Tensor, float | torch.Tensor] | None


# --------------------------------------------------------------------------- noise
def sample_noise_levels(
    n: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` pairs of noise levels as Brooks et al. (natural logarithms).

    ``log_shot ~ U(ln 1e-4, ln 0.012)``, ``log_read = 2.18 log_shot + 1.20 + N(0, 0.26)``,
    as :func:`rawspace.noise.sample_noise_levels`, vectorised: first ``n`` uniforms,
    then ``n`` normals, both float64 from ``generator``.

    Returns
    -------
    shot, read : torch.Tensor
        (n,) float64 variances (per unit signal, and at zero signal).
    """
    lo, hi = _LOG_SHOT_RANGE
    u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    z = torch.randn(n, generator=generator, device=device, dtype=torch.float64)
    log_shot = lo + (hi - lo) * u
    log_read = _LOG_READ_SLOPE * log_shot + _LOG_READ_OFFSET + _LOG_READ_SIGMA * z
    return log_shot.exp(), log_read.exp()


def _noise_levels(
    noise: Any, n: int, device: torch.device, generator: torch.Generator | None
) -> tuple[Any, Any] | None:
    """Levels of the ``noise`` argument: None, or (shot, read) as floats or (N, 1, 1, 1)."""
    if noise is None:
        return None
    if isinstance(noise, str):
        if noise != "brooks":
            raise ValueError(f"noise must be None, 'brooks' or (shot, read), got {noise!r}")
        shot, read = sample_noise_levels(n, generator=generator, device=device)
    elif (
        isinstance(noise, (tuple, list))
        and len(noise) == 2
        and any(isinstance(v, torch.Tensor) for v in noise)
    ):
        shot, read = noise
        for name, v in (("shot", shot), ("read", read)):
            if isinstance(v, torch.Tensor) and (
                v.shape not in ((n,), ()) or not v.dtype.is_floating_point
            ):
                raise ValueError(
                    f"noise {name} level must be a float or a float tensor of shape ({n},), "
                    f"got {v.dtype} tensor of shape {tuple(v.shape)}"
                )
        shot = shot.to(device) if isinstance(shot, torch.Tensor) else float(shot)
        read = read.to(device) if isinstance(read, torch.Tensor) else float(read)
    else:
        return resolve_noise(noise, None)  # checks the pair: finite, >= 0
    return tuple(
        v.to(torch.float32).expand(n).reshape(-1, 1, 1, 1) if isinstance(v, torch.Tensor) else v
        for v in (shot, read)
    )


def _add_noise(out: torch.Tensor, shot: Any, read: Any, z: torch.Tensor) -> None:
    """``out = clip(out + sqrt(max(out · shot + read, 0)) · z, 0, 1)``, in place."""
    sigma = out * shot + read
    sigma.clamp_min_(0.0).sqrt_()
    out.addcmul_(sigma, z).clamp_(0.0, 1.0)


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
        lo, hi = (float(v) for v in torch.aminmax(rgb.float()))  # synchronises
        if not (lo >= 0.0 and hi <= 1.0):  # NaN fails both
            raise ValueError(
                f"rgb is a float image and must lie in [0, 1], got values in [{lo:.6g}, {hi:.6g}]"
            )
    return rgb


def _as_cameras(cameras: Any, n: int, device: torch.device) -> Cameras:
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


# --------------------------------------------------------------------------- curves
def _sites(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(N, 3, H, W) → a new contiguous (N, 3, 2, 2, H/2, W/2) of ``dtype``: channel, then
    CFA site (dy, dx), then the site's plane."""
    n, c, h, w = x.shape
    out = torch.empty((n, c, 2, 2, h // 2, w // 2), dtype=dtype, device=x.device)
    out.copy_(x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4))
    return out


def _per_sample(values: torch.Tensor, ndim: int) -> torch.Tensor:
    """(N,) → (N, 1, …, 1) with ``ndim`` dimensions, to broadcast over a batch."""
    return values.reshape(-1, *([1] * (ndim - 1)))


def _linearize_lut(rgb: torch.Tensor, cams: Cameras, mosaic: bool) -> torch.Tensor:
    """uint8 (N, 3, H, W) → linear float32 through the core's tables: one gather."""
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
    a = s.sqrt_().asin_().mul_(1.0 / 3.0)
    f = torch.sin(a).mul_(a.add_(math.pi / 3.0).sin_()).mul_(2.0)
    return torch.where(y > 0.5, 1.0 - f, f)


def _gamma_expand(x: torch.Tensor, gamma: int) -> torch.Tensor:
    if gamma == 0:
        return x.clamp_min(GAMMA_FLOOR).pow_(2.2)
    curve = x.add(0.055).div_(1.055).pow_(2.4)
    return torch.where(x <= _SRGB_KNEE, x / 12.92, curve)


def _linearize_float(rgb: torch.Tensor, cams: Cameras, mosaic: bool) -> torch.Tensor:
    """Float (N, 3, H, W) → linear float32 by the formulas (float64 for float64 input)."""
    dtype = torch.float64 if rgb.dtype == torch.float64 else torch.float32
    y = _sites(rgb, dtype) if mosaic else rgb.to(dtype, copy=True)
    y.clamp_(0.0, 1.0)
    tones = {c // 2 for c in cams.curves}
    gammas = {c % 2 for c in cams.curves}
    if tones == {1}:
        y = _inverse_smoothstep(y)
    elif tones == {0, 1}:
        smooth = _per_sample(cams.data[:, _COL["tone"].start] > 0.5, y.ndim)
        y = torch.where(smooth, _inverse_smoothstep(y), y)
    if len(gammas) == 1:
        x = _gamma_expand(y, next(iter(gammas)))
    else:
        srgb = _per_sample(cams.data[:, _COL["gamma"].start] > 0.5, y.ndim)
        x = torch.where(srgb, _gamma_expand(y, 1), _gamma_expand(y, 0))
    return x.to(torch.float32)


# --------------------------------------------------------------------------- colour
def _is_compiling() -> bool:
    check = getattr(torch.compiler, "is_compiling", None)  # torch >= 2.3
    return bool(check()) if check is not None else False


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


def _site_view(out: torch.Tensor, layout: str) -> torch.Tensor:
    """(N, 2, 2, H/2, W/2) view ``[n, dy, dx, i, j]`` of pixel (2i + dy, 2j + dx) of a
    Bayer (N, 1, H, W) or packed (N, 4, H/2, W/2) output; writes go through."""
    n, _, h, w = out.shape
    if layout == "bayer":
        return out.view(n, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3)
    return out.view(n, 2, 2, h, w)


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
        _camera_mosaic(lin, cams, _site_view(out, layout))
    else:
        _camera_linear(lin, cams, out)


# --------------------------------------------------------------------------- public
@torch.no_grad()
def invert(
    rgb: torch.Tensor,
    cameras: CameraSource,
    *,
    layout: Layout = "packed",
    noise: NoiseArg = None,
    generator: torch.Generator | None = None,
    check_range: bool = True,
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

    Returns
    -------
    torch.Tensor
        float32 in [0, 1] on ``rgb``'s device, shape per ``layout``.

    Notes
    -----
    Equals ``rawspace.invert(image, camera, layout=layout, dtype=numpy.float32).data``
    (moved to channel-first) per image, to about 1e-6. Runs under ``torch.no_grad``.

    The batch is processed at once (on CPU in cache-sized parts of whole images); per
    sample parameters are gathered from the table, so nothing waits for the device
    except the float range check. Under ``torch.compile`` the pixel work becomes one
    fused kernel (``fullgraph=True`` works without a ``generator``; with one, dynamo
    breaks the graph at the random draws, which run eagerly before that kernel).
    """
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
    n, _, h, w = rgb.shape
    cams = _as_cameras(cameras, n, rgb.device)
    levels = _noise_levels(noise, n, rgb.device, generator)
    shape = {
        "bayer": (n, 1, h, w),
        "packed": (n, 4, h // 2, w // 2),
        "linear": (n, 3, h, w),
    }[layout]
    out = torch.empty(shape, dtype=torch.float32, device=rgb.device)
    z = None
    if levels is not None:  # after the "brooks" levels, one draw for the whole batch
        z = torch.randn(shape, generator=generator, device=rgb.device, dtype=torch.float32)
    for start, stop in _chunks(n, h * w, rgb.device):
        part = slice(start, stop)
        _invert_part(rgb[part], cams[part], layout, out[part])
        if z is not None:
            shot, read = (v[part] if isinstance(v, torch.Tensor) else v for v in levels)
            _add_noise(out[part], shot, read, z[part])
    return out


class Unprocess(nn.Module):
    """:func:`invert` as a module: sRGB batches → simulated raw, for a training loop.

    Parameters
    ----------
    layout : {"bayer", "packed", "linear"}
        Output layout (see :func:`invert`).
    noise : None, "brooks" or (shot, read)
        Sensor noise (see :func:`invert`).
    check_range : bool, default False
        Check float input values (a host synchronisation); off by default here.

    Examples
    --------
    >>> table = Cameras.sample(1000, seed=0, device=device)  # doctest: +SKIP
    >>> unprocess = Unprocess(layout="packed", noise="brooks")  # doctest: +SKIP
    >>> raw = unprocess(images, table[camera_index])  # (N, 4, H/2, W/2)  # doctest: +SKIP
    """

    def __init__(
        self, layout: Layout = "packed", noise: NoiseArg = None, *, check_range: bool = False
    ) -> None:
        super().__init__()
        if not isinstance(layout, str) or layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if noise is not None and not isinstance(noise, str):
            resolve_noise(noise, None)  # check explicit levels now
        elif isinstance(noise, str) and noise != "brooks":
            raise ValueError(f"noise must be None, 'brooks' or (shot, read), got {noise!r}")
        self.layout = layout
        self.noise = noise
        self.check_range = check_range

    def forward(
        self,
        rgb: torch.Tensor,
        cameras: CameraSource,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """(N, 3, H, W) uint8 or float sRGB → float32 raw in [0, 1] (see :func:`invert`)."""
        return invert(
            rgb,
            cameras,
            layout=self.layout,
            noise=self.noise,
            generator=generator,
            check_range=self.check_range,
        )

    def extra_repr(self) -> str:
        return f"layout={self.layout!r}, noise={self.noise!r}"


@dataclass(frozen=True, eq=False)
class CameraSchedule:
    """Which camera each sample of a run is unprocessed with (the ``*_cam`` spaces).

    Training: a pool of cameras drawn once per run with
    :meth:`rawspace.CameraParams.sample`; in every epoch each training sample gets a pool
    camera uniformly at random, from a generator seeded by the run's seed and the epoch,
    so the draw of a sample depends only on (seed, epoch, its row) — the same in any
    process and however the batches are split. Evaluation: one camera for every sample.

    Build one with :meth:`create`.

    Attributes
    ----------
    pool : Cameras
        The training cameras, on the training device.
    train_rows : numpy.ndarray
        The run's training rows, sorted (int64).
    evaluation : Cameras
        The evaluation camera (a table of length 1).
    seed : int
        Seeds the per-epoch assignment.
    """

    pool: Cameras
    train_rows: np.ndarray
    evaluation: Cameras
    seed: int
    _assignments: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def create(
        cls,
        *,
        train_rows: np.ndarray,
        evaluation: CameraParams,
        seed: int,
        pool_size: int | None = None,
        device: torch.device | str | None = None,
    ) -> CameraSchedule:
        """A schedule for a run.

        Parameters
        ----------
        train_rows : numpy.ndarray
            The run's training rows.
        evaluation : CameraParams
            The camera of validation and test samples; the pool's cameras share its CFA,
            tone curve, gamma and levels.
        seed : int
            Seeds the pool (``stable_seed(seed, "training-cameras")``) and the
            per-epoch assignment.
        pool_size : int, optional
            Cameras in the pool; default ``max(4096, len(train_rows))``.
        """
        rows = np.unique(np.asarray(train_rows, dtype=np.int64))
        size = max(4096, len(rows)) if pool_size is None else int(pool_size)
        pool = Cameras.sample(
            size,
            stable_seed(int(seed), "training-cameras"),
            cfa=evaluation.cfa,
            tone=evaluation.tone,
            gamma=evaluation.gamma,
            black_level=evaluation.black_level,
            white_level=evaluation.white_level,
            device=device,
        )
        return cls(pool, rows, Cameras.stack(evaluation, device=device), int(seed))

    def training(self, rows: np.ndarray, epoch: int) -> Cameras:
        """The cameras of training ``rows`` in ``epoch`` (one per row)."""
        assignment = self._assignments.get(epoch)
        if assignment is None:
            rng = np.random.default_rng(stable_seed(self.seed, "training-cameras", str(epoch)))
            assignment = rng.integers(0, len(self.pool), size=len(self.train_rows))
            self._assignments.clear()  # one epoch at a time
            self._assignments[epoch] = assignment
        positions = np.searchsorted(self.train_rows, np.asarray(rows, dtype=np.int64))
        if np.any(positions >= len(self.train_rows)) or np.any(
            self.train_rows[np.minimum(positions, len(self.train_rows) - 1)] != rows
        ):
            raise ValueError("training() asked for rows that are not training rows of the run")
        return self.pool[torch.from_numpy(assignment[positions])]

    def with_evaluation(self, camera: CameraParams) -> CameraSchedule:
        """The same schedule with another evaluation camera (an unseen test camera)."""
        return CameraSchedule(
            self.pool, self.train_rows, Cameras.stack(camera, device=self.pool.device), self.seed
        )
