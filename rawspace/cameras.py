"""Which camera, and which sensor noise, each image of a dataset gets — reproducibly.

A dataset converted to raw can share one camera (what a real microscope camera
records), one camera per group (for instance per class folder or per patient),
or a new camera for every image (Brooks et al.'s augmentation; it scrambles
stain colour). :class:`CameraAssigner` implements these policies. Sampled cameras
are Brooks et al.'s mixes of four matrices, or real cameras of the catalogue
(:mod:`rawspace.catalogue`): all of them, its training part or its held-out part
(:func:`sample_camera`). Every camera
and noise draw is seeded by :func:`stable_seed` from the global seed and the
image's relative path or group name, so the result for an image is a pure
function of (seed, relative path, group, options): the same in any order, in
any process, on any machine.

Noise follows the same scopes: the noise *levels* (shot and read variance, as
an ISO setting) are drawn once per dataset, group or image according to
``noise_per``, while the noise *realisation* is always drawn per image (sensor
noise is per exposure; sharing it would add the same noise image to every
picture).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import KW_ONLY, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ._checks import check_choice
from .catalogue import Camera, catalogue, held_out_cameras, training_cameras
from .files import name_bytes
from .hints import (
    CAMERA_POLICIES,
    CAMERA_SOURCES,
    CFA_PATTERNS,
    NOISE_MODELS,
    CameraPolicy,
    CameraSource,
    Cfa,
    Layout,
    NoiseModel,
)
from .noise import NoiseLevels, camera_noise_levels, sample_noise_levels
from .params import CameraParams, GainModel
from .pipeline import invert
from .rawimage import RawImage
from .rawio import read_camera

__all__ = [
    "CAMERA_SOURCES",
    "CameraAssigner",
    "CameraSource",
    "camera_pool",
    "load_camera",
    "sample_camera",
    "stable_seed",
]

#: Where sampled cameras come from: Brooks et al.'s mixes of four matrices, every
#: catalogue camera, the catalogue's training part or its held-out part.

_SEED_BITS = 63


def stable_seed(seed: int, *parts: str) -> int:
    """A 63-bit seed derived from a global seed and some names, stable everywhere.

    The BLAKE2b hash of the seed and each part (length-prefixed UTF-8, so
    ``("ab", "c")`` and ``("a", "bc")`` differ; the bytes of a file name that are
    not UTF-8 are hashed as they are, see :func:`rawspace.files.name_bytes`);
    unlike :func:`hash` it is the same in every process, on every machine and
    Python version.

    Parameters
    ----------
    seed : int
        The global seed, any integer.
    *parts : str
        Names that select the stream, e.g. ``"camera", "image", "CLASS/img_001.tiff"``.

    Returns
    -------
    int
        In ``[0, 2**63)``, usable as a NumPy seed.

    Examples
    --------
    >>> stable_seed(0, "camera") == stable_seed(0, "camera")
    True
    >>> stable_seed(0, "ab", "c") != stable_seed(0, "a", "bc")
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    digest = hashlib.blake2b(digest_size=8, person=b"rawspace.seed")
    digest.update(str(int(seed)).encode("ascii"))
    for part in parts:
        if not isinstance(part, str):
            raise TypeError(f"seed parts must be str, got {type(part).__name__}: {part!r}")
        encoded = name_bytes(part)
        digest.update(len(encoded).to_bytes(8, "little"))
        digest.update(encoded)
    return int.from_bytes(digest.digest(), "little") >> (64 - _SEED_BITS)


def camera_pool(source: CameraSource) -> tuple[Camera, ...]:
    """The catalogue cameras that ``source`` draws from (empty for ``"brooks"``).

    Examples
    --------
    >>> len(camera_pool("training")) + len(camera_pool("held-out")) == len(camera_pool("catalogue"))
    True
    """
    check_choice("source", source, CAMERA_SOURCES)
    pools = {
        "brooks": (),
        "catalogue": catalogue(),
        "training": training_cameras(),
        "held-out": held_out_cameras(),
    }
    return pools[source]


