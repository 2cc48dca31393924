"""Reading a dataset cache: :func:`open`, :class:`CacheReader` and its views, :func:`summary`.

The reader opens the file lazily, once per process, keeps the small columns in
memory and reads images sample by sample (a stored chunk as it is, when
possible) or many rows at once, so readers can be pickled to DataLoader workers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

from ..files import name_bytes
from ..hints import Cfa, Layout
from ..params import CameraParams
from .format import (
    IMAGES,
    PARTIAL_SUFFIX,
    STR,
    CacheError,
    attr_value,
    build_in_progress,
    pixel_digest,
    runs,
)
from .schema import check_cache, image_files

__all__ = ["CacheReader", "Sample", "open", "summary"]


# ----------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Sample:
    """One cached sample.

    Attributes
    ----------
    raw : numpy.ndarray
        uint16: (S, S) Bayer, (S/2, S/2, 4) packed or (S, S, 3) linear.
    rgb : numpy.ndarray or None
        uint8 (S, S, 3), the image that was converted; None when not stored or not read.
    label : int
        Index into the cache's ``class_names``.
    path : str
        Path of the source image relative to the source root.
    params : CameraParams
        The sample's camera.
    """

    raw: np.ndarray
    rgb: np.ndarray | None
    label: int
    path: str
    params: CameraParams


def _open_h5(path: Path) -> h5py.File:
    """Open a complete cache for reading (not checked yet)."""
    cache = path.with_name(path.name.removesuffix(PARTIAL_SUFFIX))
    building = build_in_progress(cache)
    if building and (cache != path or not path.is_file()):
        raise CacheError(building)
    if not path.is_file():
        partial = path.with_name(path.name + PARTIAL_SUFFIX)
        hint = f" ({partial} exists: the build was interrupted)" if partial.exists() else ""
        raise FileNotFoundError(f"cache not found: {path}{hint}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        reason = str(exc).removeprefix("Unable to synchronously open file ")
        raise CacheError(
            f"{path} cannot be read as HDF5 ({reason}): not a rawspace cache, or a damaged "
            "(truncated) one"
        ) from None


#: What identifies the state of a file on disk: device, inode, size, modification time.
_Signature = tuple[int, int, int, int]


def _signature(path: Path) -> _Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class _CacheFile:
    """A cache file opened lazily, once per process, with its small columns cached.

    Pickling keeps only the path, so a reader can be sent to worker processes; a
    handle inherited through ``fork`` is replaced by a fresh one.
    """

    def __init__(self, path: Path, signatures: dict[Path, _Signature | None] | None = None):
        self.path = path
        #: The state of each file holding image data when the cache was first opened.
        self._signatures = signatures
        self._file: h5py.File | None = None
        self._pid: int | None = None
        self._datasets: dict[str, h5py.Dataset] = {}
        self._direct: dict[str, bool] = {}
        self._names: frozenset[str] = frozenset()
        self._columns: dict[str, np.ndarray] = {}
        self._attrs: dict[str, Any] | None = None
        self._cameras: dict[tuple[bytes, str | None], CameraParams] = {}
        self._digests: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "signatures": self._signatures}

    def __setstate__(self, state: dict[str, Any]) -> None:
        _CacheFile.__init__(self, state["path"], state["signatures"])

    def file(self) -> h5py.File:
        pid = os.getpid()
        if self._file is None or self._pid != pid:
            # A handle inherited through fork belongs to the parent: do not close it here.
            if self._signatures is not None:
                self.check_unchanged()
            f = _open_h5(self.path)
            try:
                columns = check_cache(f, self.path)
                signatures = {file: _signature(file) for file in image_files(f, self.path)}
            except BaseException:
                f.close()
                raise
            if self._signatures is None:
                self._signatures = signatures
            for name, values in columns.items():
                values.setflags(write=False)
                self._columns.setdefault(name, values)
            self._file = f
            self._pid = pid
            self._datasets = {}
            self._names = frozenset(f.keys())
        return self._file

    def check_unchanged(self) -> None:
        """Raise CacheError if a file of the cache changed on disk since it was opened."""
        for file, signature in (self._signatures or {}).items():
            if _signature(file) != signature:
                raise CacheError(
                    f"{file} changed on disk since {self.path} was opened (rewritten, "
                    "truncated or replaced): what it holds now is not what was checked; "
                    "open the cache again"
                )

    def dataset(self, name: str) -> h5py.Dataset:
        f = self.file()
        dataset = self._datasets.get(name)
        if dataset is None:
            dataset = self._datasets[name] = f[name]
            # One sample per chunk, no filters, stored here: read the chunk as it is.
            self._direct[name] = (
                not dataset.is_virtual
                and dataset.chunks == (1, *dataset.shape[1:])
                and dataset.id.get_create_plist().get_nfilters() == 0
            )
        return dataset

    def has(self, name: str) -> bool:
        self.file()
        return name in self._names

    def sample(self, name: str, row: int) -> np.ndarray:
        """Row ``row`` of the image dataset ``name`` (a new array); call
        :meth:`check_unchanged` before handing it out."""
        dataset = self.dataset(name)
        try:
            if not self._direct[name]:
                out = dataset[row]
            else:
                out = np.empty(dataset.shape[1:], dtype=dataset.dtype)
                offset = (row,) + (0,) * (dataset.ndim - 1)
                dataset.id.read_direct_chunk(offset, out=out.reshape(-1).view(np.uint8))
        except OSError as exc:
            raise self.damaged(name, exc) from None
        return out

    def rows(self, name: str, first: int, count: int) -> np.ndarray:
        """Rows ``first`` to ``first + count`` of the image dataset ``name``; call
        :meth:`check_unchanged` before handing them out."""
        try:
            return self.dataset(name)[first : first + count]
        except OSError as exc:
            raise self.damaged(name, exc) from None

    def damaged(self, name: str, exc: OSError) -> CacheError:
        self.check_unchanged()
        return CacheError(f"{self.path}: dataset {name!r} cannot be read ({exc}): a damaged file")

    def pixel_digests(self) -> np.ndarray:
        """The digest of every row's stored pixels, computed from them (once per state)."""
        if self._digests is None:
            n = self.dataset("raw").shape[0]
            has_rgb = self.has("rgb")
            digests = []
            for first in range(0, n, _DIGEST_BLOCK):
                count = min(_DIGEST_BLOCK, n - first)
                raw = self.rows("raw", first, count)
                rgb = self.rows("rgb", first, count) if has_rgb else None
                self.check_unchanged()
                for i in range(count):
                    digests.append(pixel_digest(raw[i], None if rgb is None else rgb[i]))
            self._digests = np.array(digests, dtype=object)
            self._digests.setflags(write=False)
        return self._digests

    def column(self, name: str) -> np.ndarray:
        values = self._columns.get(name)
        if values is None:
            dataset = self.dataset(name)
            try:
                if dataset.dtype == STR:
                    values = dataset.asstr(errors="surrogateescape")[:]
                else:
                    values = dataset[:]
            except OSError as exc:
                raise self.damaged(name, exc) from None
            self.check_unchanged()
            values.setflags(write=False)
            self._columns[name] = values
        return values

    @property
    def attrs(self) -> dict[str, Any]:
        if self._attrs is None:
            self._attrs = {key: attr_value(value) for key, value in self.file().attrs.items()}
        return self._attrs

    def camera(self, row: int) -> CameraParams:
        """The camera of file row ``row``: its record with the file's levels and curves,
        and its stored name (None when unnamed or the cache has no names)."""
        record = self.column("params")[row]
        name = (str(self.column("camera")[row]) or None) if self.has("camera") else None
        key = (record.tobytes(), name)
        params = self._cameras.get(key)
        if params is None:
            attrs = self.attrs
            params = self._cameras[key] = CameraParams(
                rgb2cam=record["rgb2cam"], rgb_gain=float(record["rgb_gain"]),
                red_gain=float(record["red_gain"]), blue_gain=float(record["blue_gain"]),
                cfa=attrs["cfa"], black_level=attrs["black_level"],
                white_level=attrs["white_level"], tone=attrs["tone"], gamma=attrs["gamma"],
                # caches written before this attribute existed held Brooks cameras only
                highlight_blend=bool(attrs.get("highlight_blend", True)), name=name,
            )  # fmt: skip
        return params

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid() and self._file.id.valid:
            self._file.close()
        self._file = None
        self._datasets = {}


