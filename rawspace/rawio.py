"""Real raw files: read them with LibRaw (rawpy) and write Bayer DNGs that LibRaw develops
like rawspace does.

Reading (:func:`read_raw`)
--------------------------
LibRaw decodes the file; the result is the visible Bayer plane and a
:class:`~rawspace.CameraParams` built from what LibRaw reports:

- **CFA**: LibRaw's ``raw_pattern`` (colour indices at the raw image's origin),
  shifted by the visible area's top and left margins and read through
  ``color_desc`` (both greens are G).
- **Black level**: LibRaw's ``black_level_per_channel``. When the four values
  differ, each site is shifted down to the lowest of them (values below their own
  black become 0), so one ``black_level`` remains and :func:`~rawspace.develop`
  subtracts every site's own black, exactly as LibRaw does.
- **White level**: LibRaw's ``white_level``.
- **Gains**: the as-shot white balance (``camera_whitebalance``; LibRaw's daylight
  balance when the file has none, where LibRaw's own ``use_camera_wb`` development
  falls back to something else): ``red_gain = wb[0] / wb[1]``,
  ``blue_gain = wb[2] / wb[1]``. LibRaw scales the multipliers so that the smallest
  is 1, so ``rgb_gain = 1 / min(1, red_gain, blue_gain)``: 1 for every camera whose
  green multiplier is the smallest.
- **Colour matrix**: LibRaw's camera→sRGB matrix (``color_matrix``, DNGs and some
  makers' files) when it is set, else its XYZ→camera matrix (``rgb_xyz_matrix``,
  LibRaw's table of cameras). A file with neither is refused. A DNG with two
  calibration illuminants (ColorMatrix1/2) gets instead the matrix that the DNG
  specification interpolates at its as-shot white point
  (:mod:`rawspace.dngprofile`; ``matrix="libraw"`` keeps LibRaw's, that of the D65
  illuminant). A DNG whose illuminants have no standard temperature (such as 255,
  "other light source") keeps LibRaw's matrix too.
- **Noise**: a DNG's NoiseProfile becomes ``noise_profile`` (``invert(...,
  noise="camera")`` adds that noise).
- **Curves**: a camera file carries no rendering curve, so ``tone="none"`` and
  ``gamma="srgb"``: ``develop(..., output="srgb")`` renders plain sRGB.
- **Highlights**: a camera applies its white balance plainly, so
  ``highlight_blend=False`` (no Brooks blend); developing then matches LibRaw in
  the highlights too.
- A visible area of odd height or width loses its last row or column (a Bayer
  image has even sides).

Non-Bayer files (X-Trans, Foveon, linear DNGs, monochrome) raise :class:`RawFileError`.

For a DNG written by :func:`write_dng` (UniqueCameraModel ``"rawspace simulated
camera"``) the exact parameters stored as JSON in its ImageDescription are returned
instead; they are checked against the DNG tags (CFA, black and white level).

Writing (:func:`write_dng`)
---------------------------
A DNG 1.4 Bayer file with the tags LibRaw needs: CFA pattern, BlackLevel,
WhiteLevel, ColorMatrix1 (``params.xyz2cam``) and ForwardMatrix1 (white-balanced
camera → XYZ D50: ``cam2rgb``, sRGB → XYZ and Bradford adaptation from D65 to D50)
for CalibrationIlluminant1 = 21 (D65), AsShotNeutral (``[1 / red_gain, 1,
1 / blue_gain]``), NoiseProfile when noise was added (see below) and, in
ImageDescription, the full parameters as JSON. ``exiftool -validate`` finds nothing to
warn about in these files.

**NoiseProfile.** Noise of variance ``shot * x + read`` added to values ``x`` on the
scale of ``white_level`` is written on the DNG's own scale (the effective WhiteLevel
below): ``S = k * shot``, ``O = k**2 * read`` with
``k = (white_level - black_level) / (WhiteLevel - black_level)``.

**The digital gain.** :func:`~rawspace.develop` multiplies by
``rgb_gain * [red_gain, 1, blue_gain]``, but LibRaw's camera white balance scales
its multipliers so that the smallest is 1 and so never applies ``rgb_gain``.
WhiteLevel is therefore written as the *effective* saturation level
``round(black + (white - black) / rgb_gain)`` (clamped to 65535): LibRaw's
normalisation by it applies ``rgb_gain`` (LibRaw clips raw values above it, which
only highlights reach). LibRaw then develops the DNG like
``develop(raw, demosaic="bilinear", output="linear")`` except in highlights (Brooks'
highlight blend, which LibRaw does not know) and at the one-pixel border. For
``rgb_gain < 1`` with a white level near 65535 the clamp loses part of the gain.
:func:`read_raw` restores ``white_level`` and ``rgb_gain`` exactly from the JSON.

**LibRaw's maximum heuristic.** LibRaw's ``adjust_maximum_thr`` (default 0.75, also in
``rawpy.postprocess``) replaces the white level by the brightest raw value when that
lies between 75 % and 100 % of it, which brightens such an image; pass
``adjust_maximum_thr=0`` to develop our DNGs (or any raw file) at their stated level.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np
import rawpy
import tifffile

from ._checks import check_unit_range
from ._version import __version__
from .cfa import cfa_channels, mosaic_view, unpack
from .dngprofile import D50_XY, DngProfile, adaptation_matrix, read_profile, xy_to_xyz
from .files import atomic_path
from .hints import CFA_PATTERNS
from .params import RGB2XYZ, CameraParams
from .rawimage import RawImage

__all__ = ["CAMERA_MODEL", "MatrixSource", "RawFileError", "read_camera", "read_raw", "write_dng"]

#: Which colour matrix :func:`read_raw` gives a DNG with two calibration illuminants: the
#: specification's interpolation at the as-shot white, or LibRaw's choice.
MatrixSource = Literal["dng", "libraw"]

#: UniqueCameraModel of the DNGs written by :func:`write_dng`.
CAMERA_MODEL = "rawspace simulated camera"

_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_MIN_SIDE = 22  # LibRaw refuses images with a side shorter than this
_DENOMINATOR = 1_000_000  # largest denominator of the DNG rationals
_LIBRAW_CAMERA_MATRIX_MIN = 0.125  # LibRaw uses color_matrix when [0][0] exceeds this
_D65 = 21  # EXIF LightSource code of CalibrationIlluminant1

# DNG and TIFF tags: (code, tifffile dtype).
_PHOTOMETRIC_CFA = 32803
_TAGS = {
    "CFARepeatPatternDim": (33421, "H"),
    "CFAPattern": (33422, "B"),
    "DNGVersion": (50706, "B"),
    "DNGBackwardVersion": (50707, "B"),
    "UniqueCameraModel": (50708, "s"),
    "CFAPlaneColor": (50710, "B"),
    "CFALayout": (50711, "H"),
    "BlackLevel": (50714, "I"),
    "WhiteLevel": (50717, "I"),
    "ColorMatrix1": (50721, "2i"),
    "AsShotNeutral": (50728, "2I"),
    "CalibrationIlluminant1": (50778, "H"),
    "ForwardMatrix1": (50964, "2i"),
    "NoiseProfile": (51041, "d"),
}


class RawFileError(ValueError):
    """A raw file that cannot be read: corrupt, unsupported or not a Bayer sensor."""


# ------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class _Sensor:
    """What LibRaw reports about a Bayer file (private)."""

    bayer: np.ndarray  # visible plane cropped to even sides, uint16, a copy
    cfa: str
    site_black: np.ndarray  # (2, 2) black level of each CFA site, int64
    white: int
    wb: list[float]  # camera multipliers (R, G, B, G2)
    daylight_wb: list[float]
    color_matrix: np.ndarray  # (3, 3) camera RGB → sRGB, float64
    xyz_matrix: np.ndarray  # (3, 3) XYZ → camera, float64


def _as_path(name: str, path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    return Path(path)


def _libraw_reason(exc: rawpy.LibRawError) -> str:
    reason = exc.args[0] if exc.args else type(exc).__name__
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return f"{reason} ({type(exc).__name__})"


def _cfa_name(pattern: np.ndarray, desc: bytes, path: Path) -> str:
    letters = "".join(chr(desc[i]) for i in pattern.ravel())
    if letters not in CFA_PATTERNS:
        raise RawFileError(
            f"{str(path)!r} is not an RGB Bayer raw file: LibRaw reports the 2×2 colour "
            f"filter pattern {letters!r} (colours {desc.decode('ascii', 'replace')!r})"
        )
    return letters


def _read_sensor(raw: rawpy.RawPy, path: Path) -> _Sensor:
    if raw.raw_type != rawpy.RawType.Flat:
        raise RawFileError(
            f"{str(path)!r} is not a Bayer raw file: LibRaw found image data with "
            f"{raw.num_colors} colours at every pixel (a linear DNG, Foveon or other "
            "demosaiced raw)"
        )
    try:
        pattern = raw.raw_pattern
    except NotImplementedError as exc:
        raise RawFileError(
            f"{str(path)!r} is not a Bayer raw file: unsupported colour filter ({exc})"
        ) from exc
    if pattern is None or pattern.shape != (2, 2):
        found = "no" if pattern is None else f"a {pattern.shape[0]}×{pattern.shape[1]}"
        raise RawFileError(
            f"{str(path)!r} is not a 2×2 Bayer raw file: LibRaw reports {found} "
            "colour filter pattern "
            "(X-Trans, monochrome or another sensor layout)"
        )
    sizes = raw.sizes
    rows = (sizes.top_margin + np.arange(2)) % 2
    cols = (sizes.left_margin + np.arange(2)) % 2
    visible_pattern = pattern[np.ix_(rows, cols)]
    cfa = _cfa_name(visible_pattern, raw.color_desc, path)
    visible = raw.raw_image_visible
    h, w = visible.shape
    bayer = np.array(visible[: h - h % 2, : w - w % 2], dtype=np.uint16, copy=True)
    cblack = np.asarray(raw.black_level_per_channel, dtype=np.int64)
    return _Sensor(
        bayer=bayer,
        cfa=cfa,
        site_black=cblack[visible_pattern],
        white=int(raw.white_level),
        wb=[float(v) for v in raw.camera_whitebalance],
        daylight_wb=[float(v) for v in raw.daylight_whitebalance],
        color_matrix=np.asarray(raw.color_matrix, dtype=np.float64)[:, :3],
        xyz_matrix=np.asarray(raw.rgb_xyz_matrix, dtype=np.float64)[:3],
    )


def _usable_wb(wb: list[float]) -> bool:
    return all(np.isfinite(v) and v > 0 for v in wb[:3])


def _common_black(sensor: _Sensor) -> tuple[np.ndarray, int]:
    """The Bayer plane with every site's black shifted down to the lowest one."""
    common = int(sensor.site_black.min())
    if np.all(sensor.site_black == common):
        return sensor.bayer, common
    bayer = sensor.bayer
    view = mosaic_view(bayer, "bayer")
    for dy in range(2):
        for dx in range(2):
            shift = np.uint16(sensor.site_black[dy, dx] - common)
            sites = view[:, dy, :, dx]
            view[:, dy, :, dx] = np.maximum(sites, shift) - shift
    return bayer, common