def sample_camera(
    seed: int | np.random.Generator | None,
    *,
    source: CameraSource = "training",
    mix: bool = False,
    gains: GainModel = "brooks",
    cfa: Cfa = "RGGB",
    black_level: int = 0,
    white_level: int = 16383,
) -> CameraParams:
    """Draw a camera from ``source``: :meth:`CameraParams.sample` with its pool.

    Parameters
    ----------
    seed : int, numpy.random.Generator or None
    source : {"brooks", "catalogue", "training", "held-out"}, default "training"
        ``"brooks"``: exactly ``CameraParams.sample(seed, ...)``. Otherwise a real
        camera of that part of the catalogue (``"held-out"`` for cameras that no
        training pool holds).
    mix, gains
        As for :meth:`CameraParams.sample` (``mix`` only for catalogue sources).
    cfa, black_level, white_level
        Fields of the camera.

    Examples
    --------
    >>> from rawspace.catalogue import find_camera
    >>> camera = sample_camera(0, source="held-out")
    >>> find_camera(camera.name).part
    'held-out'
    """
    if source == "brooks":
        return CameraParams.sample(
            seed, mix=mix, gains=gains, cfa=cfa, black_level=black_level, white_level=white_level
        )
    return CameraParams.sample(
        seed, matrices="catalogue", include=camera_pool(source), mix=mix, gains=gains,
        cfa=cfa, black_level=black_level, white_level=white_level,
    )  # fmt: skip


@lru_cache(maxsize=4096)
def _sampled_camera(
    seed: int, source: CameraSource, cfa: Cfa, black_level: int, white_level: int
) -> CameraParams:
    return sample_camera(
        seed, source=source, cfa=cfa, black_level=black_level, white_level=white_level
    )


@lru_cache(maxsize=4096)
def _sampled_noise(seed: int) -> NoiseLevels:
    return sample_noise_levels(np.random.default_rng(seed))


