"""The camera pipeline and its exact inverse: :func:`invert` (sRGB → raw) and
:func:`develop` (raw → sRGB), for one image or a batch.

``invert`` undoes, in order, the tone curve, the gamma, the sRGB→camera colour
matrix and the white balance and digital gain (highlight-preserving, as Brooks
et al.), clips to [0, 1], samples the Bayer pattern, optionally adds sensor
noise and scales to the raw range. ``develop`` undoes each of these steps:
black/white normalisation, demosaic, the exact inverse of the gain blend,
camera→sRGB, gamma and tone curve.

A batch, (..., H, W, 3) images with one camera or one camera per image, is
processed in parallel over images by the same row functions as a single image
(parallel over rows), so each image of a batch comes out exactly as it would
alone; :class:`RawBatch` holds the result.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, overload

import numpy as np

from . import _kernels
from ._checks import check_array, check_choice, check_unit_range
from .cfa import cfa_channels, mosaic_view, unpack
from .curves import gamma_code, linearize_lut, render_thresholds, tone_code
from .hints import DEMOSAIC_METHODS, LAYOUTS, OUTPUTS, DemosaicMethod, Layout, NoiseModel, Output
from .noise import NoiseLevels, resolve_noise
from .params import CameraParams, as_rng
from .rawimage import RAW_DTYPES, RawImage, image_size, raw_shape
from .spec import CURVE_PAIRS, HIGHLIGHT_START, curve_pair_index

__all__ = ["RawBatch", "develop", "invert"]

_OUT_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))

#: The seed of :func:`invert`: one for the call, or one per image of a batch.
Seed = int | np.random.Generator | Sequence[int] | None
#: The camera of :func:`invert`: drawn, one for all images, or one per image.
Cameras = CameraParams | Sequence[CameraParams] | None
NoiseArg = NoiseModel | tuple[float, float] | None


@dataclass(frozen=True, eq=False)
class RawBatch:
    """Raw images of one size and layout, each with its camera: what :func:`invert`
    returns for a batch, and what :func:`develop` takes for one.

    Attributes
    ----------
    data : numpy.ndarray
        ``(*batch_shape, *raw)`` where ``raw`` is a single image's array shape
        (:func:`rawspace.rawimage.raw_shape`): uint16 or float32.
    params : tuple of CameraParams
        One camera per image, in C order of ``batch_shape``.
    layout : {"bayer", "packed", "linear"}
    noise : tuple of (float, float) or None
        ``(shot, read)`` of each image, or None where no noise was added.
    seeds : tuple of int or None
        The seed of each image when :func:`invert` was given one per image, else None:
        ``batch[i]`` equals ``invert(rgb[i], seed=seeds[i], ...)`` then.
    batch_shape : tuple of int
        The leading axes of ``data``.

    Examples
    --------
    >>> import numpy as np
    >>> from rawspace import CameraParams, invert
    >>> batch = invert(np.zeros((2, 3, 4, 4, 3), np.uint8), CameraParams.sample(0))
    >>> batch.batch_shape, batch.shape, len(batch), batch[5].data.shape
    ((2, 3), (4, 4), 6, (4, 4))
    """

    data: np.ndarray
    params: tuple[CameraParams, ...]
    layout: Layout
    noise: tuple[NoiseLevels | None, ...]
    seeds: tuple[int | None, ...]
    batch_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        check_choice("layout", self.layout, LAYOUTS)
        n = math.prod(self.batch_shape)
        for name in ("params", "noise", "seeds"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"{name} must have one entry per image ({n}), got {len(getattr(self, name))}"
                )
        if tuple(self.data.shape[: len(self.batch_shape)]) != tuple(self.batch_shape):
            raise ValueError(
                f"data of shape {self.data.shape} does not start with batch_shape "
                f"{self.batch_shape}"
            )
        if n:
            self[0]  # checks the image shape, layout and dtype as RawImage does

    @classmethod
    def from_images(cls, images: Sequence[RawImage]) -> RawBatch:
        """Stack raw images of one shape, layout and dtype into a batch of shape (N,).

        Examples
        --------
        >>> import numpy as np
        >>> from rawspace import CameraParams, invert
        >>> cam = CameraParams.sample(0)
        >>> images = [invert(np.full((2, 2, 3), v, np.uint8), cam) for v in (0, 255)]
        >>> RawBatch.from_images(images).data.shape
        (2, 2, 2)
        """
        images = list(images)
        if not images or not all(isinstance(r, RawImage) for r in images):
            raise TypeError("images must be a non-empty sequence of RawImage")
        first = images[0]
        for r in images[1:]:
            if (r.layout, r.data.shape, r.data.dtype) != (
                first.layout,
                first.data.shape,
                first.data.dtype,
            ):
                raise ValueError(
                    "images must share layout, shape and dtype, got "
                    f"{first.layout} {first.data.shape} {first.data.dtype} and "
                    f"{r.layout} {r.data.shape} {r.data.dtype}"
                )
        return cls(
            data=np.stack([r.data for r in images]),
            params=tuple(r.params for r in images),
            layout=first.layout,
            noise=tuple(r.noise for r in images),
            seeds=tuple(r.seed for r in images),
            batch_shape=(len(images),),
        )

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width of each image in pixels."""
        return image_size(self.layout, self.data.shape[len(self.batch_shape) :])

    def __len__(self) -> int:
        return len(self.params)

    def __getitem__(self, index: int) -> RawImage:
        """Image ``index`` (flat, in C order of ``batch_shape``); its data is a view."""
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} is out of range for a batch of {n} images")
        index %= n
        flat = self.data.reshape(n, *self.data.shape[len(self.batch_shape) :])
        return RawImage(
            data=flat[index],
            params=self.params[index],
            layout=self.layout,
            noise=self.noise[index],
            seed=self.seeds[index],
        )

    def __iter__(self) -> Iterator[RawImage]:
        return (self[i] for i in range(len(self)))