def _camera_params(
    sensor: _Sensor, path: Path, profile: DngProfile | None, matrix: MatrixSource
) -> tuple[np.ndarray, CameraParams]:
    wb = sensor.wb if _usable_wb(sensor.wb) else sensor.daylight_wb
    if not _usable_wb(wb):
        raise RawFileError(
            f"{str(path)!r} has no usable white balance: LibRaw reports camera multipliers "
            f"{sensor.wb} and daylight multipliers {sensor.daylight_wb}"
        )
    red_gain = wb[0] / wb[1]
    blue_gain = wb[2] / wb[1]
    bayer, black = _common_black(sensor)
    fields: dict[str, Any] = {
        "rgb_gain": 1.0 / min(1.0, red_gain, blue_gain),
        "red_gain": red_gain,
        "blue_gain": blue_gain,
        "cfa": sensor.cfa,
        "black_level": black,
        "white_level": sensor.white,
        "tone": "none",
        "gamma": "srgb",
        "highlight_blend": False,
        "noise_profile": profile.noise_profile if profile is not None else None,
    }
    dual = profile is not None and profile.interpolable and matrix == "dng"
    has_camera_matrix = sensor.color_matrix[0, 0] > _LIBRAW_CAMERA_MATRIX_MIN
    if not has_camera_matrix and not np.any(sensor.xyz_matrix):
        raise RawFileError(
            f"{str(path)!r} has no colour matrix: LibRaw knows neither the file's "
            "camera→sRGB matrix nor an XYZ→camera matrix for its camera model"
        )
    try:
        if profile is not None and dual:
            params = CameraParams.from_xyz2cam(profile.as_shot_xyz_to_camera(), **fields)
        elif has_camera_matrix:
            rgb2cam = np.linalg.inv(sensor.color_matrix)
            params = CameraParams(rgb2cam=rgb2cam / rgb2cam.sum(axis=1, keepdims=True), **fields)
        else:
            params = CameraParams.from_xyz2cam(sensor.xyz_matrix, **fields)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise RawFileError(f"{str(path)!r} has unusable camera parameters: {exc}") from exc
    return bayer, params