def load_camera(path: str | os.PathLike[str]) -> CameraParams:
    """Load a fixed camera from a JSON file or a real raw file.

    Parameters
    ----------
    path : str or os.PathLike
        ``*.json``: :meth:`CameraParams.to_dict` output, or any JSON object with
        such a dict under ``"params"`` (a ``convert`` sidecar, ``RawImage.to_dict()``).
        Any other file is opened as a camera raw file (DNG, CR2, NEF, ...) with
        :func:`rawspace.read_camera`.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist or is not a file.
    ValueError
        The JSON is malformed or does not describe a camera, or the raw file cannot
        be read (:class:`rawspace.rawio.RawFileError` is a ValueError).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "camera.json"
    >>> _ = path.write_text(CameraParams.sample(0).to_json())
    >>> load_camera(path) == CameraParams.sample(0)
    True
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"camera file not found (or not a file): {path}")
    if path.suffix.lower() != ".json":
        return read_camera(path)
    try:
        # A convert sidecar holds the bytes of a name that is not UTF-8 as they are.
        values = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"camera file {path} is not valid JSON: {exc}") from None
    if isinstance(values, dict) and isinstance(values.get("params"), dict):
        values = values["params"]
    try:
        return CameraParams.from_dict(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"camera file {path} does not describe a camera: {exc}") from None


@dataclass(frozen=True, eq=True)
class CameraAssigner:
    """Assign a camera and sensor noise to every image of a dataset, reproducibly.

    Parameters
    ----------
    policy : {"dataset", "group", "image"}, default "dataset"
        One camera for the whole dataset, one per group, or one per image.
    seed : int, default 0
        Global seed, a non-negative integer; every draw derives from it with
        :func:`stable_seed`.
    camera : CameraParams, optional
        A fixed camera for every image (only with ``policy="dataset"``). When None,
        cameras are drawn with :meth:`CameraParams.sample`.
    noise : {None, "brooks"}, default None
        No noise, or shot/read levels drawn as Brooks et al.
    noise_per : {"dataset", "group", "image"}, default "image"
        Scope that shares one set of noise levels. The noise realisation itself is
        always drawn per image.
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}, default "RGGB"
    black_level : int, default 0
    white_level : int, default 16383
        Fields of the sampled cameras. A fixed ``camera`` brings its own, so these
        must keep their defaults when ``camera`` is given.
    cameras : {"brooks", "catalogue", "training", "held-out"}, default "brooks"
        Where sampled cameras come from (:func:`sample_camera`): Brooks et al.'s
        mixes, or real cameras of the whole catalogue, of its training part or of
        its held-out part. Recorded by :meth:`to_dict` only when not ``"brooks"``.

    Notes
    -----
    Seeds: the camera of the dataset comes from ``stable_seed(seed, "camera")``, of
    a group from ``stable_seed(seed, "camera", "group", group)``, of an image from
    ``stable_seed(seed, "camera", "image", relpath)``; the noise levels likewise
    with ``"noise"`` in place of ``"camera"``; the noise realisation from
    ``stable_seed(seed, "noise-realisation", "image", relpath)``.

    Examples
    --------
    >>> assigner = CameraAssigner("image", seed=1, cameras="held-out", noise="brooks")
    >>> from rawspace.catalogue import find_camera
    >>> find_camera(assigner.params_for("cells/a.png").name).part
    'held-out'
    >>> raw = assigner.invert(np.full((8, 8, 3), 128, np.uint8), "cells/a.png")
    >>> raw.data.shape, raw.noise == assigner.noise_levels_for("cells/a.png")
    ((8, 8), True)
    """

    policy: CameraPolicy = "dataset"
    _: KW_ONLY
    seed: int = 0
    camera: CameraParams | None = None
    noise: NoiseModel | None = None
    noise_per: CameraPolicy = "image"
    cfa: Cfa = "RGGB"
    black_level: int = 0
    white_level: int = 16383
    cameras: CameraSource = "brooks"

    def __post_init__(self) -> None:
        check_choice("policy", self.policy, CAMERA_POLICIES)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {type(self.seed).__name__}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        object.__setattr__(self, "seed", int(self.seed))
        if self.noise is not None:
            check_choice("noise", self.noise, NOISE_MODELS)
        check_choice("noise_per", self.noise_per, CAMERA_POLICIES)
        check_choice("cfa", self.cfa, CFA_PATTERNS)
        check_choice("cameras", self.cameras, CAMERA_SOURCES)
        if self.camera is None:
            # Validate the levels once, here, rather than at the first image.
            CameraParams.sample(0, black_level=self.black_level, white_level=self.white_level)
            return
        if not isinstance(self.camera, CameraParams):
            raise TypeError(
                f"camera must be a CameraParams or None, got {type(self.camera).__name__}"
            )
        if self.policy != "dataset":
            raise ValueError(
                f"a fixed camera is used for the whole dataset: policy must be 'dataset' "
                f"when camera is given, got policy={self.policy!r}"
            )
        if (self.cfa, self.black_level, self.white_level, self.cameras) != (
            "RGGB", 0, 16383, "brooks",
        ):  # fmt: skip
            raise ValueError(
                "cfa, black_level, white_level and cameras apply to sampled cameras; a fixed "
                "camera brings its own (use dataclasses.replace(camera, ...) to change them), "
                f"got cfa={self.cfa!r}, black_level={self.black_level}, "
                f"white_level={self.white_level}, cameras={self.cameras!r}"
            )

    # ------------------------------------------------------------------ seeds
    def _scope_seed(self, stream: str, scope: str, relpath: str, group: str | None) -> int:
        if not isinstance(relpath, str):
            raise TypeError(f"relpath must be a str, got {type(relpath).__name__}")
        if scope == "dataset":
            return stable_seed(self.seed, stream)
        if scope == "group":
            if group is None:
                raise ValueError(
                    f"the {stream} is shared per group, but no group was given for {relpath!r}"
                )
            if not isinstance(group, str):
                raise TypeError(f"group must be a str, got {type(group).__name__}")
            return stable_seed(self.seed, stream, "group", group)
        return stable_seed(self.seed, stream, "image", relpath)

    def camera_seed_for(self, relpath: str, group: str | None = None) -> int | None:
        """Seed of the camera drawn for an image, or None with a fixed camera."""
        if self.camera is not None:
            return None
        return self._scope_seed("camera", self.policy, relpath, group)

    def params_for(self, relpath: str, group: str | None = None) -> CameraParams:
        """The camera of one image.

        Parameters
        ----------
        relpath : str
            The image's path relative to the dataset root, POSIX style (``"a/b.png"``).
        group : str, optional
            The image's group; required when ``policy="group"``.
        """
        seed = self.camera_seed_for(relpath, group)
        if self.camera is not None:
            return self.camera
        assert seed is not None  # only a fixed camera has no seed
        return _sampled_camera(seed, self.cameras, self.cfa, self.black_level, self.white_level)

    def noise_levels_for(self, relpath: str, group: str | None = None) -> NoiseLevels | None:
        """``(shot, read)`` variances for an image, shared per ``noise_per``; None without noise."""
        if self.noise is None:
            return None
        if self.noise == "camera":
            return camera_noise_levels(self.params_for(relpath, group))
        return _sampled_noise(self._scope_seed("noise", self.noise_per, relpath, group))

    def noise_seed_for(self, relpath: str, group: str | None = None) -> int | None:
        """Seed of the image's noise realisation (always per image); None without noise.

        ``group`` is accepted for symmetry with :meth:`params_for` and does not change
        the result.
        """
        if self.noise is None:
            return None
        if group is not None and not isinstance(group, str):
            raise TypeError(f"group must be a str, got {type(group).__name__}")
        return self._scope_seed("noise-realisation", "image", relpath, group)

    # ------------------------------------------------------------------ use
    def invert(
        self,
        rgb: np.ndarray,
        relpath: str,
        group: str | None = None,
        *,
        layout: Layout = "bayer",
        dtype: type | np.dtype = np.uint16,
    ) -> RawImage:
        """Turn one image into raw with its assigned camera and noise.

        Equivalent to ``rawspace.invert(rgb, self.params_for(relpath, group),
        seed=self.noise_seed_for(relpath, group), layout=layout, dtype=dtype,
        noise=self.noise_levels_for(relpath, group))``, so the result is a pure
        function of ``(seed, relpath, group)`` and the options.

        Parameters
        ----------
        rgb : numpy.ndarray, shape (H, W, 3)
            uint8, uint16, or float in [0, 1]; even H and W for the mosaic layouts.
        relpath, group
            As for :meth:`params_for`.
        layout, dtype
            As for :func:`rawspace.invert`.
        """
        return invert(
            rgb,
            self.params_for(relpath, group),
            seed=self.noise_seed_for(relpath, group),
            layout=layout,
            dtype=dtype,
            noise=self.noise_levels_for(relpath, group),
        )

    # ------------------------------------------------------------------ record
    def to_dict(self) -> dict[str, Any]:
        """The policy as plain Python (JSON-serialisable), for recording next to outputs."""
        return {
            "policy": self.policy,
            "seed": self.seed,
            "camera": self.camera.to_dict() if self.camera is not None else None,
            "noise": self.noise,
            "noise_per": self.noise_per,
            "cfa": self.cfa,
            "black_level": self.black_level,
            "white_level": self.white_level,
            **({"cameras": self.cameras} if self.cameras != "brooks" else {}),
        }