def _input_scale(rgb: np.ndarray) -> float:
    if np.issubdtype(rgb.dtype, np.integer):
        return 1.0 / np.iinfo(rgb.dtype).max
    return 1.0


def _check_rgb(rgb: Any) -> np.ndarray:
    if isinstance(rgb, np.ndarray) and rgb.ndim < 3:
        raise ValueError(f"rgb must have shape (H, W, 3) or (..., H, W, 3), got shape {rgb.shape}")
    rgb = check_array("rgb", rgb, ndim=max(getattr(rgb, "ndim", 3), 3), channels=3)
    if np.issubdtype(rgb.dtype, np.integer):
        if rgb.dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
            raise TypeError(f"rgb must be uint8, uint16 or float in [0, 1], got {rgb.dtype}")
    elif rgb.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"rgb must be uint8, uint16, float32 or float64, got {rgb.dtype}")
    check_unit_range("rgb", rgb)
    if rgb.shape[-3] == 0 or rgb.shape[-2] == 0:
        raise ValueError(f"rgb must not be empty, got shape {rgb.shape}")
    return rgb


def _blend_start(params: CameraParams) -> float:
    """Gray level where the highlight-preserving gain blend starts; inf without the blend."""
    return HIGHLIGHT_START if params.highlight_blend else math.inf


def _site_limits(params: CameraParams) -> np.ndarray:
    """Upper clip of each CFA site before demosaicing (2×2).

    With the highlight blend: inf (the values are clipped to [0, 1] after the
    interpolation). Without it: ``1 / gain`` of the site's channel, so that the
    white-balanced value saturates at 1 before interpolation, as in LibRaw.
    """
    if params.highlight_blend:
        return np.full((2, 2), math.inf)
    limits: np.ndarray = 1.0 / params.wb_gains[cfa_channels(params.cfa)]
    return limits


def _output_scaling(dtype: np.dtype, lo: float, hi: float) -> tuple[float, float]:
    """Scale and offset that map [0, 1] to [lo, hi] with rounding for integer dtypes."""
    if np.issubdtype(dtype, np.integer):
        return hi - lo, lo + 0.5
    return 1.0, 0.0


@lru_cache(maxsize=4)
def _pair_luts(dtype: np.dtype) -> np.ndarray:
    """``linearize_lut`` of every (tone, gamma) pair, one row per :data:`CURVE_PAIRS` entry."""
    table = np.stack([linearize_lut(dtype, tone, gamma) for tone, gamma in CURVE_PAIRS])
    table.setflags(write=False)
    return table


@lru_cache(maxsize=1)
def _pair_thresholds() -> tuple[np.ndarray, np.ndarray]:
    """``render_thresholds`` of every (tone, gamma) pair, stacked by pair index."""
    pairs = [render_thresholds(tone, gamma) for tone, gamma in CURVE_PAIRS]
    thresholds = np.stack([t for t, _ in pairs])
    grid = np.stack([g for _, g in pairs])
    thresholds.setflags(write=False)
    grid.setflags(write=False)
    return thresholds, grid


