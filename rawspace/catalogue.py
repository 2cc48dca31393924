"""A catalogue of real cameras: the XYZ→camera matrices of several hundred Bayer sensors.

The numbers come from LibRaw's table of colour matrices (``src/tables/colordata.cpp``,
``LibRaw::adobe_coeff``; most of them measured by Adobe for DNG Converter): per camera
its maker, the model name (LibRaw matches it as a prefix of the file's model), the
XYZ→camera matrix at D65 times 10,000 and LibRaw's black and maximum levels where the
table sets them. ``rawspace/data/cameras.csv`` holds them with their source and the
rules that chose the rows (Bayer sensors only, one row per distinct matrix); the file is
read on first use.

Held-out cameras
----------------
The catalogue is split once and for all into a training part and a held-out part, by
a stable hash of the camera's maker and model: a camera is held out when the first
eight bytes of ``blake2b(maker + "\\0" + model)`` (digest of 8 bytes, personalised
``b"rawspace.split"``) read as a little-endian integer fall in the lowest
:data:`HELD_OUT_FRACTION` of their range. The split does not depend on the order of
the file, the Python version or the machine, and a camera added later does not move
any other. Since every row has its own matrix, no held-out camera shares its colour
matrix with a training camera. Sample a training camera with
``CameraParams.sample(seed, matrices="catalogue", include=training_cameras())`` and
an unseen one with ``include=held_out_cameras()``.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

import numpy as np

__all__ = [
    "CATALOGUE_SOURCE",
    "HELD_OUT_FRACTION",
    "Camera",
    "Part",
    "catalogue",
    "find_camera",
    "format_catalogue",
    "held_out_cameras",
    "select_cameras",
    "training_cameras",
]

#: Where the numbers of the catalogue come from (the data file's header says more).
CATALOGUE_SOURCE = (
    "LibRaw (github.com/LibRaw/LibRaw) src/tables/colordata.cpp, LibRaw::adobe_coeff, "
    "commit e419de08001de28ae6988ecb22df47e52b9c5eaa; LGPL-2.1 or CDDL-1.0"
)

#: Share of the catalogue's cameras that the split holds out (by a stable hash).
HELD_OUT_FRACTION = 0.2

#: The part of the catalogue a camera belongs to.
Part = Literal["training", "held-out"]

_DATA_FILE = "cameras.csv"
_MATRIX_SCALE = 10_000
_HEADER = (
    "maker", "model", "black", "maximum",
    "m00", "m01", "m02", "m10", "m11", "m12", "m20", "m21", "m22", "source",
)  # fmt: skip


@dataclass(frozen=True)
class Camera:
    """One camera of the catalogue.

    Attributes
    ----------
    maker : str
        LibRaw's name of the maker, e.g. ``"Canon"``.
    model : str
        The model, as LibRaw matches it (a prefix of the files' model names).
    matrix : tuple of 9 int
        The XYZ→camera matrix at D65 times 10,000, row by row, as in LibRaw's table.
    black, maximum : int
        LibRaw's black and maximum raw levels for this camera; 0 where the table
        sets none. A negative black applies only to files that give none.
    source : str
        Who measured the matrix: ``"Adobe"`` (DNG Converter) or LibRaw's mark
        (``"DJC"``, ``"CHDK"``, ``"LibRaw"``).

    Examples
    --------
    >>> camera = find_camera("Nikon D850")
    >>> camera.maker, camera.model, camera.matrix[:3]
    ('Nikon', 'D850', (10405, -3755, -1270))
    >>> camera.xyz2cam.shape
    (3, 3)
    """

    maker: str
    model: str
    matrix: tuple[int, ...]
    black: int
    maximum: int
    source: str

    @property
    def name(self) -> str:
        """``"maker model"``, the name the catalogue knows the camera by."""
        return f"{self.maker} {self.model}"

    @property
    def xyz2cam(self) -> np.ndarray:
        """The XYZ (D65) → camera matrix, shape (3, 3), float64 (``matrix / 10000``)."""
        return np.array(self.matrix, dtype=np.float64).reshape(3, 3) / _MATRIX_SCALE

    @property
    def part(self) -> Part:
        """``"held-out"`` or ``"training"``: the camera's side of the split (module notes)."""
        digest = hashlib.blake2b(digest_size=8, person=b"rawspace.split")
        digest.update(f"{self.maker}\0{self.model}".encode())
        value = int.from_bytes(digest.digest(), "little")
        return "held-out" if value < HELD_OUT_FRACTION * 2**64 else "training"


def _parse(text: str) -> tuple[Camera, ...]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = tuple(next(reader))
    if header != _HEADER:
        raise ValueError(f"camera catalogue: unexpected header {header}, expected {_HEADER}")
    cameras = []
    for row in reader:
        maker, model, black, maximum, *matrix, source = row
        cameras.append(
            Camera(
                maker=maker,
                model=model,
                matrix=tuple(int(v) for v in matrix),
                black=int(black),
                maximum=int(maximum),
                source=source or "Adobe",
            )
        )
    return tuple(cameras)


@lru_cache(maxsize=1)
def catalogue() -> tuple[Camera, ...]:
    """Every camera of the catalogue, in the order of LibRaw's table (by maker).

    Read from the package's data file on the first call.

    Returns
    -------
    tuple of Camera

    Examples
    --------
    >>> cameras = catalogue()
    >>> len(cameras) >= 300
    True
    >>> cameras[0].name
    'Agfa DC-833m'
    """
    text = resources.files("rawspace").joinpath("data", _DATA_FILE).read_text("utf-8")
    return _parse(text)


@lru_cache(maxsize=1)
def _by_name() -> dict[str, Camera]:
    return {camera.name: camera for camera in catalogue()}


def find_camera(name: str) -> Camera:
    """The catalogue's camera called ``name`` (``"maker model"``, e.g. ``"Canon EOS 5D"``).

    Raises
    ------
    KeyError
        No such camera; the message suggests the closest names.

    Examples
    --------
    >>> find_camera("Sony ILCE-7RM3").part in ("training", "held-out")
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    cameras = _by_name()
    if name not in cameras:
        close = difflib.get_close_matches(name, list(cameras), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise KeyError(f"no camera named {name!r} in the catalogue{hint}")
    return cameras[name]


def training_cameras() -> tuple[Camera, ...]:
    """The cameras of the training part of the split (about 80 %).

    Examples
    --------
    >>> all(camera.part == "training" for camera in training_cameras())
    True
    """
    return tuple(camera for camera in catalogue() if camera.part == "training")


def held_out_cameras() -> tuple[Camera, ...]:
    """The held-out cameras (about 20 %), never in :func:`training_cameras`.

    Examples
    --------
    >>> names = {camera.name for camera in held_out_cameras()}
    >>> names.isdisjoint(camera.name for camera in training_cameras())
    True
    """
    return tuple(camera for camera in catalogue() if camera.part == "held-out")


def select_cameras(
    include: Iterable[Camera | str] | None = None,
    exclude: Iterable[Camera | str] | None = None,
) -> tuple[Camera, ...]:
    """The cameras of ``include`` (default: the whole catalogue) not in ``exclude``.

    Parameters
    ----------
    include, exclude : iterable of Camera or str, optional
        Cameras, or their names (``"maker model"``) or makers (``"Canon"``): a maker
        stands for all its cameras.

    Returns
    -------
    tuple of Camera
        In catalogue order, without repeats.

    Raises
    ------
    KeyError
        A name that is neither a camera nor a maker of the catalogue.
    ValueError
        Nothing is left.

    Examples
    --------
    >>> [c.name for c in select_cameras(["Nikon D850", "Sony ILCE-7RM3"])]
    ['Nikon D850', 'Sony ILCE-7RM3']
    >>> len(select_cameras(["Canon"], exclude=["Canon EOS 5D Mark III"])) > 50
    True
    """
    chosen = _resolve("include", include) if include is not None else set(catalogue())
    if exclude is not None:
        chosen -= _resolve("exclude", exclude)
    pool = tuple(camera for camera in catalogue() if camera in chosen)
    if not pool:
        raise ValueError("no camera is left after include and exclude")
    return pool


def _resolve(argument: str, items: Iterable[Camera | str]) -> set[Camera]:
    if isinstance(items, (str, Camera)):
        raise TypeError(f"{argument} must be an iterable of cameras or names, got {items!r}")
    makers = {camera.maker for camera in catalogue()}
    out: set[Camera] = set()
    for item in items:
        if isinstance(item, Camera):
            out.add(item)
        elif isinstance(item, str) and item in makers:
            out.update(camera for camera in catalogue() if camera.maker == item)
        elif isinstance(item, str):
            out.add(find_camera(item))
        else:
            raise TypeError(
                f"{argument} holds cameras or names, got {type(item).__name__}: {item!r}"
            )
    return out


def format_catalogue(cameras: Iterable[Camera] | None = None) -> str:
    """A text table of cameras (default: the catalogue): name, part, source, matrix.

    What ``rawspace info --cameras`` prints.

    Examples
    --------
    >>> print(format_catalogue([find_camera("Nikon D850")]))  # doctest: +ELLIPSIS
    camera      part      source  XYZ->camera (D65) x 10000
    Nikon D850  training  Adobe   10405 -3755 -1270 -5461 13787 1793 -1040 2015 6785
    <BLANKLINE>
    1 cameras (0 held out); LibRaw (github.com/LibRaw/LibRaw) ...
    """
    rows = tuple(catalogue() if cameras is None else cameras)
    width = max([len("camera")] + [len(camera.name) for camera in rows])
    lines = [f"{'camera':<{width}}  {'part':<8}  {'source':<6}  XYZ->camera (D65) x 10000"]
    for camera in rows:
        matrix = " ".join(str(v) for v in camera.matrix)
        lines.append(f"{camera.name:<{width}}  {camera.part:<8}  {camera.source:<6}  {matrix}")
    held = sum(camera.part == "held-out" for camera in rows)
    lines += ["", f"{len(rows)} cameras ({held} held out); {CATALOGUE_SOURCE}"]
    return "\n".join(lines)
