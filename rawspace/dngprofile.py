"""The colour profile of a DNG: both calibration illuminants, and the camera matrix at a
white point as the DNG specification interpolates it.

The DNG specification (version 1.4, chapter 6, "Mapping Camera Color Space to CIE XYZ
Space") describes a camera by one or two ColorMatrix tags (XYZ → camera), each measured
under a calibration illuminant, with CameraCalibration and AnalogBalance multiplied in:

- ``XYZtoCamera = AB · CC · CM``, where ``CM`` and ``CC`` are ColorMatrix and
  CameraCalibration interpolated between the two illuminants and ``AB`` is
  ``diag(AnalogBalance)``.
- The interpolation weight is linear in inverse correlated colour temperature:
  ``g = (1/T − 1/T2) / (1/T1 − 1/T2)`` for ``T1 < T2``, clamped to [0, 1];
  ``CM = g · CM1 + (1 − g) · CM2``.
- The white point of the image is AsShotWhiteXY, or found from AsShotNeutral by
  iteration: starting at D50, ``xy ← xy(inv(XYZtoCamera(xy)) · neutral)`` until the
  change is below 1e-7 (30 passes at most, then the mean of the last two, as Adobe's
  DNG SDK does).
- The CCT of a chromaticity is found by Robertson's method (isotemperature lines in the
  CIE 1960 UCS), with the table and procedure of Adobe's DNG SDK.

:func:`read_profile` reads every tag of the profile (and the linearisation, levels and
noise profile of the raw image) into a :class:`DngProfile`.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import tifffile

from .spec import RGB2XYZ

__all__ = [
    "BRADFORD",
    "D50_XY",
    "ILLUMINANT_TEMPERATURES",
    "DngProfile",
    "adaptation_matrix",
    "read_profile",
    "xy_to_temperature",
    "xy_to_xyz",
]

#: CIE D50 chromaticity as the DNG specification uses it (the profile connection space).
D50_XY = (0.3457, 0.3585)

#: Bradford's cone response matrix (XYZ → sharpened LMS), for chromatic adaptation.
BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)
BRADFORD.setflags(write=False)

#: Correlated colour temperature (K) of each EXIF LightSource code that DNG calibration
#: illuminants use, as Adobe's DNG SDK assigns them (fluorescent types: the middle of
#: their range).
ILLUMINANT_TEMPERATURES: dict[int, float] = {
    1: 5500.0,  # daylight
    2: (3800.0 + 4500.0) / 2,  # fluorescent
    3: 2850.0,  # tungsten
    4: 5500.0,  # flash
    9: 5500.0,  # fine weather
    10: 6500.0,  # cloudy weather
    11: 7500.0,  # shade
    12: (5700.0 + 7100.0) / 2,  # daylight fluorescent
    13: (4600.0 + 5500.0) / 2,  # day white fluorescent
    14: (3800.0 + 4500.0) / 2,  # cool white fluorescent
    15: (3250.0 + 3800.0) / 2,  # white fluorescent
    16: (2600.0 + 3250.0) / 2,  # warm white fluorescent
    17: 2850.0,  # standard light A
    18: 5500.0,  # standard light B
    19: 6500.0,  # standard light C
    20: 5500.0,  # D55
    21: 6500.0,  # D65
    22: 7500.0,  # D75
    23: 5000.0,  # D50
    24: 3200.0,  # ISO studio tungsten
}

# Robertson's isotemperature lines: (mired, u, v, slope) in the CIE 1960 UCS.
_ROBERTSON = np.array(
    [
        (0, 0.18006, 0.26352, -0.24341), (10, 0.18066, 0.26589, -0.25479),
        (20, 0.18133, 0.26846, -0.26876), (30, 0.18208, 0.27119, -0.28539),
        (40, 0.18293, 0.27407, -0.30470), (50, 0.18388, 0.27709, -0.32675),
        (60, 0.18494, 0.28021, -0.35156), (70, 0.18611, 0.28342, -0.37915),
        (80, 0.18740, 0.28668, -0.40955), (90, 0.18880, 0.28997, -0.44278),
        (100, 0.19032, 0.29326, -0.47888), (125, 0.19462, 0.30141, -0.58204),
        (150, 0.19962, 0.30921, -0.70471), (175, 0.20525, 0.31647, -0.84901),
        (200, 0.21142, 0.32312, -1.0182), (225, 0.21807, 0.32909, -1.2168),
        (250, 0.22511, 0.33439, -1.4512), (275, 0.23247, 0.33904, -1.7298),
        (300, 0.24010, 0.34308, -2.0637), (325, 0.24702, 0.34655, -2.4681),
        (350, 0.25591, 0.34951, -2.9641), (375, 0.26400, 0.35200, -3.5814),
        (400, 0.27218, 0.35407, -4.3633), (425, 0.28039, 0.35577, -5.3762),
        (450, 0.28863, 0.35714, -6.7262), (475, 0.29685, 0.35823, -8.5955),
        (500, 0.30505, 0.35907, -11.324), (525, 0.31320, 0.35968, -15.628),
        (550, 0.32129, 0.36011, -23.325), (575, 0.32931, 0.36038, -40.770),
        (600, 0.33724, 0.36051, -116.45),
    ]
)  # fmt: skip
_ROBERTSON.setflags(write=False)

_MAX_PASSES = 30
_CONVERGED = 1e-7

# DNG tags read by read_profile: name -> code.
_TAG_CODES = {
    "UniqueCameraModel": 50708,
    "LinearizationTable": 50712,
    "BlackLevelRepeatDim": 50713,
    "BlackLevel": 50714,
    "WhiteLevel": 50717,
    "ColorMatrix1": 50721,
    "ColorMatrix2": 50722,
    "CameraCalibration1": 50723,
    "CameraCalibration2": 50724,
    "AnalogBalance": 50727,
    "AsShotNeutral": 50728,
    "AsShotWhiteXY": 50729,
    "BaselineExposure": 50730,
    "CalibrationIlluminant1": 50778,
    "CalibrationIlluminant2": 50779,
    "ForwardMatrix1": 50964,
    "ForwardMatrix2": 50965,
    "NoiseProfile": 51041,
}
_RAW_TAGS = ("LinearizationTable", "BlackLevelRepeatDim", "BlackLevel", "WhiteLevel")


def xy_to_temperature(xy: Any) -> float:
    """Correlated colour temperature (K) of a chromaticity, by Robertson's method.

    The DNG SDK's procedure: find the two isotemperature lines the point lies between
    in the CIE 1960 UCS and interpolate their mireds by the point's distances to them.
    Points beyond the table's ends take the end lines.

    Parameters
    ----------
    xy : array_like, shape (2,)
        CIE 1931 chromaticity.

    Returns
    -------
    float
        Temperature in kelvin.

    Examples
    --------
    >>> round(xy_to_temperature((0.31271, 0.32902)))  # D65
    6503
    """
    x, y = (float(v) for v in np.asarray(xy, dtype=np.float64).ravel()[:2])
    denominator = 1.5 - x + 6.0 * y
    u, v = 2.0 * x / denominator, 3.0 * y / denominator
    last_dt = 0.0
    for index in range(1, len(_ROBERTSON)):
        slope = _ROBERTSON[index, 3]
        length = math.sqrt(1.0 + slope * slope)
        du, dv = 1.0 / length, slope / length
        dt = -(u - _ROBERTSON[index, 1]) * dv + (v - _ROBERTSON[index, 2]) * du
        if dt <= 0.0 or index == len(_ROBERTSON) - 1:
            dt = -min(dt, 0.0)
            f = 0.0 if index == 1 else dt / (last_dt + dt)
            mired = _ROBERTSON[index - 1, 0] * f + _ROBERTSON[index, 0] * (1.0 - f)
            return 1.0e6 / mired if mired > 0 else math.inf
        last_dt = dt
    raise AssertionError("unreachable")  # pragma: no cover


def adaptation_matrix(source_white: Any, target_white: Any) -> np.ndarray:
    """Bradford chromatic adaptation from one white (XYZ) to another, (3, 3) float64.

    ``inv(B) · diag(B · target / B · source) · B`` with ``B`` = :data:`BRADFORD`; it maps
    ``source_white`` to ``target_white`` exactly.

    Examples
    --------
    >>> d65, d50 = np.array([0.95047, 1.0, 1.08883]), np.array([0.96422, 1.0, 0.82521])
    >>> np.allclose(adaptation_matrix(d65, d50) @ d65, d50)
    True
    """
    source = BRADFORD @ np.asarray(source_white, dtype=np.float64)
    target = BRADFORD @ np.asarray(target_white, dtype=np.float64)
    result: np.ndarray = np.linalg.solve(BRADFORD, np.diag(target / source) @ BRADFORD)
    return result


def xy_to_xyz(xy: Any) -> np.ndarray:
    """CIE XYZ with ``Y = 1`` of a chromaticity ``(x, y)``, shape (3,).

    Examples
    --------
    >>> xy_to_xyz(D50_XY).round(4).tolist()
    [0.9643, 1.0, 0.8251]
    """
    x, y = (float(v) for v in np.asarray(xy, dtype=np.float64).ravel()[:2])
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def _xyz_to_xy(xyz: np.ndarray) -> np.ndarray:
    total = float(xyz.sum())
    if not total > 0:
        raise ValueError(f"the white point's XYZ {xyz.tolist()} has no positive sum")
    return np.array([xyz[0] / total, xyz[1] / total])


@dataclass(frozen=True, eq=False)
class DngProfile:
    """The colour profile and raw levels of a DNG, as its tags state them.

    Attributes
    ----------
    illuminants : tuple of int
        CalibrationIlluminant1 (and 2): EXIF LightSource codes, one per colour matrix.
    color_matrices : tuple of numpy.ndarray
        ColorMatrix1 (and 2), XYZ → camera, each (3, 3) float64; empty when the DNG
        has none (a reader then needs its own table of cameras).
    forward_matrices : tuple of numpy.ndarray
        ForwardMatrix1 (and 2), white-balanced camera → XYZ D50, (3, 3); empty if absent.
    camera_calibrations : tuple of numpy.ndarray
        CameraCalibration1 (and 2), (3, 3); identities when absent.
    analog_balance : numpy.ndarray
        AnalogBalance, (3,); ones when absent.
    as_shot_neutral : numpy.ndarray or None
        AsShotNeutral, (3,), the camera's coordinates of the white.
    as_shot_white_xy : numpy.ndarray or None
        AsShotWhiteXY, (2,), the white as a chromaticity.
    baseline_exposure : float
        BaselineExposure in EV (0 when absent).
    linearization_table : numpy.ndarray or None
        LinearizationTable, uint16, the curve from stored to linear raw values.
    black_level : numpy.ndarray
        BlackLevel, shape BlackLevelRepeatDim (rows, columns), float64.
    white_level : int
        WhiteLevel.
    noise_profile : tuple of (float, float) or None
        NoiseProfile: ``(S, O)`` per colour plane or one for all.
    unique_camera_model : str

    Examples
    --------
    >>> import dataclasses
    >>> a = np.array([[0.67, -0.06, -0.1], [-0.43, 1.25, 0.2], [-0.09, 0.22, 0.57]])
    >>> d65 = np.array([[1.04, -0.38, -0.13], [-0.55, 1.38, 0.18], [-0.1, 0.2, 0.68]])
    >>> two = dataclasses.replace(
    ...     DngProfile.single(a, illuminant=17), illuminants=(17, 21),
    ...     color_matrices=(a, d65), camera_calibrations=(np.eye(3), np.eye(3)),
    ... )
    >>> two.temperatures
    (2850.0, 6500.0)
    >>> round(two.interpolation_weight(4000.0), 4)  # weight of the first matrix
    0.488
    >>> np.allclose(two.xyz_to_camera((0.5, 0.41)), a)  # below 2850 K: clamped
    True
    """

    illuminants: tuple[int, ...]
    color_matrices: tuple[np.ndarray, ...]
    forward_matrices: tuple[np.ndarray, ...]
    camera_calibrations: tuple[np.ndarray, ...]
    analog_balance: np.ndarray
    as_shot_neutral: np.ndarray | None
    as_shot_white_xy: np.ndarray | None
    baseline_exposure: float
    linearization_table: np.ndarray | None
    black_level: np.ndarray
    white_level: int
    noise_profile: tuple[tuple[float, float], ...] | None
    unique_camera_model: str

    @property
    def temperatures(self) -> tuple[float, ...]:
        """The calibration illuminants' temperatures in kelvin.

        Raises
        ------
        ValueError
            An illuminant without a standard temperature (see :attr:`interpolable`).
        """
        return tuple(_illuminant_temperature(code) for code in self.illuminants)

    @property
    def interpolable(self) -> bool:
        """Whether the profile has two colour matrices whose illuminants have known
        temperatures (:data:`ILLUMINANT_TEMPERATURES`), so that it can be interpolated."""
        return len(self.color_matrices) == 2 and all(
            code in ILLUMINANT_TEMPERATURES for code in self.illuminants
        )

    def interpolation_weight(self, temperature: float) -> float:
        """Weight ``g`` of the first matrix at ``temperature`` (1 with a single matrix).

        ``g = (1/T − 1/T2) / (1/T1 − 1/T2)`` with the illuminants ordered so that
        ``T1 < T2``, clamped to [0, 1].
        """
        if len(self.color_matrices) == 1:
            return 1.0
        t1, t2 = self.temperatures
        if t1 == t2:
            return 1.0
        low, high = (t1, t2) if t1 < t2 else (t2, t1)
        if temperature <= low:
            g_low = 1.0
        elif temperature >= high:
            g_low = 0.0
        else:
            g_low = (1.0 / temperature - 1.0 / high) / (1.0 / low - 1.0 / high)
        return g_low if t1 < t2 else 1.0 - g_low

    def xyz_to_camera(self, white_xy: Any) -> np.ndarray:
        """``AB · CC · CM`` at a white point, the specification's XYZ → camera matrix.

        Parameters
        ----------
        white_xy : array_like, shape (2,)
            Chromaticity of the white.

        Returns
        -------
        numpy.ndarray, shape (3, 3), float64
        """
        if not self.color_matrices:
            raise ValueError(f"the DNG profile of {self.unique_camera_model!r} has no ColorMatrix1")
        g = self.interpolation_weight(xy_to_temperature(white_xy))
        cm = self.color_matrices[0] * g
        cc = self.camera_calibrations[0] * g
        if len(self.color_matrices) == 2:
            cm = cm + self.color_matrices[1] * (1.0 - g)
            cc = cc + self.camera_calibrations[1] * (1.0 - g)
        result: np.ndarray = np.diag(self.analog_balance) @ cc @ cm
        return result

    def neutral_to_xy(self, neutral: Any) -> np.ndarray:
        """The chromaticity whose camera coordinates are ``neutral`` (iterative, see notes).

        Examples
        --------
        >>> profile = DngProfile.single(np.eye(3))
        >>> [round(float(v), 4) for v in profile.neutral_to_xy([1.0, 1.0, 1.0])]
        [0.3333, 0.3333]
        """
        neutral = np.asarray(neutral, dtype=np.float64)
        last = np.array(D50_XY)
        for step in range(_MAX_PASSES):
            following = _xyz_to_xy(np.linalg.solve(self.xyz_to_camera(last), neutral))
            if float(np.abs(following - last).sum()) < _CONVERGED:
                return following
            if step == _MAX_PASSES - 1:
                return (last + following) / 2.0
            last = following
        raise AssertionError("unreachable")  # pragma: no cover

    @property
    def white_xy(self) -> np.ndarray | None:
        """The as-shot white: AsShotWhiteXY, else from AsShotNeutral; None with neither."""
        if self.as_shot_white_xy is not None:
            return self.as_shot_white_xy
        if self.as_shot_neutral is not None:
            return self.neutral_to_xy(self.as_shot_neutral)
        return None

    def as_shot_xyz_to_camera(self) -> np.ndarray:
        """:meth:`xyz_to_camera` at :attr:`white_xy` (at D65 without an as-shot white)."""
        white = self.white_xy
        return self.xyz_to_camera(white if white is not None else _D65_XY)

    @classmethod
    def single(cls, color_matrix: Any, *, illuminant: int = 21) -> DngProfile:
        """A profile with one colour matrix and nothing else (for examples and tests)."""
        return cls(
            illuminants=(illuminant,),
            color_matrices=(np.asarray(color_matrix, dtype=np.float64).reshape(3, 3),),
            forward_matrices=(),
            camera_calibrations=(np.eye(3),),
            analog_balance=np.ones(3),
            as_shot_neutral=None,
            as_shot_white_xy=None,
            baseline_exposure=0.0,
            linearization_table=None,
            black_level=np.zeros((1, 1)),
            white_level=65535,
            noise_profile=None,
            unique_camera_model="",
        )


#: The D65 white of sRGB (``RGB2XYZ @ [1, 1, 1]``) as a chromaticity.
_D65_XY = (RGB2XYZ.sum(axis=1) / RGB2XYZ.sum())[:2]


def _illuminant_temperature(code: int) -> float:
    if code not in ILLUMINANT_TEMPERATURES:
        raise ValueError(
            f"calibration illuminant {code} has no standard temperature; known codes: "
            f"{sorted(ILLUMINANT_TEMPERATURES)}"
        )
    return ILLUMINANT_TEMPERATURES[code]


def _rational(tags: tifffile.TiffTags, name: str) -> np.ndarray | None:
    tag = tags.get(_TAG_CODES[name])
    if tag is None:
        return None
    values = np.asarray(tag.value, dtype=np.float64).ravel()
    if tag.dtype in (5, 10):  # RATIONAL, SRATIONAL: tifffile gives the pairs
        values = values[0::2] / values[1::2]
    return values


def _raw_page(tif: tifffile.TiffFile) -> tifffile.TiffPage:
    """The page of the raw CFA image (IFD0 or one of its SubIFDs)."""
    first = tif.pages.first
    if first.photometric == 32803:
        return first
    for page in first.pages or ():
        if isinstance(page, tifffile.TiffPage) and page.photometric == 32803:
            return page
    return first


def read_profile(path: str | os.PathLike[str]) -> DngProfile:
    """Read the colour profile, levels and noise profile of a DNG file.

    Parameters
    ----------
    path : str or os.PathLike
        A DNG (a TIFF file with DNGVersion). Only read.

    Returns
    -------
    DngProfile

    Raises
    ------
    ValueError
        Not a DNG, a malformed TIFF, ColorMatrix2 without ColorMatrix1 or without its
        illuminant, or a matrix that does not hold 9 values.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, rawspace
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> raw = rawspace.invert(np.full((24, 24, 3), 128, np.uint8), rawspace.CameraParams.sample(0))
    >>> profile = read_profile(rawspace.write_dng(raw, folder / "a.dng"))
    >>> profile.illuminants, profile.white_level
    ((21,), 12229)
    """
    path = Path(path)
    try:
        with tifffile.TiffFile(path) as tif:
            tags = tif.pages.first.tags
            if 50706 not in tags:
                raise ValueError(f"{str(path)!r} is not a DNG (no DNGVersion tag)")
            raw_tags = _raw_page(tif).tags
            values = {
                name: _rational(raw_tags if name in _RAW_TAGS else tags, name)
                for name in _TAG_CODES
                if name != "UniqueCameraModel"
            }
            model = tags.valueof(_TAG_CODES["UniqueCameraModel"], "")
            repeat = raw_tags.valueof(_TAG_CODES["BlackLevelRepeatDim"], (1, 1))
    except (tifffile.TiffFileError, struct.error, IndexError, KeyError, TypeError) as exc:
        # A malformed TIFF structure or tag (tifffile raises any of these).
        raise ValueError(f"cannot read {str(path)!r} as a DNG: {exc}") from exc
    return _profile(values, str(model), tuple(int(v) for v in repeat), path)


def _matrix(values: dict[str, np.ndarray | None], name: str) -> np.ndarray | None:
    value = values[name]
    if value is None:
        return None
    if value.size != 9:
        raise ValueError(f"{name} must hold 9 values for a 3-colour camera, got {value.size}")
    return value.reshape(3, 3)


def _profile(
    values: dict[str, np.ndarray | None], model: str, repeat: tuple[int, ...], path: Path
) -> DngProfile:
    matrices = [_matrix(values, f"ColorMatrix{i}") for i in (1, 2)]
    if matrices[0] is None and matrices[1] is not None:
        raise ValueError(f"{str(path)!r} has ColorMatrix2 but no ColorMatrix1")
    count = 2 if matrices[1] is not None else 1 if matrices[0] is not None else 0
    illuminants = []
    for i in range(1, count + 1):
        tag = values[f"CalibrationIlluminant{i}"]
        if tag is None and count == 2:
            raise ValueError(f"{str(path)!r} has ColorMatrix2 but no CalibrationIlluminant{i}")
        illuminants.append(int(tag[0]) if tag is not None else 0)
    forward = [_matrix(values, f"ForwardMatrix{i}") for i in range(1, count + 1)]
    calibrations = [_matrix(values, f"CameraCalibration{i}") for i in range(1, count + 1)]
    balance, neutral, white_xy = (
        values[n] for n in ("AnalogBalance", "AsShotNeutral", "AsShotWhiteXY")
    )
    exposure, table, black = (
        values[n] for n in ("BaselineExposure", "LinearizationTable", "BlackLevel")
    )
    white, noise = values["WhiteLevel"], values["NoiseProfile"]
    rows, cols = (*repeat, 1, 1)[:2]
    black_level = black if black is not None else np.zeros(rows * cols)
    return DngProfile(
        illuminants=tuple(illuminants),
        color_matrices=tuple(m for m in matrices[:count] if m is not None),
        forward_matrices=tuple(m for m in forward if m is not None)
        if all(m is not None for m in forward)
        else (),
        camera_calibrations=tuple(m if m is not None else np.eye(3) for m in calibrations),
        analog_balance=balance if balance is not None else np.ones(3),
        as_shot_neutral=neutral,
        as_shot_white_xy=white_xy,
        baseline_exposure=float(exposure[0]) if exposure is not None else 0.0,
        linearization_table=table.astype(np.uint16) if table is not None else None,
        black_level=black_level[: rows * cols].reshape(rows, cols),
        white_level=int(white[0]) if white is not None else 65535,
        noise_profile=tuple(
            (float(noise[i]), float(noise[i + 1])) for i in range(0, noise.size - 1, 2)
        )
        if noise is not None
        else None,
        unique_camera_model=model,
    )