def _check_camera(params: Any) -> CameraParams:
    if not isinstance(params, CameraParams):
        raise TypeError(f"params must be a CameraParams or None, got {type(params).__name__}")
    return params


def _image_rngs(seed: Seed, n: int) -> tuple[list[np.random.Generator], tuple[int | None, ...]]:
    """The generator of each of ``n`` images and the seed recorded for each.

    One seed or generator for the batch: one generator, drawn from image by image.
    A sequence of ``n`` seeds: image ``i`` gets ``as_rng(seed[i])``.
    """
    if isinstance(seed, Sequence) and not isinstance(seed, (str, bytes)):
        if len(seed) != n:
            raise ValueError(f"seed must be one seed or one per image ({n}), got {len(seed)}")
        return [as_rng(s) for s in seed], tuple(int(s) for s in seed)
    if not (seed is None or isinstance(seed, (int, np.integer, np.random.Generator))):
        raise TypeError(
            "seed must be an int, a numpy.random.Generator, a sequence of ints or None, "
            f"got {type(seed).__name__}"
        )
    rng = as_rng(seed)
    return [rng] * n, (None,) * n


@overload
def invert(
    rgb: np.ndarray[tuple[int, int, int], np.dtype[Any]],
    params: CameraParams | None = None,
    *,
    seed: int | np.random.Generator | None = None,
    layout: Layout = "bayer",
    dtype: type | np.dtype = np.uint16,
    noise: NoiseArg = None,
) -> RawImage: ...
@overload
def invert(
    rgb: np.ndarray,
    params: Cameras = None,
    *,
    seed: Seed = None,
    layout: Layout = "bayer",
    dtype: type | np.dtype = np.uint16,
    noise: NoiseArg = None,
) -> RawImage | RawBatch: ...
def invert(
    rgb: np.ndarray,
    params: Cameras = None,
    *,
    seed: Seed = None,
    layout: Layout = "bayer",
    dtype: type | np.dtype = np.uint16,
    noise: NoiseArg = None,
) -> RawImage | RawBatch:
    """Turn an sRGB image, or a batch of them, into the raw images a camera would record.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3) or (..., H, W, 3)
        Channel-last sRGB: uint8, uint16, or float32/float64 in [0, 1]. Leading axes
        make a batch. Not modified.
    params : CameraParams, sequence of CameraParams, optional
        The camera: one for every image, or (for a batch) one per image in C order of
        the leading axes. When None, one is drawn per image with
        :meth:`CameraParams.sample`.
    seed : int, numpy.random.Generator or sequence of int, optional
        Seeds the camera (when ``params`` is None) and then the noise of each image.
        One seed or generator for a batch is one generator drawn from image after
        image: the batch equals ``[invert(x, p, seed=g) for x, p in ...]`` with
        ``g = numpy.random.default_rng(seed)``. A sequence gives each image its own
        seed: image ``i`` equals ``invert(rgb[i], p, seed=seed[i])``.
    layout : {"bayer", "packed", "linear"}
        ``"bayer"``: (H, W) mosaic; ``"packed"``: (H/2, W/2, 4) planes in site order
        (0,0), (0,1), (1,0), (1,1); ``"linear"``: (H, W, 3) camera RGB, no mosaic.
        Mosaic layouts need even H and W.
    dtype : numpy.uint16 or numpy.float32
        uint16 is rounded to the range ``[black_level, white_level]``; float32 is in [0, 1].
    noise : None, "brooks", "camera" or (shot, read)
        Sensor noise added after the mosaic: none, levels drawn as Brooks et al.
        (per image), the camera's own noise profile (``params.noise_profile``, read from
        a DNG's NoiseProfile tag; its planes averaged), or explicit variances. The result
        is clipped to [0, 1] again.

    Returns
    -------
    RawImage or RawBatch
        For one image: ``data``, the ``params`` used, ``layout``, the ``noise`` levels
        and ``seed``. For a batch: a :class:`RawBatch` whose ``data`` has the leading
        axes of ``rgb``; each of its images equals the single-image result exactly.

    Notes
    -----
    Without noise and clipping, :func:`develop` inverts this exactly: a uint8 image
    comes back bit for bit from a float32 linear raw image. Clipping happens where
    a colour lies outside the camera's gamut or saturates after the gains.

    Examples
    --------
    >>> import numpy as np
    >>> from rawspace import CameraParams, develop, invert
    >>> rgb = np.random.default_rng(0).integers(0, 256, (4, 6, 3), dtype=np.uint8)
    >>> raw = invert(rgb, CameraParams.sample(0), layout="linear", dtype=np.float32)
    >>> raw.data.shape, raw.data.dtype
    ((4, 6, 3), dtype('float32'))
    >>> bool((develop(raw) == rgb).all())
    True
    >>> batch = invert(np.stack([rgb, rgb[::-1]]), seed=7)  # a camera drawn per image
    >>> batch.data.shape, batch.params[0] == batch.params[1]
    ((2, 4, 6), False)
    """
    rgb = _check_rgb(rgb)
    check_choice("layout", layout, LAYOUTS)
    dtype = np.dtype(dtype)
    if dtype not in RAW_DTYPES:
        raise TypeError(f"dtype must be numpy.uint16 or numpy.float32, got {dtype}")
    h, w = rgb.shape[-3:-1]
    if layout != "linear" and (h % 2 or w % 2):
        raise ValueError(
            f"rgb must have even height and width for layout={layout!r}, got {h}×{w}; "
            "crop or pad it, or use layout='linear'"
        )
    if rgb.ndim > 3:
        return _invert_batch(rgb, params, seed=seed, layout=layout, dtype=dtype, noise=noise)
    if isinstance(seed, Sequence):
        raise TypeError("seed must be an int, a numpy.random.Generator or None for one image")
    # A fresh generator costs more than a small image's kernel: made only when drawn from.
    drawn = params is None or noise is not None
    rng = as_rng(seed) if drawn or seed is not None else None
    params = CameraParams.sample(rng) if params is None else _check_camera(params)
    levels = resolve_noise(noise, rng, params) if rng is not None else None

    out = np.empty(raw_shape(layout, h, w), dtype=dtype)
    noise_z = (
        np.asarray(rng.standard_normal(size=out.shape), dtype=np.float32)
        if levels is not None and rng is not None
        else np.zeros((0,) * out.ndim, dtype=np.float32)
    )
    shot, read = levels if levels is not None else (0.0, 0.0)
    use_lut = np.issubdtype(rgb.dtype, np.integer)
    lut = linearize_lut(rgb.dtype, params.tone, params.gamma) if use_lut else np.zeros(1)
    scale, offset = _output_scaling(dtype, params.black_level, params.white_level)
    inverse_gains = 1.0 / params.wb_gains
    common = (
        rgb, lut, use_lut, _input_scale(rgb), tone_code(params.tone), gamma_code(params.gamma),
        params.rgb2cam, inverse_gains, _blend_start(params),
    )  # fmt: skip
    if layout == "linear":
        _kernels._invert_linear(
            *common, noise_z, levels is not None, shot, read, scale, offset, out
        )
    else:
        z4 = mosaic_view(noise_z, layout) if levels is not None else noise_z.reshape(0, 0, 0, 0)
        _kernels._invert_mosaic(
            *common, cfa_channels(params.cfa), z4, levels is not None, shot, read,
            scale, offset, mosaic_view(out, layout),
        )  # fmt: skip
    return RawImage(
        data=out,
        params=params,
        layout=layout,
        noise=levels,
        seed=int(seed) if isinstance(seed, (int, np.integer)) else None,
    )