def _dng_profile(path: Path) -> DngProfile | None:
    """The colour profile of a DNG, None for any other file."""
    with open(path, "rb") as f:
        if f.read(4) not in _TIFF_MAGIC:
            return None
    try:
        return read_profile(path)
    except ValueError as exc:
        if "not a DNG" in str(exc):
            return None
        raise RawFileError(f"{str(path)!r} has an unusable DNG colour profile: {exc}") from exc


def _stored_metadata(path: Path) -> dict[str, Any] | None:
    """The JSON that :func:`write_dng` stored in ``path``, or None for any other file."""
    with open(path, "rb") as f:
        if f.read(4) not in _TIFF_MAGIC:
            return None
    try:
        with tifffile.TiffFile(path) as tif:
            tags = tif.pages.first.tags
            model = tags.valueof(_TAGS["UniqueCameraModel"][0])
            text = tags.valueof(270)
    except tifffile.TiffFileError:
        return None
    if model != CAMERA_MODEL:
        return None
    try:
        meta = json.loads(text)
        if not isinstance(meta, dict) or not isinstance(meta.get("raw"), dict):
            raise ValueError(f"expected a JSON object with 'params' and 'raw', got {text!r:.200}")
        meta["params"] = CameraParams.from_dict(meta["params"])
    except (TypeError, ValueError, KeyError) as exc:
        raise RawFileError(
            f"{str(path)!r} names {CAMERA_MODEL!r} but its ImageDescription does not hold "
            f"valid rawspace parameters ({exc}); read it with use_metadata=False"
        ) from exc
    return meta


