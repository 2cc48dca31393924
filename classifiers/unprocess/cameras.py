"""The camera table of the torch backend: :class:`Cameras`.

:class:`Cameras` stacks :class:`rawspace.CameraParams` into one float64 tensor once (for
instance one table per epoch on the training device) and is indexed by a tensor of
indices to take the cameras of a batch without leaving the device. Each row holds the
camera's fields and the per-camera coefficients that :func:`classifiers.unprocess.invert`
and :func:`classifiers.unprocess.develop` use, derived once in float64. The curve
vocabulary (tone curves, gammas, their codes and the index of a (tone, gamma) pair)
comes from :mod:`rawspace.spec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import torch

from rawspace.cameras import CameraSource as CatalogueSource
from rawspace.cameras import camera_pool
from rawspace.curves import linearize_lut
from rawspace.hints import CFA_PATTERNS, Cfa, Gamma, Tone
from rawspace.params import CameraParams, GainModel, as_rng
from rawspace.spec import (
    CURVE_PAIRS,
    GAMMA_CURVES,
    HIGHLIGHT_SLOPE,
    TONE_CURVES,
    curve_pair_index,
)

from ..bayer import site_channels

__all__ = ["CameraSource", "Cameras"]

_TONE_NAMES = {curve.code: name for name, curve in TONE_CURVES.items()}
_GAMMA_NAMES = {curve.code: name for name, curve in GAMMA_CURVES.items()}


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
        ("tone", 1),  # rawspace.spec.TONE_CURVES[tone].code
        ("gamma", 1),  # rawspace.spec.GAMMA_CURVES[gamma].code
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
        ("curve", 1),  # 256 × the (tone, gamma) pair's rawspace.spec.curve_pair_index
    ]
)
_N_COLUMNS = max(s.stop for s in _COL.values())
_PARAM_END = _COL["highlight_blend"].stop


def _lut_table() -> np.ndarray:
    """The core's uint8 tables, one row per pair of :data:`rawspace.spec.CURVE_PAIRS`,
    (4, 256) float64."""
    return np.stack([linearize_lut(np.uint8, tone, gamma) for tone, gamma in CURVE_PAIRS])


def _row(p: CameraParams) -> np.ndarray:
    """One row of the table: the fields of ``p`` and its derived coefficients, float64."""
    r = np.empty(_N_COLUMNS)
    chan = np.array(site_channels(p.cfa))  # channel of each site, packed order
    gain = 1.0 / p.wb_gains  # exactly as rawspace.pipeline.invert
    # the blend's weight is m = (10 t)² with t = max(gray - 0.9, 0): fold the 100 in here
    slope = HIGHLIGHT_SLOPE**2 * np.maximum(1.0 - gain, 0.0) * float(p.highlight_blend)
    rows = p.rgb2cam[chan]  # (4 sites, 3)
    r[_COL["rgb2cam"]] = p.rgb2cam.ravel()
    r[_COL["rgb_gain"]] = p.rgb_gain
    r[_COL["red_gain"]] = p.red_gain
    r[_COL["blue_gain"]] = p.blue_gain
    r[_COL["black_level"]] = p.black_level
    r[_COL["white_level"]] = p.white_level
    r[_COL["cfa"]] = CFA_PATTERNS.index(p.cfa)
    r[_COL["tone"]] = TONE_CURVES[p.tone].code
    r[_COL["gamma"]] = GAMMA_CURVES[p.gamma].code
    r[_COL["highlight_blend"]] = float(p.highlight_blend)
    r[_COL["site_rows"]] = rows.T.ravel()
    r[_COL["site_rows_g"]] = (rows * gain[chan, None]).T.ravel()
    r[_COL["site_gain"]] = gain[chan]
    r[_COL["site_slope"]] = slope[chan]
    r[_COL["matrix_g"]] = (p.rgb2cam * gain[:, None]).ravel()
    r[_COL["gain"]] = gain
    r[_COL["slope"]] = slope
    r[_COL["gray"]] = (p.rgb2cam[0] + p.rgb2cam[1] + p.rgb2cam[2]) / 3.0
    r[_COL["curve"]] = 256 * curve_pair_index(p.tone, p.gamma)
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
        Host-side: the (tone, gamma) pairs that may occur, as their
        :func:`rawspace.spec.curve_pair_index` (the rows of ``lut``); an indexed subset
        keeps its parent's set. Lets :func:`~classifiers.unprocess.invert`
        skip curves no camera uses without asking the device.
    any_blend : bool
        Host-side: whether some camera may use the highlight blend (kept on indexing).

    Notes
    -----
    Indexing with a tensor on the table's device involves no host synchronisation;
    ``len`` and the properties are views or cheap casts.

    Examples
    --------
    >>> table = Cameras.sample(4, seed=0)
    >>> batch = table[torch.tensor([2, 0, 2])]
    >>> len(table), batch.rgb2cam.shape
    (4, torch.Size([3, 3, 3]))
    >>> batch.to_params()[0] == table.to_params()[2]
    True
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
        curves = frozenset(curve_pair_index(p.tone, p.gamma) for p in params)
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
        source: CatalogueSource = "brooks",
        mix: bool = False,
        gains: GainModel = "brooks",
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
        source : {"brooks", "catalogue", "training", "held-out"}, default "brooks"
            ``"brooks"``: Brooks et al.'s random mix of four matrices; otherwise real
            cameras of that part of :mod:`rawspace.catalogue`
            (:func:`rawspace.cameras.camera_pool`): ``"training"`` for training pools,
            ``"held-out"`` for cameras no training pool holds.
        mix, gains
            As :meth:`rawspace.CameraParams.sample` (``mix`` for catalogue sources only).
        cfa, tone, gamma, black_level, white_level
            Fixed fields of every camera, as in :meth:`rawspace.CameraParams.sample`.
        device : torch.device or str, optional
            Where the tensors live.

        Examples
        --------
        >>> len(Cameras.sample(3, seed=0, source="training"))
        3
        """
        cameras = _sample_params(
            n, seed, source=source, mix=mix, gains=gains, cfa=cfa, tone=tone, gamma=gamma,
            black_level=black_level, white_level=white_level,
        )  # fmt: skip
        return cls.stack(cameras, device=device)

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
        """(N,) int64: the code of each camera's tone curve (:data:`rawspace.spec.TONE_CURVES`)."""
        return self._field("tone").long()

    @property
    def gamma(self) -> torch.Tensor:
        """(N,) int64: the code of each camera's gamma (:data:`rawspace.spec.GAMMA_CURVES`)."""
        return self._field("gamma").long()

    @property
    def highlight_blend(self) -> torch.Tensor:
        """(N,) bool."""
        return self._field("highlight_blend") > 0.5

    def to_params(self) -> list[CameraParams]:
        """The cameras as :class:`rawspace.CameraParams` again (copies to the host).

        The table holds the numbers the pipeline uses, not a camera's ``name`` or
        ``noise_profile``: those come back unset.
        """
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


#: What :func:`classifiers.unprocess.invert` accepts as cameras.
CameraSource: TypeAlias = Cameras | CameraParams | Sequence[CameraParams]


def _sample_params(
    n: int,
    seed: int | np.random.Generator | None,
    *,
    source: CatalogueSource,
    mix: bool = False,
    gains: GainModel = "brooks",
    cfa: Cfa = "RGGB",
    tone: Tone = "smoothstep",
    gamma: Gamma = "power2.2",
    black_level: int = 0,
    white_level: int = 16383,
) -> list[CameraParams]:
    """The ``n`` cameras of :meth:`Cameras.sample`, as :class:`rawspace.CameraParams`."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    pool = camera_pool(source)  # checks source
    if source == "brooks" and mix:
        raise ValueError("mix mixes two catalogue cameras: pass a catalogue source")
    rng = as_rng(seed)
    return [
        CameraParams.sample(
            rng,
            matrices="brooks" if source == "brooks" else "catalogue",
            include=pool or None,
            mix=mix,
            gains=gains,
            cfa=cfa,
            tone=tone,
            gamma=gamma,
            black_level=black_level,
            white_level=white_level,
        )
        for _ in range(int(n))
    ]