def _batch_cameras(params: Cameras, n: int) -> list[CameraParams] | None:
    """One camera per image, or None where each is to be drawn."""
    if params is None:
        return None
    if isinstance(params, CameraParams):
        return [params] * n
    if not isinstance(params, Sequence):
        raise TypeError(
            "params must be a CameraParams, a sequence of CameraParams or None, "
            f"got {type(params).__name__}"
        )
    if len(params) != n:
        raise ValueError(f"params must be one camera or one per image ({n}), got {len(params)}")
    return [_check_camera(p) for p in params]


def _invert_batch(
    rgb: np.ndarray,
    params: Cameras,
    *,
    seed: Seed,
    layout: Layout,
    dtype: np.dtype,
    noise: NoiseArg,
) -> RawBatch:
    """:func:`invert` of (..., H, W, 3): per-image draws in order, then one parallel kernel."""
    lead = rgb.shape[:-3]
    n = math.prod(lead)
    h, w = rgb.shape[-3:-1]
    images = rgb.reshape(n, h, w, 3)
    given = _batch_cameras(params, n)
    rngs, seeds = _image_rngs(seed, n)
    single = raw_shape(layout, h, w)
    out = np.empty((n, *single), dtype=dtype)
    if n == 0:
        return RawBatch(out.reshape(*lead, *single), (), layout, (), (), tuple(lead))
    noise_z = np.zeros((n, *single) if noise is not None else (n,) + (0,) * len(single), np.float32)
    cams: list[CameraParams] = []
    levels: list[NoiseLevels | None] = []
    for i, rng in enumerate(rngs):  # the draws of a loop over single images, in order
        cams.append(CameraParams.sample(rng) if given is None else given[i])
        levels.append(resolve_noise(noise, rng, cams[i]))
        if noise is not None:
            noise_z[i] = rng.standard_normal(size=single)
    has_noise = noise is not None
    shot = np.array([lv[0] if lv is not None else 0.0 for lv in levels])
    read = np.array([lv[1] if lv is not None else 0.0 for lv in levels])
    use_lut = np.issubdtype(rgb.dtype, np.integer)
    luts = _pair_luts(rgb.dtype) if use_lut else np.zeros((1, 1))
    scaling = np.array([_output_scaling(dtype, p.black_level, p.white_level) for p in cams])
    common = (
        images, luts, np.array([curve_pair_index(p.tone, p.gamma) for p in cams]) * use_lut,
        use_lut, _input_scale(rgb), np.array([tone_code(p.tone) for p in cams]),
        np.array([gamma_code(p.gamma) for p in cams]), np.stack([p.rgb2cam for p in cams]),
        np.stack([1.0 / p.wb_gains for p in cams]), np.array([_blend_start(p) for p in cams]),
    )  # fmt: skip
    if layout == "linear":
        _kernels._invert_linear_batch(
            *common, noise_z, has_noise, shot, read, scaling[:, 0], scaling[:, 1], out
        )
    else:
        z4 = mosaic_view(noise_z, layout) if has_noise else noise_z.reshape(n, 0, 0, 0, 0)
        _kernels._invert_mosaic_batch(
            *common, np.stack([cfa_channels(p.cfa) for p in cams]), z4, has_noise, shot, read,
            scaling[:, 0], scaling[:, 1], mosaic_view(out, layout),
        )  # fmt: skip
    return RawBatch(
        data=out.reshape(*lead, *single),
        params=tuple(cams),
        layout=layout,
        noise=tuple(levels),
        seeds=seeds,
        batch_shape=tuple(lead),
    )