def _from_metadata(sensor: _Sensor, meta: dict[str, Any], path: Path) -> RawImage:
    params: CameraParams = meta["params"]
    checks = (
        ("cfa", params.cfa, sensor.cfa),
        ("BlackLevel", [params.black_level], sorted(set(sensor.site_black.ravel().tolist()))),
        ("WhiteLevel", _dng_white_level(params), sensor.white),
    )
    for name, stored, tag in checks:
        if stored != tag:
            raise RawFileError(
                f"{str(path)!r}: its rawspace metadata disagrees with its DNG tags ({name}: "
                f"metadata {stored!r}, tags {tag!r}); the file was changed after write_dng, "
                "read it with use_metadata=False"
            )
    noise = meta["raw"].get("noise")
    seed = meta["raw"].get("seed")
    return RawImage(
        data=sensor.bayer,
        params=params,
        noise=(float(noise[0]), float(noise[1])) if noise is not None else None,
        seed=int(seed) if seed is not None else None,
    )


def read_raw(
    path: str | os.PathLike[str], *, use_metadata: bool = True, matrix: MatrixSource = "dng"
) -> RawImage:
    """Read a Bayer raw file (any camera LibRaw supports, or a DNG from :func:`write_dng`).

    Parameters
    ----------
    path : str or os.PathLike
        The raw file. It is only read.
    use_metadata : bool, default True
        For a DNG written by :func:`write_dng`, return the exact parameters stored in
        it. With False, the file is read like any camera's, from LibRaw's view of its
        tags (``white_level`` is then the effective level and ``rgb_gain`` is 1; it
        develops the same, see the module notes).
    matrix : {"dng", "libraw"}, default "dng"
        For a DNG with two calibration illuminants: ``"dng"`` interpolates its colour
        matrices at the as-shot white point as the DNG specification does
        (:meth:`rawspace.dngprofile.DngProfile.as_shot_xyz_to_camera`); ``"libraw"``
        takes LibRaw's matrix (that of the D65 illuminant), to develop exactly as
        LibRaw does. Files with one matrix give the same with both.

    Returns
    -------
    RawImage
        ``layout="bayer"``; ``data`` is the visible sensor area, uint16, shape (H, W)
        with H and W even (an odd last row or column is dropped), values as stored
        (between 0 and 65535; normally between ``black_level`` and ``white_level``).
        ``params`` as described in the module notes, with the DNG's NoiseProfile as
        ``noise_profile``; ``noise`` and ``seed`` are restored from a rawspace DNG,
        else None.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    IsADirectoryError
        ``path`` is a folder.
    RawFileError
        The file is empty, corrupt or truncated, not a raw file LibRaw can decode,
        not a 2×2 RGB Bayer sensor (X-Trans, Foveon, linear DNG, monochrome), has no
        colour matrix or white balance, or its rawspace metadata contradicts its tags.
        The message names the file and the cause (LibRaw's own reason where it has one).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, rawspace
    >>> raw = rawspace.invert(np.full((24, 24, 3), 100, np.uint8), seed=0)
    >>> path = rawspace.write_dng(raw, pathlib.Path(tempfile.mkdtemp()) / "a.dng")
    >>> back = read_raw(path)
    >>> np.array_equal(back.data, raw.data), back.params == raw.params
    (True, True)
    """
    if matrix not in ("dng", "libraw"):
        raise ValueError(f"matrix must be 'dng' or 'libraw', got {matrix!r}")
    path = _as_path("path", path)
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "raw file not found", str(path))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "expected a raw file, got a folder", str(path))
    if path.stat().st_size == 0:
        raise RawFileError(f"cannot read raw file {str(path)!r}: the file is empty (0 bytes)")
    try:
        with rawpy.imread(str(path)) as raw:
            sensor = _read_sensor(raw, path)
    except rawpy.LibRawError as exc:
        raise RawFileError(
            f"cannot read raw file {str(path)!r}: LibRaw says {_libraw_reason(exc)}"
        ) from exc
    meta = _stored_metadata(path) if use_metadata else None
    if meta is not None:
        return _from_metadata(sensor, meta, path)
    bayer, params = _camera_params(sensor, path, _dng_profile(path), matrix)
    return RawImage(data=bayer, params=params)