#: Rows read at once to compute the pixel digests.
_DIGEST_BLOCK = 32


class CacheReader:
    """Read access to a cache, or to a subset of its samples (a *view*).

    Create it with :func:`open`. A view (``reader.train``, ``reader.test``,
    ``reader.fold(k)``) shares the file of its reader and lists some of its rows,
    in file order. Readers are picklable and open the file lazily, once per
    process, so they can be handed to DataLoader workers.

    Supports ``len(reader)``, ``reader[i]`` (a :class:`Sample`, negative ``i``
    counting from the end) and iteration.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skimage import data
    >>> from rawspace.images import write_png
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("cat", "coffee"):  # two classes of five 32x32 crops
    ...     image = getattr(data, name)()
    ...     (root / "cells" / name).mkdir(parents=True)
    ...     for i in range(5):
    ...         _ = write_png(root / "cells" / name / f"{i}.png", image[40 * i : 40 * i + 32, :32])
    >>> import rawspace.cache
    >>> _ = rawspace.cache.build(root / "cells", root / "cells.h5", size=32, folds=2)
    >>> reader = rawspace.cache.open(root / "cells.h5", rgb=False)
    >>> training, validation = reader.fold(0)
    >>> len(training) + len(validation) == len(reader.train)
    True
    >>> sample = reader.train[0]
    >>> sample.rgb is None, sample.label in (0, 1), reader.layout
    (True, True, 'bayer')
    """

    def __init__(self, handle: _CacheFile, rows: np.ndarray | None = None, *, rgb: bool = True):
        self._handle = handle
        self._rgb = rgb
        if rows is None:
            rows = np.arange(handle.dataset("label").shape[0], dtype=np.int64)
        rows.setflags(write=False)
        self._rows = rows

    # ------------------------------------------------------------ description
    @property
    def path(self) -> Path:
        """The cache file."""
        return self._handle.path

    @property
    def attrs(self) -> dict[str, Any]:
        """The file's attributes as plain Python values (``config`` still JSON text)."""
        return dict(self._handle.attrs)

    @property
    def config(self) -> dict[str, Any]:
        """The resolved configuration the cache was built with."""
        return json.loads(self._handle.attrs["config"])

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names; labels index into them."""
        return tuple(self._handle.attrs["class_names"])

    @property
    def layout(self) -> Layout:
        """Raw layout: ``"bayer"``, ``"packed"`` or ``"linear"``."""
        return self._handle.attrs["layout"]

    @property
    def size(self) -> int:
        """Side S of the square samples, in pixels (of ``rgb`` and of the raw mosaic)."""
        return int(self._handle.attrs["size"])

    @property
    def cfa(self) -> Cfa:
        """Bayer pattern of the raw samples."""
        return self._handle.attrs["cfa"]

    @property
    def black_level(self) -> int:
        """Raw value of black, shared by every sample."""
        return int(self._handle.attrs["black_level"])

    @property
    def white_level(self) -> int:
        """Raw value of saturation, shared by every sample."""
        return int(self._handle.attrs["white_level"])

    @property
    def has_rgb(self) -> bool:
        """Whether samples come with their RGB image."""
        return self._rgb and self._handle.has("rgb")

    @property
    def n_folds(self) -> int:
        """Number of cross-validation folds (0 when built without folds)."""
        return int(self.config["folds"])

    @property
    def rows(self) -> np.ndarray:
        """Rows of the file in this view, increasing (int64, read-only)."""
        return self._rows

    @property
    def labels(self) -> np.ndarray:
        """Label of each sample of the view (int64, shape (len(self),))."""
        return self._handle.column("label")[self._rows]

    @property
    def paths(self) -> list[str]:
        """Relative path of each sample of the view."""
        return self._handle.column("path")[self._rows].tolist()

    @property
    def records(self) -> np.ndarray:
        """Camera and noise record of each sample of the view (:data:`PARAMS_DTYPE`, read-only);
        :meth:`params` and :meth:`invert_args` turn one into arguments of rawspace."""
        return self._handle.column("params")[self._rows]

    @property
    def camera_names(self) -> list[str | None]:
        """Name of each sample's camera in the view (a catalogue camera's or the camera
        file's); None for an unnamed camera (Brooks' mixes) and for every sample of a
        cache written before names were stored."""
        if not self._handle.has("camera"):
            return [None] * len(self._rows)
        return [name or None for name in self._handle.column("camera")[self._rows].tolist()]

    @property
    def groups(self) -> list[str] | None:
        """Group of each sample of the view, or None when the source has no groups."""
        if not self._handle.has("group"):
            return None
        return self._handle.column("group")[self._rows].tolist()

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"<CacheReader {self.path} ({len(self)} samples, {self.layout})>"

    # ---------------------------------------------------------------- samples
    def _row(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        n = len(self._rows)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} samples")
        return int(self._rows[index])

    def __getitem__(self, index: int) -> Sample:
        row = self._row(index)
        handle = self._handle
        raw = handle.sample("raw", row)
        rgb = handle.sample("rgb", row) if self.has_rgb else None
        handle.check_unchanged()  # what was read is what was checked when opened
        return Sample(
            raw=raw,
            rgb=rgb,
            label=int(handle.column("label")[row]),
            path=str(handle.column("path")[row]),
            params=handle.camera(row),
        )

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def params(self, index: int) -> CameraParams:
        """The camera of sample ``index`` (its ``name`` as stored, None when unnamed)."""
        return self._handle.camera(self._row(index))

    def invert_args(self, index: int) -> dict[str, Any]:
        """Arguments that re-create sample ``index`` with :func:`rawspace.invert`.

        ``rawspace.invert(rgb, **reader.invert_args(i)).data`` equals ``reader[i].raw``
        when ``rgb`` is the fitted image the sample was made from (for 8-bit sources,
        ``reader[i].rgb``).

        Returns
        -------
        dict
            ``params`` (CameraParams), ``seed`` (int or None: the noise seed),
            ``noise`` ((shot, read) or None), ``layout`` and ``dtype`` (numpy.uint16).
        """
        row = self._row(index)
        record = self._handle.column("params")[row]
        noisy = not np.isnan(record["noise_shot"])
        return {
            "params": self._handle.camera(row),
            "seed": int(record["noise_seed"]) if record["noise_seed"] >= 0 else None,
            "noise": (float(record["noise_shot"]), float(record["noise_read"])) if noisy else None,
            "layout": self.layout,
            "dtype": np.uint16,
        }

    def read(self, name: Literal["raw", "rgb"], positions: np.ndarray | None = None) -> np.ndarray:
        """Images of several samples of the view, stacked: (n, *sample shape).

        Parameters
        ----------
        name : {"raw", "rgb"}
            The image dataset.
        positions : array_like of int, optional
            Positions in this view (as for ``reader[i]``, no negative values), in any
            order; all samples of the view when None. Runs of consecutive rows are
            read as one slice each.

        Returns
        -------
        numpy.ndarray
            uint16 raw samples or uint8 RGB images, in the order of ``positions``.
        """
        if name not in IMAGES:
            raise ValueError(f"name must be one of {IMAGES}, got {name!r}")
        if name == "rgb" and not self._handle.has("rgb"):
            raise CacheError(f"{self.path} holds no rgb images (built without them)")
        rows = self._rows if positions is None else self._rows[np.asarray(positions, np.int64)]
        dataset = self._handle.dataset(name)
        out = np.empty((len(rows), *dataset.shape[1:]), dtype=dataset.dtype)
        order = np.argsort(rows, kind="stable")
        for position, first, count in runs(rows[order]):
            out[order[position : position + count]] = self._handle.rows(name, first, count)
        self._handle.check_unchanged()  # what was read is what was checked when opened
        return out

    def fingerprint(self) -> str:
        """SHA-256 (hex) of what the samples are: the build configuration, the class names,
        every sample's label, path, split, fold, camera record and camera name (when some
        camera is named), and its stored pixels.

        The pixels enter through the digest of each row, computed from the data as stored
        now (every image is read once per opened cache; see :meth:`verify`). Two caches
        with the same fingerprint hold the same images with the same labels, splits and
        cameras; a cache rebuilt from other images, with another seed, camera policy or
        source, or changed in place, gets another one. Views share their cache's
        fingerprint.

        Raises
        ------
        CacheError
            The file cannot be read or changed on disk while it was read.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import h5py
        >>> from skimage import data
        >>> import rawspace.cache
        >>> from rawspace.images import write_png
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ("cat", "coffee"):
        ...     (root / "cells" / name).mkdir(parents=True)
        ...     for i in range(3):
        ...         crop = getattr(data, name)()[8 * i : 8 * i + 32, :32]
        ...         _ = write_png(root / "cells" / name / f"{i}.png", crop)
        >>> _ = rawspace.cache.build(root / "cells", root / "c.h5", size=32, folds=0)
        >>> before = rawspace.cache.open(root / "c.h5").fingerprint()
        >>> with h5py.File(root / "c.h5", "r+") as f:
        ...     f["raw"][0] = 0
        >>> rawspace.cache.open(root / "c.h5").fingerprint() != before
        True
        """
        digest = hashlib.sha256()
        attrs = self._handle.attrs
        digest.update(name_bytes(attrs["config"]))
        digest.update(json.dumps(list(attrs["class_names"])).encode("utf-8"))
        for name in ("label", "split", "fold", "params"):
            digest.update(np.ascontiguousarray(self._handle.column(name)).tobytes())
        for path in self._handle.column("path"):
            digest.update(name_bytes(path) + b"\0")
        names = self._handle.column("camera") if self._handle.has("camera") else ()
        if any(names):  # unnamed cameras leave the fingerprint as before names were stored
            for name in names:
                digest.update(b"camera:" + name_bytes(name) + b"\0")
        for pixels in self._handle.pixel_digests():
            digest.update(pixels.encode("ascii"))
        return digest.hexdigest()

    def verify(self) -> int:
        """Check the stored pixels of the view's samples against the digests written
        when the cache was built.

        Returns
        -------
        int
            The number of samples checked.

        Raises
        ------
        CacheError
            Some samples' pixels differ from their digests (the message lists the rows),
            the file cannot be read, or the cache has no digests (written before format
            version 2).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import h5py
        >>> from skimage import data
        >>> import rawspace.cache
        >>> from rawspace.images import write_png
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ("cat", "coffee"):
        ...     (root / "cells" / name).mkdir(parents=True)
        ...     for i in range(3):
        ...         crop = getattr(data, name)()[8 * i : 8 * i + 32, :32]
        ...         _ = write_png(root / "cells" / name / f"{i}.png", crop)
        >>> _ = rawspace.cache.build(root / "cells", root / "c.h5", size=32, folds=0)
        >>> rawspace.cache.open(root / "c.h5").verify()
        6
        >>> with h5py.File(root / "c.h5", "r+") as f:
        ...     f["raw"][4] = 0
        >>> rawspace.cache.open(root / "c.h5").verify()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rawspace.cache.format.CacheError: ...c.h5: the stored pixels of 1 of 6 samples differ ...
        """
        if not self._handle.has("digest"):
            raise CacheError(
                f"{self.path} holds no pixel digests (written before format version 2); "
                "rebuild it to verify it"
            )
        stored = self._handle.column("digest")[self._rows]
        computed = self._handle.pixel_digests()[self._rows]
        bad = self._rows[stored != computed]
        if len(bad):
            shown = ", ".join(str(row) for row in bad[:10]) + (", ..." if len(bad) > 10 else "")
            raise CacheError(
                f"{self.path}: the stored pixels of {len(bad)} of {len(self)} samples differ "
                f"from the digests written when it was built (rows {shown}): the file was "
                "changed or damaged; rebuild it"
            )
        return len(self)

    # ------------------------------------------------------------------ views
    def _subset(self, mask: np.ndarray) -> CacheReader:
        return CacheReader(self._handle, self._rows[mask], rgb=self._rgb)

    @property
    def train(self) -> CacheReader:
        """View of the training samples (split 0)."""
        return self._subset(self._handle.column("split")[self._rows] == 0)

    @property
    def test(self) -> CacheReader:
        """View of the test samples (split 1)."""
        return self._subset(self._handle.column("split")[self._rows] == 1)

    def fold(self, k: int) -> tuple[CacheReader, CacheReader]:
        """Cross-validation fold ``k``: (training view, validation view).

        The validation view holds the samples of fold ``k``; the training view the
        other training samples. Test samples are in neither.
        """
        if self.n_folds == 0:
            raise CacheError(f"{self.path} was built without cross-validation folds")
        if (
            isinstance(k, bool)
            or not isinstance(k, (int, np.integer))
            or not (0 <= k < self.n_folds)
        ):
            raise IndexError(f"fold must be an int in [0, {self.n_folds}), got {k!r}")
        split = self._handle.column("split")[self._rows]
        fold = self._handle.column("fold")[self._rows]
        return self._subset((split == 0) & (fold != k)), self._subset(fold == k)

    # -------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Close the file handle of this process (reopened on the next access)."""
        self._handle.close()

    def __enter__(self) -> CacheReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(path: str | os.PathLike[str], *, rgb: bool = True) -> CacheReader:
    """Open a cache for reading.

    Parameters
    ----------
    path : path
        A cache written by :func:`build` or :func:`merge`.
    rgb : bool, default True
        Read the RGB images with the samples (when stored); False skips them
        (``Sample.rgb`` is None), which is faster for raw-only training.

    Returns
    -------
    CacheReader
        Over every sample of the file. The file is opened now to check it, and
        reopened lazily in other processes.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    CacheError
        ``path`` is not a complete rawspace cache (empty, truncated or not HDF5; a
        dataset or attribute missing or of the wrong dtype, shape or length; labels,
        splits, folds or cameras out of range; image rows not stored), a shard file
        of a merged cache is missing, or ``path`` (or the cache whose partial file
        ``path`` is) is being built now. The message names the file and the field.
        Later reads raise it too when a file of the cache changed on disk since it
        was opened (rewritten or truncated in place) or cannot be read.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skimage import data
    >>> from rawspace.images import write_png
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("cat", "coffee"):  # two classes of five 32x32 crops
    ...     image = getattr(data, name)()
    ...     (root / "cells" / name).mkdir(parents=True)
    ...     for i in range(5):
    ...         _ = write_png(root / "cells" / name / f"{i}.png", image[40 * i : 40 * i + 32, :32])
    >>> import rawspace.cache
    >>> _ = rawspace.cache.build(root / "cells", root / "cells.h5", size=32, folds=2)
    >>> with rawspace.cache.open(root / "cells.h5") as reader:
    ...     print(len(reader), reader.class_names, reader[0].raw.dtype, reader[0].raw.shape)
    ...     print(len(reader.train), len(reader.test), reader.read("rgb", [0, 1]).shape)
    10 ('cat', 'coffee') uint16 (32, 32)
    8 2 (2, 32, 32, 3)
    """
    handle = _CacheFile(Path(path))
    handle.file()
    return CacheReader(handle, rgb=rgb)