def develop(
    raw: RawImage | RawBatch,
    *,
    demosaic: DemosaicMethod = "bilinear",
    output: Output = "srgb",
    dtype: type | np.dtype = np.uint8,
) -> np.ndarray:
    """Render a raw image, or a batch, to sRGB: the exact inverse of :func:`invert`.

    Steps: subtract black and divide by ``white - black`` (negatives become 0),
    demosaic, clip to [0, 1], undo the highlight-preserving gains exactly (the gray
    level of each pixel is solved for), camera→linear sRGB, clip to [0, 1], then
    for ``output="srgb"`` the gamma and the tone curve.

    Parameters
    ----------
    raw : RawImage or RawBatch
        From :func:`invert` or :func:`rawspace.read_raw`; a batch from :func:`invert`
        or :meth:`RawBatch.from_images`. Not modified.
    demosaic : {"bilinear", "malvar2004"}
        Interpolation for the mosaic layouts (ignored for ``"linear"``).
    output : {"srgb", "linear"}
        ``"linear"`` stops before gamma and tone: linear sRGB, as LibRaw's
        linear development with the camera's white balance.
    dtype : numpy.uint8, numpy.uint16 or numpy.float32
        Integers use their full range (rounded); float32 is in [0, 1].

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), or (*batch_shape, H, W, 3) for a batch
        Each image of a batch equals its development alone exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from rawspace import CameraParams, develop, invert
    >>> rgb = np.full((4, 4, 3), [200, 120, 40], np.uint8)
    >>> develop(invert(rgb, CameraParams.sample(0)))[0, 0]  # a flat colour survives the mosaic
    array([200, 120,  40], dtype=uint8)
    >>> develop(invert(np.stack([rgb, rgb]), CameraParams.sample(0))).shape
    (2, 4, 4, 3)
    """
    check_choice("demosaic", demosaic, DEMOSAIC_METHODS)
    check_choice("output", output, OUTPUTS)
    dtype = np.dtype(dtype)
    if dtype not in _OUT_DTYPES:
        raise TypeError(f"dtype must be numpy.uint8, numpy.uint16 or numpy.float32, got {dtype}")
    if isinstance(raw, RawBatch):
        return _develop_batch(raw, demosaic=demosaic, output=output, dtype=dtype)
    if not isinstance(raw, RawImage):
        raise TypeError(f"raw must be a RawImage or a RawBatch, got {type(raw).__name__}")
    params = raw.params
    data = raw.data
    if data.dtype == np.uint16:
        black = float(params.black_level)
        norm = 1.0 / (params.white_level - params.black_level)
    else:
        check_array("raw.data", data, ndim=data.ndim, finite=True)
        black, norm = 0.0, 1.0
    h, w = raw.shape
    out = np.empty((h, w, 3), dtype=dtype)
    render = output == "srgb"
    if dtype == np.uint8 and render:
        thresholds, grid = render_thresholds(params.tone, params.gamma)
    else:
        thresholds, grid = np.empty(0), np.zeros(1, dtype=np.uint8)
    top = float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0
    scale, offset = _output_scaling(dtype, 0.0, top)
    curves = (
        render, tone_code(params.tone), gamma_code(params.gamma), thresholds, grid, scale, offset
    )  # fmt: skip
    gains = params.wb_gains
    if raw.layout == "linear":
        _kernels._develop_linear(
            data, black, norm, gains, _blend_start(params), params.cam2rgb, *curves, out
        )
    else:
        bayer = unpack(data, params.cfa) if raw.layout == "packed" else data
        _kernels._develop_mosaic(
            bayer, cfa_channels(params.cfa), DEMOSAIC_METHODS.index(demosaic), black, norm,
            _site_limits(params), gains, _blend_start(params), params.cam2rgb, *curves,
            _kernels.band_count(h), out,
        )  # fmt: skip
    return out