def read_camera(path: str | os.PathLike[str], *, matrix: MatrixSource = "dng") -> CameraParams:
    """The camera of a real raw file or a rawspace DNG, as :func:`read_raw` reads it.

    ``invert(rgb, read_camera(path))`` inverts into that camera's raw space, and
    ``invert(rgb, read_camera(path), noise="camera")`` adds the DNG's NoiseProfile.
    For a DNG with two calibration illuminants the colour matrix is the
    specification's interpolation at the as-shot white point (``matrix="dng"``); the
    whole profile is :func:`rawspace.dngprofile.read_profile`.

    Parameters
    ----------
    path : str or os.PathLike
        A Bayer raw file that LibRaw can decode.
    matrix : {"dng", "libraw"}, default "dng"
        As for :func:`read_raw`.

    Raises
    ------
    FileNotFoundError, IsADirectoryError, RawFileError
        As :func:`read_raw`.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, rawspace
    >>> raw = rawspace.invert(np.full((24, 24, 3), 100, np.uint8), seed=0, noise=(1e-3, 1e-5))
    >>> path = rawspace.write_dng(raw, pathlib.Path(tempfile.mkdtemp()) / "a.dng")
    >>> read_camera(path) == raw.params
    True
    >>> seen = read_raw(path, use_metadata=False).params  # the tags as any reader sees them
    >>> [round(v, 6) for v in seen.noise_profile[0]], seen.rgb_gain
    ([0.00134, 1.8e-05], 1.0)
    """
    return read_raw(path, matrix=matrix).params


