"""Input spaces: the tensor a classifier sees, built from the arrays of an HDF5 cache.

Nine spaces (:data:`SPACES`, from the torch-free :mod:`classifiers.space_catalogue`; a
test keeps the table below in step with it); ``S`` is ``input_size`` (default 224, even)
and ``H×W`` the cache's image size. Every model input is float32 of shape (N, C, S, S)
(bfloat16 under CUDA autocast), normalised per channel with the mean and standard
deviation of the training samples of the run (:func:`fit_normalization`).

=============  ===  ==================================================================
space          C    built from
=============  ===  ==================================================================
``rgb``        3    cache ``rgb`` (uint8 sRGB) / 255, resized H×W → S×S
``rgb_aug``    3    as ``rgb``; training batches also get random horizontal and
                    vertical flips, rot90 (square inputs), brightness, contrast and
                    saturation factors in [0.9, 1.1], clamped to [0, 1]
``raw_bayer``  1    the CFA mosaic, (v − black) / (white − black); resized through its
                    four packed planes (H/2 → S/2) and re-mosaicked, so no value is
                    ever interpolated across CFA sites
``raw_packed`` 4    the four CFA planes in site order (0,0), (0,1), (1,0), (1,1) (R, Gr,
                    Gb, B for RGGB), (v − black) / (white − black), resized H/2 → S
``raw_linear`` 3    the cache's linear camera RGB, (v − black) / (white − black),
                    resized H×W → S×S (needs a cache with layout ``linear``)
``raw_bayer_   1,   as ``raw_bayer`` and ``raw_packed``; training batches get the same
aug``,         4    random flips and rot90 as ``rgb_aug``, kept CFA-valid, and an
``raw_packed_       exposure and white-balance jitter of the linear values, clipped at
aug``               the white level (:func:`classifiers.augment.raw`)
``raw_bayer_   1,   the cache's ``rgb`` unprocessed on the training device
cam``,         4    (:mod:`classifiers.unprocess`) into a Bayer mosaic (S×S) or packed
``raw_packed_       planes (from 2S×2S RGB): training batches with a fresh random camera
cam``               per sample and epoch and the geometric part of the ``*_aug``
                    augmentation; evaluation with one fixed camera (the cache's own,
                    when it has one camera; an unseen one for the camera-shift test)
=============  ===  ==================================================================

A space is a :class:`Space` object: :func:`get` resolves a name once, and everything
downstream receives the object. The camera spaces store the RGB image and become raw
only in :class:`InputPipeline`, with the cameras of a :class:`classifiers.unprocess.
CameraSchedule`; their stored tensor (3, 2S, 2S) or (3, S, S) differs from their model
input (:meth:`Space.input_shape`). Resizing is bilinear with antialiasing
(``torch.nn.functional.interpolate``) and happens once, when samples are loaded: they
are kept as "stored" tensors of shape (C, S, S), uint8 for RGB and, for raw, int16
holding v − 32768 (the cache's uint16 raw values, rounded to integers after resizing;
int16 because CUDA kernels of uint16 are few). With ``input_size=None`` nothing is
resized: (3, H, W), (1, H, W), (4, H/2, W/2), (3, H, W). Bayer and packed inputs can
come from any raw layout (packing and mosaicking are exact rearrangements);
``raw_linear`` needs linear data (demosaicking would interpolate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from rawspace.cache import CacheReader
from rawspace.hints import CFA_PATTERNS, LAYOUTS, Cfa, Layout

from . import augment, bayer, unprocess
from .normalization import Normalization, fit_normalization
from .space_catalogue import SPACE_CATALOGUE, SpaceEntry, SpaceLayout

__all__ = [
    "SPACES",
    "InputPipeline",
    "Normalization",
    "RawFormat",
    "Space",
    "fit_normalization",
    "get",
]

#: The names of the spaces, in the order of :data:`classifiers.space_catalogue.SPACE_CATALOGUE`.
SPACES: tuple[str, ...] = tuple(entry.name for entry in SPACE_CATALOGUE)
_RAW_OFFSET = 32768


@dataclass(frozen=True)
class RawFormat:
    """How a cache stores raw data.

    Attributes
    ----------
    layout : {"bayer", "packed", "linear"}
        (N, H, W), (N, H/2, W/2, 4) or (N, H, W, 3).
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}
        CFA pattern, named by its top-left 2×2 read row by row.
    black_level, white_level : float
        Raw values lie between them; they map to 0 and 1.

    Examples
    --------
    >>> RawFormat("packed", "BGGR", 0, 1023).cfa
    'BGGR'
    """

    layout: Layout
    cfa: Cfa
    black_level: float
    white_level: float

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {self.layout!r}")
        if self.cfa not in CFA_PATTERNS:
            raise ValueError(f"cfa must be one of {', '.join(CFA_PATTERNS)}; got {self.cfa!r}")
        if not self.white_level > self.black_level:
            raise ValueError(
                f"white_level must exceed black_level; got {self.white_level!r} "
                f"and {self.black_level!r}"
            )

    @classmethod
    def of(cls, reader: CacheReader) -> RawFormat:
        """The raw format of a cache."""
        return cls(reader.layout, reader.cfa, reader.black_level, reader.white_level)


@dataclass(frozen=True)
class Space:
    """One input space (see the module notes).

    Attributes
    ----------
    name : str
        One of :data:`SPACES`.
    layout : {"rgb", "bayer", "packed", "linear"}
        What the model input holds: sRGB, a mosaic, site planes or camera RGB.
    source : {"rgb", "raw"}
        The cache dataset it is built from.
    augment : bool
        Whether training batches are augmented (:func:`classifiers.augment.rgb` for RGB,
        :func:`classifiers.augment.raw` for raw spaces, its geometric part for camera
        spaces).
    description : str
        One sentence for reports.
    camera : bool
        Whether the raw input is unprocessed from the cache's RGB on the training device
        with a :class:`classifiers.unprocess.CameraSchedule`.

    Examples
    --------
    >>> space = get("raw_packed_cam")
    >>> space.layout, space.channels, space.source, space.stored_dtype
    ('packed', 4, 'rgb', torch.uint8)
    """

    name: str
    layout: SpaceLayout
    source: Literal["rgb", "raw"]
    augment: bool
    description: str
    camera: bool = False

    @classmethod
    def from_entry(cls, entry: SpaceEntry) -> Space:
        """The space of a :data:`~classifiers.space_catalogue.SPACE_CATALOGUE` entry."""
        return cls(
            entry.name, entry.layout, entry.source, entry.augmented, entry.detail, entry.camera
        )

    @property
    def channels(self) -> int:
        """C of the model input: 1 for a mosaic, 4 for site planes, 3 otherwise."""
        return {"bayer": 1, "packed": 4}.get(self.layout, 3)

    @property
    def raw(self) -> bool:
        """Whether the model sees raw data (from the cache or unprocessed on the fly)."""
        return self.layout != "rgb"

    @property
    def stored_dtype(self) -> torch.dtype:
        """dtype of the stored tensors: uint8 for RGB, int16 (v − 32768) for raw."""
        return torch.uint8 if self.source == "rgb" else torch.int16

    def check_available(self, *, layout: Layout, has_rgb: bool) -> None:
        """Raise ValueError when a cache with raw ``layout`` (and ``rgb`` or not) lacks it."""
        if self.source == "rgb" and not has_rgb:
            raise ValueError(
                f"space {self.name!r} needs the cache's rgb dataset (built with --no-rgb)"
            )
        if self.layout == "linear" and layout != "linear":
            raise ValueError(
                f"space 'raw_linear' needs a cache with layout 'linear'; got {layout!r}"
            )

    def channel_colors(self, cfa: Cfa) -> tuple[int, ...] | None:
        """The RGB channel (0, 1, 2) of each input channel, for adapting pretrained kernels.

        ``(0, 1, 2)`` for the RGB-like spaces, the colours of the four CFA sites for
        ``raw_packed`` (``(0, 1, 1, 2)`` for RGGB), None for ``raw_bayer`` (one channel).
        """
        if self.layout == "packed":
            return bayer.site_channels(cfa)
        return None if self.channels == 1 else (0, 1, 2)

    def input_shape(
        self, *, height: int, width: int, input_size: int | None
    ) -> tuple[int, int, int]:
        """(C, h, w) of the model input for cache images of ``height×width``."""
        _check_size(input_size)
        if input_size is not None:
            return (self.channels, input_size, input_size)
        if self.layout == "packed":
            return (4, height // 2, width // 2)
        return (self.channels, height, width)

    def stored_shape(
        self, *, height: int, width: int, input_size: int | None
    ) -> tuple[int, int, int]:
        """(C, h, w) of a stored tensor: the model input's, but for the camera spaces, which
        store the RGB image that becomes the input (twice the side for packed planes)."""
        c, h, w = self.input_shape(height=height, width=width, input_size=input_size)
        if not self.camera:
            return (c, h, w)
        scale = 2 if self.layout == "packed" else 1
        return (3, scale * h, scale * w)

    def from_cache(self, array: np.ndarray) -> torch.Tensor:
        """Rows of the cache dataset :attr:`source` → a CPU tensor in the stored encoding.

        Parameters
        ----------
        array : numpy.ndarray
            ``rgb`` rows, uint8 (n, H, W, 3), or ``raw`` rows, uint16 in the cache's layout.

        Returns
        -------
        torch.Tensor
            Same shape; uint8 for RGB, int16 holding v − 32768 for raw. Exact.
        """
        array = np.asarray(array)
        if self.source == "rgb":
            if array.dtype != np.uint8:
                raise ValueError(f"rgb rows must be uint8; got {array.dtype}")
            return torch.from_numpy(np.ascontiguousarray(array))
        if array.dtype.kind != "u" or array.dtype.itemsize != 2:
            raise ValueError(f"raw rows must be uint16; got {array.dtype}")
        flipped = np.ascontiguousarray(array.astype(np.uint16, copy=False) ^ np.uint16(_RAW_OFFSET))
        return torch.from_numpy(flipped.view(np.int16))

    def to_stored(
        self, array: torch.Tensor, *, fmt: RawFormat, input_size: int | None
    ) -> torch.Tensor:
        """Cache rows (from :meth:`from_cache`) → the stored tensor of this space, resized.

        Parameters
        ----------
        array : torch.Tensor
            Rows of the cache dataset :attr:`source` from :meth:`from_cache`: ``rgb`` uint8
            (n, H, W, 3), or ``raw`` int16 in ``fmt.layout`` (n, H, W), (n, H/2, W/2, 4) or
            (n, H, W, 3). Any device; the result stays on it.
        input_size : int or None
            Side S of the output (even), or None to keep the native size.

        Returns
        -------
        torch.Tensor
            (n, C, h, w), uint8 for RGB spaces and int16 (v − 32768) for raw spaces, with
            (h, w) from :meth:`stored_shape`.
        """
        _check_size(input_size)
        if self.source == "rgb":
            if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != torch.uint8:
                raise ValueError(f"rgb rows must be uint8 (n, H, W, 3); got {_describe(array)}")
            height, width = array.shape[1:3]
            side = self.stored_shape(height=height, width=width, input_size=input_size)[1]
            return _resize(array.permute(0, 3, 1, 2), None if input_size is None else side)
        if array.dtype != torch.int16:
            raise ValueError(f"raw rows must be int16 from from_cache(); got {_describe(array)}")
        self.check_available(layout=fmt.layout, has_rgb=True)
        if self.layout == "linear":
            return _resize(_planar(array), input_size)
        packed = _packed(array, fmt)
        if self.layout == "packed":
            return _resize(packed, input_size)
        half = None if input_size is None else input_size // 2
        return bayer.unpack(_resize(packed, half))

    def to_unit(self, stored: torch.Tensor, *, fmt: RawFormat) -> torch.Tensor:
        """Stored tensor (N, C, h, w) → float32 in [0, 1]: RGB / 255, raw (v − b) / (w − b).

        Camera spaces need cameras: use :meth:`InputPipeline.unit`."""
        if self.camera:
            raise ValueError(f"space {self.name!r} becomes raw with cameras: use InputPipeline")
        if self.source == "rgb":
            return stored.float() / 255.0
        scale = 1.0 / (fmt.white_level - fmt.black_level)
        return (stored.float() + (_RAW_OFFSET - fmt.black_level)) * scale


_SPACES = {entry.name: Space.from_entry(entry) for entry in SPACE_CATALOGUE}


def get(name: str) -> Space:
    """The :class:`Space` called ``name``; ValueError naming the choices otherwise.

    Examples
    --------
    >>> get("raw_bayer_aug").layout, get("raw_bayer_aug").augment
    ('bayer', True)
    """
    if name not in _SPACES:
        raise ValueError(f"space must be one of {', '.join(SPACES)}; got {name!r}")
    return _SPACES[name]


@dataclass(frozen=True)
class InputPipeline:
    """Stored batch → model input: values in [0, 1] (:meth:`unit`), augmentation (training
    batches of augmenting spaces only), then :class:`Normalization`.

    Attributes
    ----------
    space : Space
    fmt : RawFormat
    normalization : Normalization
        Identity (:meth:`Normalization.identity`) until fitted.
    cameras : classifiers.unprocess.CameraSchedule or None
        Needed by the camera spaces, ignored by the others.

    Examples
    --------
    >>> space = get("raw_packed")
    >>> fmt = RawFormat("packed", "RGGB", 0, 1000)
    >>> pipeline = InputPipeline(space, fmt, Normalization.identity(4))
    >>> stored = space.from_cache(np.full((1, 2, 2, 4), 500, dtype=np.uint16)).permute(0, 3, 1, 2)
    >>> pipeline(stored, train=False).flatten()[:4]
    tensor([0.5000, 0.5000, 0.5000, 0.5000])
    """

    space: Space
    fmt: RawFormat
    normalization: Normalization
    cameras: unprocess.CameraSchedule | None = None

    def __post_init__(self) -> None:
        if self.space.camera and self.cameras is None:
            raise ValueError(f"space {self.space.name!r} needs a CameraSchedule (cameras=...)")

    def unit(
        self,
        stored: torch.Tensor,
        *,
        rows: np.ndarray | None = None,
        train: bool = False,
        epoch: int = 0,
    ) -> torch.Tensor:
        """Stored (N, C, h, w) → float32 in [0, 1], not augmented.

        Camera spaces unprocess the stored RGB with the training cameras of ``rows`` in
        ``epoch`` (``train=True``) or the evaluation camera.
        """
        layout = self.space.layout
        if self.cameras is None or layout == "rgb":  # not a camera space (__post_init__)
            return self.space.to_unit(stored, fmt=self.fmt)
        if train:
            if rows is None:
                raise ValueError("camera spaces need the rows of a training batch")
            cameras = self.cameras.training(rows, epoch)
        else:
            cameras = self.cameras.evaluation
        return unprocess.invert(stored, cameras, layout=layout, check_range=False)

    def __call__(
        self,
        stored: torch.Tensor,
        *,
        train: bool,
        generator: torch.Generator | None = None,
        rows: np.ndarray | None = None,
        epoch: int = 0,
    ) -> torch.Tensor:
        """Stored (N, C, h, w) uint8/int16 → (N, C', h', w') float32, normalised.

        ``rows`` (the batch's cache rows) and ``epoch`` choose the cameras of training
        batches of the camera spaces.
        """
        x = self.unit(stored, rows=rows, train=train, epoch=epoch)
        layout, cfa = self.space.layout, self.fmt.cfa
        if not (train and self.space.augment) or layout == "linear":  # no augmented linear
            pass
        elif layout == "rgb":
            x = augment.rgb(x, generator=generator)
        elif self.space.camera:
            geometry = augment.draw_geometry(x, generator=generator)
            x = augment.raw_geometry(x, geometry, layout=layout, cfa=cfa)
        else:
            x = augment.raw(x, layout=layout, cfa=cfa, generator=generator)
        return self.normalization(x)

    def describe(self, shape: Sequence[int]) -> dict[str, object]:
        """The exact model input for reports: shape (C, h, w), dtype, values, statistics."""
        space = self.space
        raw = space.source == "raw"
        fmt = self.fmt
        if space.camera:
            source, scaling = "cache rgb (uint8), unprocessed on the device", "camera raw in [0, 1]"
        elif raw:
            source = f"cache raw ({fmt.layout}, uint16)"
            scaling = f"(v − {fmt.black_level:g}) / ({fmt.white_level:g} − {fmt.black_level:g})"
        else:
            source, scaling = "cache rgb (uint8)", "v / 255"
        return {
            "space": space.name,
            "shape": [int(s) for s in shape],
            "dtype": "float32 (bfloat16 under CUDA autocast)",
            "source": source,
            "scaling": scaling,
            "description": space.description,
            "cfa": fmt.cfa if space.raw else None,
            "mean": list(self.normalization.mean),
            "std": list(self.normalization.std),
        }


def _check_size(input_size: int | None) -> None:
    if input_size is not None and (
        isinstance(input_size, bool)
        or not isinstance(input_size, int)
        or input_size < 2
        or input_size % 2
    ):
        raise ValueError(f"input_size must be an even integer ≥ 2 or None; got {input_size!r}")


def _describe(array: torch.Tensor) -> str:
    return f"{array.dtype} {tuple(array.shape)}"


def _resize(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """(n, C, h, w) integer tensor → (n, C, size, size), same dtype; bilinear, antialiased."""
    if size is None or (x.shape[-2] == size and x.shape[-1] == size):
        return x.contiguous()
    limits = torch.iinfo(x.dtype)
    y = F.interpolate(
        x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return y.round_().clamp_(limits.min, limits.max).to(x.dtype)


def _planar(array: torch.Tensor) -> torch.Tensor:
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"linear raw rows must be (n, H, W, 3); got {_describe(array)}")
    return array.permute(0, 3, 1, 2).contiguous()


def _packed(array: torch.Tensor, fmt: RawFormat) -> torch.Tensor:
    """Raw rows in any layout → (n, 4, H/2, W/2) site planes (:data:`classifiers.bayer.SITES`)."""
    if fmt.layout == "packed":
        if array.ndim != 4 or array.shape[-1] != 4:
            raise ValueError(f"packed raw rows must be (n, h, w, 4); got {_describe(array)}")
        return array.permute(0, 3, 1, 2).contiguous()
    if fmt.layout == "bayer":
        if array.ndim != 3 or array.shape[-1] % 2 or array.shape[-2] % 2:
            raise ValueError(f"bayer raw rows must be (n, H, W), H, W even; got {_describe(array)}")
        return bayer.pack(array.unsqueeze(1).contiguous())
    planar = _planar(array)
    if planar.shape[-1] % 2 or planar.shape[-2] % 2:
        raise ValueError(f"linear raw rows must have even H and W; got {_describe(array)}")
    return bayer.mosaic_planes(planar, fmt.cfa)