def _develop_batch(
    raw: RawBatch, *, demosaic: DemosaicMethod, output: Output, dtype: np.dtype
) -> np.ndarray:
    """:func:`develop` of a batch: per-image arguments stacked, then one parallel kernel."""
    n = len(raw)
    h, w = raw.shape
    cams = raw.params
    data = raw.data.reshape(n, *raw.data.shape[len(raw.batch_shape) :])
    if data.dtype == np.uint16:
        black = np.array([float(p.black_level) for p in cams])
        norm = np.array([1.0 / (p.white_level - p.black_level) for p in cams])
    else:
        check_array("raw.data", data, ndim=data.ndim, finite=True)
        black, norm = np.zeros(n), np.ones(n)
    out = np.empty((n, h, w, 3), dtype=dtype)
    if n == 0:
        return out.reshape(*raw.batch_shape, h, w, 3)
    render = output == "srgb"
    if dtype == np.uint8 and render:
        thresholds, grid = _pair_thresholds()
        curve_rows = np.array([curve_pair_index(p.tone, p.gamma) for p in cams])
    else:
        thresholds, grid = np.empty((1, 0)), np.zeros((1, 1), dtype=np.uint8)
        curve_rows = np.zeros(n, dtype=np.int64)
    top = float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0
    scale, offset = _output_scaling(dtype, 0.0, top)
    camera = (
        np.stack([p.wb_gains for p in cams]), np.array([_blend_start(p) for p in cams]),
        np.stack([p.cam2rgb for p in cams]), render, np.array([tone_code(p.tone) for p in cams]),
        np.array([gamma_code(p.gamma) for p in cams]), thresholds, grid, curve_rows, scale,
        offset,
    )  # fmt: skip
    if raw.layout == "linear":
        _kernels._develop_linear_batch(data, black, norm, *camera, out)
    else:
        bayer = unpack(data) if raw.layout == "packed" else data
        _kernels._develop_mosaic_batch(
            bayer, np.stack([cfa_channels(p.cfa) for p in cams]),
            DEMOSAIC_METHODS.index(demosaic), black, norm,
            np.stack([_site_limits(p) for p in cams]), *camera, out,
        )  # fmt: skip
    return out.reshape(*raw.batch_shape, h, w, 3)