# ------------------------------------------------------------------------------ writing
def _dng_white_level(params: CameraParams) -> int:
    """WhiteLevel of our DNGs: the effective saturation level that applies ``rgb_gain``."""
    span = params.white_level - params.black_level
    level = round(params.black_level + span / params.rgb_gain)
    return int(min(65535, max(params.black_level + 1, level)))


def _rationals(tag: str, values: np.ndarray, *, signed: bool) -> tuple[int, ...]:
    """Numerator, denominator pairs: the closest fractions whose numerator fits 32 bits
    and whose denominator is at most 1e6 (error below 1e-6 for values up to 2000)."""
    limit = 2**31 - 1 if signed else 2**32 - 1
    out: list[int] = []
    for value in np.asarray(values, dtype=np.float64).ravel():
        if not abs(value) <= limit:
            kind = "signed" if signed else "unsigned"
            raise ValueError(f"{tag} value {value!r} does not fit a {kind} 32-bit rational")
        largest = max(1, min(_DENOMINATOR, int(limit // max(abs(value), 1.0))))
        fraction = Fraction(float(value)).limit_denominator(largest)
        out += [fraction.numerator, fraction.denominator]
    return tuple(out)


def _forward_matrix(params: CameraParams) -> np.ndarray:
    """White-balanced camera RGB → XYZ D50: ``cam2rgb``, sRGB → XYZ (D65), Bradford to D50.

    Camera white ``[1, 1, 1]`` maps to the D50 white, as the DNG specification requires.
    """
    d65 = RGB2XYZ @ np.ones(3)
    result: np.ndarray = adaptation_matrix(d65, xy_to_xyz(D50_XY)) @ RGB2XYZ @ params.cam2rgb
    return result


def _noise_profile(raw: RawImage) -> tuple[float, ...] | None:
    """NoiseProfile of the added noise, on the DNG's scale (black 0, WhiteLevel 1).

    The noise was added to values ``x`` on the scale of ``white_level``; the DNG's
    normalised value is ``k * x`` with ``k = (white - black) / (WhiteLevel - black)``
    (``rgb_gain`` up to rounding), so its variance is ``k * shot * (k x) + k² * read``.
    """
    if raw.noise is None:
        return None
    params = raw.params
    k = (params.white_level - params.black_level) / (_dng_white_level(params) - params.black_level)
    shot, read = raw.noise
    return (k * shot, k * k * read)


def _dng_tags(raw: RawImage) -> list[tuple[int, str, int, Any, bool]]:
    params = raw.params
    neutral = np.array([1.0 / params.red_gain, 1.0, 1.0 / params.blue_gain])
    values: dict[str, Any] = {
        "DNGVersion": (1, 4, 0, 0),
        "DNGBackwardVersion": (1, 1, 0, 0),
        "UniqueCameraModel": CAMERA_MODEL,
        "CFARepeatPatternDim": (2, 2),
        "CFAPattern": tuple(cfa_channels(params.cfa).ravel().tolist()),
        "CFAPlaneColor": (0, 1, 2),
        "CFALayout": 1,
        "BlackLevel": params.black_level,
        "WhiteLevel": _dng_white_level(params),
        "ColorMatrix1": _rationals("ColorMatrix1", params.xyz2cam, signed=True),
        "CalibrationIlluminant1": _D65,
        "AsShotNeutral": _rationals("AsShotNeutral", neutral, signed=False),
        "ForwardMatrix1": _rationals("ForwardMatrix1", _forward_matrix(params), signed=True),
    }
    noise = _noise_profile(raw)
    if noise is not None:
        values["NoiseProfile"] = noise
    tags = []
    for name, value in values.items():
        code, dtype = _TAGS[name]
        if isinstance(value, str):
            count = 0
        elif isinstance(value, tuple):
            count = len(value) // 2 if dtype.startswith("2") else len(value)
        else:
            count = 1
        tags.append((code, dtype, count, value, True))
    return tags


def _bayer_uint16(raw: RawImage) -> np.ndarray:
    """The raw image as a uint16 Bayer plane (the input itself when it already is one)."""
    params = raw.params
    if raw.layout == "linear":
        raise ValueError(
            "write_dng writes Bayer DNGs; raw has layout='linear' (camera RGB, no mosaic): "
            "sample it first with rawspace.mosaic(raw.data, raw.params.cfa), or invert "
            "with layout='bayer'"
        )
    data = unpack(raw.data, params.cfa) if raw.layout == "packed" else raw.data
    h, w = data.shape
    if h < _MIN_SIDE or w < _MIN_SIDE:
        raise ValueError(
            f"LibRaw cannot open DNGs with a side shorter than {_MIN_SIDE} pixels; raw is {h}×{w}"
        )
    if data.dtype == np.uint16:
        return data
    check_unit_range("raw.data", data)
    span = params.white_level - params.black_level
    scaled = np.floor(data.astype(np.float64) * span + (params.black_level + 0.5))
    return scaled.astype(np.uint16)


def write_dng(
    raw: RawImage,
    path: str | os.PathLike[str],
    *,
    description: str | None = None,
) -> Path:
    """Write a raw image as a Bayer DNG that LibRaw (and :func:`read_raw`) can read.

    Parameters
    ----------
    raw : RawImage
        ``"bayer"`` (H, W) or ``"packed"`` (H/2, W/2, 4) layout, written as an
        uncompressed 16-bit Bayer plane of at least 22×22 pixels (LibRaw's minimum).
        uint16 data is written as is; float32 data in [0, 1] is scaled to
        ``round(black + v * (white - black))``. ``"linear"`` (camera RGB without a
        mosaic) is refused: a Bayer DNG cannot hold it. Not modified.
    path : str or os.PathLike
        The DNG to write. Its folder must exist. An existing file at ``path`` is
        replaced (the caller named it).
    description : str, optional
        Free text, e.g. the source image, stored with the parameters.

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    The tags are those of DNG 1.4 for a CFA image (see the module notes for the
    effective WhiteLevel that carries ``rgb_gain``); ImageDescription holds JSON with
    the rawspace version, ``params`` (:meth:`CameraParams.to_dict`), the raw image's
    metadata (:meth:`RawImage.to_dict` without the parameters: layout, dtype, shape,
    noise, seed) and ``description``.

    The file is written to a temporary file in the same folder, then renamed over
    ``path``: on any failure the temporary file is removed, ``path`` is untouched
    and no partial file remains.

    Raises
    ------
    TypeError
        ``raw`` is not a RawImage or ``description`` is not a string.
    ValueError
        Linear layout, an image smaller than 22×22, float data outside [0, 1], or
        parameters that do not fit the DNG rationals.
    FileNotFoundError
        The folder of ``path`` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, rawspace
    >>> raw = rawspace.invert(np.full((24, 24, 3), 100, np.uint8), seed=0, noise="brooks")
    >>> path = write_dng(raw, pathlib.Path(tempfile.mkdtemp()) / "a.dng")
    >>> back = read_raw(path)
    >>> np.array_equal(back.data, raw.data), back.noise == raw.noise
    (True, True)
    """
    if not isinstance(raw, RawImage):
        raise TypeError(f"raw must be a RawImage, got {type(raw).__name__}")
    if description is not None and not isinstance(description, str):
        raise TypeError(f"description must be a str or None, got {type(description).__name__}")
    path = _as_path("path", path)
    bayer = _bayer_uint16(raw)
    tags = _dng_tags(raw)
    source = raw.to_dict()
    del source["params"]
    text = json.dumps(
        {
            "rawspace": __version__,
            "params": raw.params.to_dict(),
            "raw": source,
            "description": description,
        }
    )
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(
            errno.ENOENT, f"cannot write DNG {str(path)!r}: no such folder", str(folder)
        )
    with atomic_path(path) as temporary:
        tifffile.imwrite(
            temporary,
            bayer,
            photometric=_PHOTOMETRIC_CFA,
            extratags=tags,
            description=text,
            metadata=None,
            software=f"rawspace {__version__}",
        )
    return path