# ----------------------------------------------------------------------- summary
def _size_text(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")


def _stored_bytes(f: h5py.File, path: Path) -> tuple[int, str]:
    """Bytes on disk of the image data (the shards' for a virtual merge), and a description."""
    if not f["raw"].is_virtual:
        total = sum(f[name].id.get_storage_size() for name in IMAGES if name in f)
        return total, "stored in this file"
    files = {s.file_name for s in f["raw"].virtual_sources()}
    total = 0
    for name in files:
        file = Path(name) if Path(name).is_absolute() else path.parent / name
        with h5py.File(file, "r") as g:
            total += sum(g[k].id.get_storage_size() for k in IMAGES if k in g)
    return total, f"virtual, read from {len(files)} shard file(s): {', '.join(sorted(files))}"


def summary(path: str | os.PathLike[str]) -> str:
    """A readable description of a cache: source, classes, layout, cameras, splits, storage.

    Parameters
    ----------
    path : path
        A cache written by :func:`build` or :func:`merge` (or a shard).

    Returns
    -------
    str
        Several lines of text, without a trailing newline.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skimage import data
    >>> from rawspace.images import write_png
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("cat", "coffee"):  # two classes of five 32x32 crops
    ...     image = getattr(data, name)()
    ...     (root / "cells" / name).mkdir(parents=True)
    ...     for i in range(5):
    ...         _ = write_png(root / "cells" / name / f"{i}.png", image[40 * i : 40 * i + 32, :32])
    >>> import rawspace.cache
    >>> _ = rawspace.cache.build(root / "cells", root / "cells.h5", size=32, folds=2)
    >>> for line in rawspace.cache.summary(root / "cells.h5").splitlines()[-3:]:
    ...     print(line.strip())
    class    total   train    test
    cat          5       4       1
    coffee       5       4       1
    """
    reader = open(path)
    try:
        attrs = reader.attrs
        config = reader.config
        f = reader._handle.file()
        n = len(reader)
        labels = reader._handle.column("label")
        split = reader._handle.column("split")
        names = set(reader.camera_names) - {None}
        fold = reader._handle.column("fold")
        stored, storage = _stored_bytes(f, reader.path)
        raw_shape = f["raw"].shape
        rgb_text = f"; rgb uint8 {f['rgb'].shape}" if "rgb" in f else "; no rgb"
    finally:
        reader.close()
    file_size = os.path.getsize(reader.path)
    cameras = config["cameras"]
    noise = attrs["noise"] + ("" if attrs["noise"] == "none" else f" (per {attrs['noise_per']})")
    fixed = " (fixed camera)" if cameras["camera"] is not None else ""
    lines = [
        f"{reader.path}: rawspace cache, {n} samples"
        + (f" (shard {attrs['shard']})" if "shard" in attrs else ""),
        f"  created      {attrs['created']} with rawspace {attrs['rawspace_version']} "
        f"(format {attrs['format_version']})",
        f"  source       {attrs['source']} ({attrs['source_format']}"
        + (f", labels {config['labels']}, UNC {config['unc']}" if config["labels"] else "")
        + f"): {attrs['n_listed']} listed, {attrs['n_failed']} failed"
        + (f", {attrs['n_dropped']} dropped as UNC" if attrs["n_dropped"] else ""),
        f"  layout       {attrs['layout']} uint16 {raw_shape}{rgb_text}; "
        f"fit {config['fit']} to {attrs['size']}x{attrs['size']}",
        f"  cameras      per {attrs['camera_policy']}{fixed}: {attrs['n_cameras']} distinct"
        + (f" ({len(names)} named)" if names else "")
        + "; "
        f"CFA {attrs['cfa']}, levels {attrs['black_level']}..{attrs['white_level']}, "
        f"tone {attrs['tone']}, gamma {attrs['gamma']}; noise {noise}; seed {attrs['seed']}",
        f"  splits       train {int(np.sum(split == 0))}, test {int(np.sum(split == 1))} "
        f"(test fraction {config['test_fraction']})",
    ]
    if config["folds"]:
        sizes = np.bincount(fold[fold >= 0], minlength=config["folds"])
        lines.append(f"  folds        {config['folds']}: {', '.join(str(s) for s in sizes)}")
    else:
        lines.append("  folds        none")
    per_sample = f", {_size_text(stored / n)} per sample" if n else ""
    lines.append(
        f"  storage      compression {attrs['compression']}, image data {_size_text(stored)}"
        f"{per_sample} ({storage}); file {_size_text(file_size)}"
    )
    names = attrs["class_names"]
    width = max([len("class"), *(len(name) for name in names)])
    lines.append(f"  classes ({len(names)}):")
    lines.append(f"    {'class':<{width}}  {'total':>6}  {'train':>6}  {'test':>6}")
    for index, name in enumerate(names):
        mine = labels == index
        lines.append(
            f"    {name:<{width}}  {int(mine.sum()):>6}  {int((mine & (split == 0)).sum()):>6}"
            f"  {int((mine & (split == 1)).sum()):>6}"
        )
    return "\n".join(lines)
