"""Convert image files to simulated raw files: one ``.npy`` or ``.dng`` per image.

:func:`convert` reads an image, a folder of images (searched recursively) or a
text file listing images, turns each into raw with the camera that a
:class:`~rawspace.cameras.CameraAssigner` gives it, and writes the result under
an output folder that mirrors the input tree. Next to every output ``X.npy``
(or ``X.dng``) it writes ``X.json``: the relative path, the source, the camera
parameters, the noise levels and seed, and the options, which is enough to
re-create the output exactly with :func:`rawspace.invert`; :func:`read_output`
reads an output back, checked against its JSON.

Guarantees
----------
- Each output is a pure function of (seed, relative path, group, options), so
  the same seed gives byte-identical files whatever the number of processes.
- Files are written atomically (a temporary file in the same folder, then
  ``os.replace``), data first and JSON last: a JSON means a complete output.
- Identity by content: the JSON records the :func:`~rawspace.files.file_digest`
  of the input's bytes. A rerun skips outputs whose data and JSON both exist and
  whose input still has that digest (unless ``overwrite``); it redoes those whose
  input changed (logged as "changed since last conversion: redone"), removing the
  earlier output if the changed input fails; and it reports those whose JSON
  records other options (seed, cameras, layout, format, ...) as failures rather
  than mixing two conversions in one folder.
- Multi-page images are refused (listed as failures) unless ``page`` chooses one.
- Inputs are only read, and never written over: no output may be an input or
  lie inside an input folder (:func:`rawspace.files.check_outputs`). Every
  failure (an image that cannot be read or converted, a folder that cannot be
  listed) is listed in ``OUTPUT/failures.csv`` (columns ``path,reason``); a run
  without failures removes a stale one.
- A write that fails (a full disk, no permission) stops the conversion with a
  :class:`rawspace.files.WriteError`: it is not a bad input. The outputs
  written before it are complete, and a rerun skips them.
- File names that are not UTF-8 are kept (see :mod:`rawspace.files`): sidecars
  and ``failures.csv`` hold their bytes as they are.

Relative paths and groups
-------------------------
For a folder, an image's relative path is its path below the folder; for a list
file (or a sequence of paths) it is the path below the deepest folder common to
all entries; for a single file it is the file name. The *group* of an image (for
``camera_per="group"`` and ``noise_per="group"``) is the first folder of its
relative path (for example the class folder), or ``"."`` for images at the top.
Folders are searched with :func:`rawspace.files.find_images`: hidden names
(starting with ``"."``) are skipped, links are followed, and no folder is searched
twice.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from ._checks import check_choice
from ._version import __version__
from .cameras import CameraAssigner
from .files import (
    IMAGE_SUFFIXES,
    WriteError,
    atomic_path,
    bytes_digest,
    check_outputs,
    file_digest,
    find_images,
    make_folder,
    printable,
    write_error,
    write_text,
)
from .hints import FILE_FORMATS, SAMPLE_TYPES, FileFormat, SampleType
from .images import ImageError, decode_image, fit_image
from .options import ConversionOptions, check_count, with_overrides
from .params import CameraParams
from .processes import one_job_here, shared_with_workers, worker_pool
from .rawimage import RawImage
from .rawio import RawFileError, read_raw, write_dng

if TYPE_CHECKING:
    from typing import Unpack

    from .options import ConversionKeywords

__all__ = [
    "FAILURES_NAME",
    "TOP_GROUP",
    "ConvertItem",
    "ConvertOptions",
    "ConvertReport",
    "Inputs",
    "convert",
    "find_inputs",
    "read_output",
]

#: Name of the failure list written into the output folder.
FAILURES_NAME = "failures.csv"
#: Group of the images at the top of the input tree (not in any folder).
TOP_GROUP = "."

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConvertItem:
    """One input image: its file, its path relative to the input root, and its group."""

    source: Path
    relpath: str
    group: str


@dataclass
class Inputs:
    """What :func:`find_inputs` found: the images, and the folders that could not be listed.

    Attributes
    ----------
    items : list of ConvertItem
    unreadable : list of (pathlib.Path, str)
        Folders that could not be listed, with the reason.
    """

    items: list[ConvertItem]
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class ConvertReport:
    """What :func:`convert` did (or, for a dry run, would do).

    Attributes
    ----------
    output : pathlib.Path
        The output folder.
    converted : int
        Images written (for a dry run: 0; see ``planned``).
    skipped : int
        Images whose outputs existed with the same options and the same input content.
    redone : int
        Images attempted again (for a dry run: to be) because their input changed
        since the output was made (see :func:`rawspace.files.file_digest`), or its
        sidecar, from an older version, records no digest.
    failures : list of (str, str)
        ``(source path, reason)`` of every input that failed (an image, or a folder
        that could not be listed), sorted by path.
    planned : list of (str, str)
        ``(source path, data file)`` of every image attempted (for a dry run: to be
        attempted); skipped images and clashing outputs are not in it.
    seconds : float
        Wall time of the conversion.
    dry_run : bool
        True when nothing was written.
    """

    output: Path
    converted: int = 0
    skipped: int = 0
    redone: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    planned: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def failed(self) -> int:
        """Number of inputs that failed."""
        return len(self.failures)

    @property
    def images_per_second(self) -> float:
        """Converted images per second of wall time (0 when nothing was converted)."""
        return self.converted / self.seconds if self.converted and self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: converted, skipped, failed, throughput, and how many inputs changed."""
        redone = f"; {self.redone} changed since last conversion: redone" if self.redone else ""
        if self.dry_run:
            return (
                f"dry run: would convert {len(self.planned)}, skip {self.skipped}, "
                f"fail {self.failed}{redone}"
            )
        return (
            f"converted {self.converted}, skipped {self.skipped}, failed {self.failed} "
            f"in {self.seconds:.1f} s ({self.images_per_second:.1f} images/s){redone}"
        )


# ---------------------------------------------------------------------- discovery
def _group_of(relpath: str) -> str:
    parts = PurePosixPath(relpath).parts
    return parts[0] if len(parts) > 1 else TOP_GROUP


def _search_folder(folder: Path) -> Inputs:
    listing = find_images(folder)
    items = []
    for path, relpath in zip(listing.files, listing.relpaths, strict=True):
        items.append(ConvertItem(path, relpath, _group_of(relpath)))
    return Inputs(items, listing.unreadable)


def _read_list(list_file: Path) -> list[Path]:
    try:
        text = list_file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(
            f"INPUT {list_file} is neither an image ({', '.join(IMAGE_SUFFIXES)}) "
            "nor a UTF-8 text file listing image paths"
        ) from None
    paths = []
    for line in text.splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            path = Path(entry).expanduser()
            paths.append(path if path.is_absolute() else list_file.parent / path)
    return paths


def _items_from_paths(paths: Sequence[Path]) -> list[ConvertItem]:
    """Items for explicit paths: relative to their deepest common folder, duplicates dropped."""
    absolute = list(dict.fromkeys(Path(os.path.abspath(p)) for p in paths))
    if not absolute:
        return []
    root = Path(os.path.commonpath([p.parent for p in absolute]))
    items = []
    for path in absolute:
        relpath = path.relative_to(root).as_posix()
        items.append(ConvertItem(path, relpath, _group_of(relpath)))
    return items


def find_inputs(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> Inputs:
    """The images named by ``inputs``, with relative paths and groups.

    Parameters
    ----------
    inputs : path or sequence of paths
        An image file; a folder (searched recursively for :data:`IMAGE_SUFFIXES`,
        case-insensitive, hidden names skipped, sorted by relative path); a text file
        listing image paths (one per line, relative to the list file; blank lines and
        lines starting with ``#`` skipped); or a sequence of image paths.

    Returns
    -------
    Inputs
        The items, and the folders that could not be listed. Listed paths are not
        checked for existence here: missing ones fail later, with the other
        unreadable files.

    Raises
    ------
    FileNotFoundError
        ``inputs`` (a single path) does not exist.
    ValueError
        ``inputs`` is a file that is neither an image nor a text list.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("blast/1.png", "blast/sub/2.tif", "top.jpg"):
    ...     (root / name).parent.mkdir(parents=True, exist_ok=True)
    ...     _ = (root / name).write_bytes(b"")
    >>> [(item.relpath, item.group) for item in find_inputs(root).items]
    [('blast/1.png', 'blast'), ('blast/sub/2.tif', 'blast'), ('top.jpg', '.')]
    """
    if not isinstance(inputs, (str, os.PathLike)):
        return Inputs(_items_from_paths([Path(p) for p in inputs]))
    path = Path(inputs)
    if path.is_dir():
        return _search_folder(path)
    if not path.is_file():
        raise FileNotFoundError(f"INPUT not found: {path}")
    if path.name.lower().endswith(IMAGE_SUFFIXES):
        return Inputs([ConvertItem(path, path.name, TOP_GROUP)])
    return Inputs(_items_from_paths(_read_list(path)))


# ------------------------------------------------------------------------ writing
def _write_npy(path: Path, data: np.ndarray) -> None:
    with atomic_path(path) as temporary, open(temporary, "xb") as f:
        np.save(f, data, allow_pickle=False)


def _write_failures(output: Path, failures: list[tuple[str, str]]) -> None:
    path = output / FAILURES_NAME
    if not failures:
        path.unlink(missing_ok=True)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "reason"])
    writer.writerows(failures)
    make_folder(output)
    write_text(path, buffer.getvalue())


# ------------------------------------------------------------------------ options
@dataclass(frozen=True)
class ConvertOptions(ConversionOptions):
    """The options of :func:`convert`: the shared :class:`~rawspace.options.ConversionOptions`
    and those of ``convert`` alone, validated when made.

    Attributes
    ----------
    file_format : {"npy", "dng"}
        ``.npy`` arrays, or DNG files through :func:`rawspace.rawio.write_dng`:
        uint16 Bayer planes (packed images are stored as their mosaic) of at least
        22×22 pixels; ``"linear"`` layouts are npy only.
    dtype : {"uint16", "float32"}
        Sample type of npy outputs (DNG is always uint16); a NumPy type is
        accepted and kept as its name.
    jobs : int
        Processes that convert, Numba single-threaded: this one and ``jobs - 1``
        spawned workers; 1 converts in-process.
    overwrite : bool
        Redo outputs that exist.
    dry_run : bool
        Only plan: write nothing (``report.planned`` lists the work).
    progress : bool
        Show a progress bar on stderr.

    Examples
    --------
    >>> ConvertOptions(size=32, dtype="float32").dtype
    'float32'
    >>> ConvertOptions(file_format="dng", layout="linear")
    Traceback (most recent call last):
    ...
    ValueError: format 'dng' stores a Bayer mosaic: layout 'linear' cannot be written
    """

    file_format: FileFormat = "npy"
    dtype: SampleType = "uint16"
    jobs: int = 1
    overwrite: bool = False
    dry_run: bool = False
    progress: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("format", self.file_format, FILE_FORMATS)
        try:
            dtype = np.dtype(self.dtype).name
        except TypeError:
            raise ValueError(f"dtype must be one of {SAMPLE_TYPES}, got {self.dtype!r}") from None
        check_choice("dtype", dtype, SAMPLE_TYPES)
        object.__setattr__(self, "dtype", dtype)
        if self.file_format == "dng" and self.layout == "linear":
            raise ValueError(
                "format 'dng' stores a Bayer mosaic: layout 'linear' cannot be written"
            )
        if self.file_format == "dng" and dtype != "uint16":
            raise ValueError(f"format 'dng' stores uint16 samples, got dtype {dtype!r}")
        object.__setattr__(self, "jobs", check_count("jobs", self.jobs, low=1))

    def recorded(self, assigner: CameraAssigner) -> dict[str, Any]:
        """The options recorded in every sidecar; a rerun skips only outputs made with these."""
        return {
            "layout": self.layout,
            "dtype": self.dtype,
            "format": self.file_format,
            "size": self.size,
            "fit": self.fit,
            "page": self.page,
            "cameras": assigner.to_dict(),
        }


if TYPE_CHECKING:

    class ConvertKeywords(ConversionKeywords, total=False):
        """The keyword arguments of :func:`convert`: the fields of :class:`ConvertOptions`."""

        file_format: FileFormat
        dtype: SampleType | type | np.dtype[Any]
        jobs: int
        overwrite: bool
        dry_run: bool
        progress: bool


# ---------------------------------------------------------------------- one image
@dataclass(frozen=True)
class _Settings:
    """Everything a worker needs besides the item; picklable."""

    options: ConvertOptions
    assigner: CameraAssigner


@dataclass(frozen=True)
class _Task:
    item: ConvertItem
    data_path: Path
    json_path: Path
    changed: str = ""  # why an earlier output (of another version of the input) is redone


def _sidecar(settings: _Settings, task: _Task, digest: str, rgb: np.ndarray, raw: RawImage) -> str:
    item, options = task.item, settings.options
    record = {
        "rawspace_version": __version__,
        "relpath": item.relpath,
        "group": item.group,
        "source": os.path.abspath(item.source),
        "source_digest": digest,
        "source_shape": list(rgb.shape),
        "source_dtype": str(rgb.dtype),
        "output": task.data_path.name,
        "options": options.recorded(settings.assigner),
        "shape": list(raw.data.shape if options.file_format == "npy" else raw.shape),
        "params": raw.params.to_dict(),
        "camera_seed": settings.assigner.camera_seed_for(item.relpath, item.group),
        "noise": list(raw.noise) if raw.noise is not None else None,
        "noise_seed": raw.seed,
    }
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def _convert_one(settings: _Settings, task: _Task) -> str | None:
    """Convert one image; return None on success, else the reason it failed.

    The input is hashed before it is read, so an input that changes meanwhile is
    redone by the next run. When a changed input fails, its earlier output is
    removed (the sidecar first): no output describes another version of an input.
    A failed write is not the image's fault: it raises :class:`WriteError`.
    """
    item, options = task.item, settings.options
    try:
        data = item.source.read_bytes()
        digest = bytes_digest(data)  # of the very bytes converted
        rgb = decode_image(data, page=options.page, path=item.source)
        fitted = fit_image(rgb, options.size, fit=options.fit)
        raw = settings.assigner.invert(
            fitted, item.relpath, item.group, layout=options.layout, dtype=np.dtype(options.dtype)
        )
        if options.file_format == "npy":
            _write_npy(task.data_path, raw.data)
        else:
            description = f"rawspace convert of {printable(item.relpath)}"  # text, not bytes
            write_dng(raw, task.data_path, description=description)
        write_text(task.json_path, _sidecar(settings, task, digest, rgb, raw))
    except WriteError:
        raise
    except Exception as exc:  # one bad input must not stop a batch: report it and go on
        if task.changed:
            _remove(task.json_path, task.data_path)
        if isinstance(exc, ImageError):
            return exc.reason
        if isinstance(exc, FileNotFoundError):
            return "file not found"
        return f"{type(exc).__name__}: {exc}"
    return None


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise write_error(path, exc) from None


def _convert_chunk(settings: _Settings, tasks: list[_Task]) -> list[str | None]:
    """Convert a chunk of tasks: the failure reason of each, or None."""
    return [_convert_one(settings, task) for task in tasks]


def _run_tasks(
    settings: _Settings, tasks: list[_Task], bar: tqdm
) -> Iterator[tuple[_Task, str | None]]:
    """Yield ``(task, failure reason or None)`` in task order: in-process, or in this
    process and ``jobs - 1`` workers (see :func:`rawspace.processes.shared_with_workers`)."""
    jobs = settings.options.jobs
    if jobs == 1:
        for task in tasks:
            yield task, _convert_one(settings, task)
            bar.update(1)
        return
    chunk = max(1, min(16, len(tasks) // (4 * jobs)))
    chunks = [tasks[i : i + chunk] for i in range(0, len(tasks), chunk)]
    with worker_pool(jobs - 1) as pool, one_job_here():
        results = shared_with_workers(
            chunks,
            here=lambda part: _convert_chunk(settings, part),
            there=lambda part, _: pool.apply_async(_convert_chunk, (settings, part)),
            slots=_IN_FLIGHT * (jobs - 1),
        )
        for part, (_, reasons) in zip(chunks, results, strict=True):
            yield from zip(part, reasons, strict=True)
            bar.update(len(part))


#: Chunks in flight per worker process.
_IN_FLIGHT = 2


# ------------------------------------------------------------------------ reading
def _sidecar_record(json_path: Path) -> dict[str, Any]:
    try:
        text = json_path.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise RawFileError(
            f"{printable(json_path)} not found: a convert output X.npy is read with its X.json"
        ) from None
    except OSError as exc:
        raise RawFileError(f"{printable(json_path)}: cannot be read ({exc.strerror})") from None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise RawFileError(f"{printable(json_path)}: not a JSON file ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("options"), dict):
        raise RawFileError(f"{printable(json_path)}: not the sidecar of a convert output")
    return record


def read_output(path: str | os.PathLike[str]) -> RawImage:
    """Read an output of :func:`convert`: an ``X.npy`` with its ``X.json``, or an ``X.dng``.

    Everything is checked against the sidecar: the camera, the layout, the sample
    type and the array's shape.

    Parameters
    ----------
    path : path
        ``X.npy`` or its sidecar ``X.json`` (the data file it names is read); any
        other file (a DNG, a camera's raw file) is read with :func:`rawspace.read_raw`.

    Returns
    -------
    RawImage
        The samples as written (uint16 or float32), with the camera, layout, noise
        levels and seed recorded in the sidecar.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    rawspace.RawFileError
        The sidecar is missing, unreadable or not a convert sidecar, or the data
        disagree with it (the message names the file and what is wrong).

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from rawspace.images import write_png
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = write_png(folder / "a.png", np.full((16, 16, 3), 90, np.uint8))
    >>> _ = convert(folder / "a.png", folder / "out", size=16, layout="packed")
    >>> raw = read_output(folder / "out" / "a.npy")
    >>> raw.layout, raw.data.shape, raw.data.dtype
    ('packed', (8, 8, 4), dtype('uint16'))
    """
    path = Path(path)
    if path.suffix.lower() not in (".npy", ".json"):
        return read_raw(path)
    if not path.exists():
        raise FileNotFoundError(f"file not found: {printable(path)}")
    json_path = path.with_suffix(".json")
    record = _sidecar_record(json_path)
    options = record["options"]
    name = record.get("output", path.name)
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name:
        raise RawFileError(f"{printable(json_path)}: invalid sidecar (output {name!r})")
    data_path = json_path.with_name(name)
    if options.get("format") == "dng":
        return read_raw(data_path)
    try:
        data = np.load(data_path, allow_pickle=False)
    except Exception as exc:  # numpy raises many types for damaged files
        raise RawFileError(
            f"{printable(data_path)}: not a readable .npy file ({type(exc).__name__}: {exc})"
        ) from None
    wanted = (record.get("shape"), options.get("dtype"))
    if [list(data.shape), data.dtype.name] != list(wanted):
        raise RawFileError(
            f"{printable(data_path)}: holds {data.dtype.name} {list(data.shape)} but "
            f"{json_path.name} records {wanted[1]} {wanted[0]}"
        )
    noise = record.get("noise")
    try:
        return RawImage(
            data,
            CameraParams.from_dict(record["params"]),
            layout=options["layout"],
            noise=(float(noise[0]), float(noise[1])) if noise is not None else None,
            seed=record.get("noise_seed"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RawFileError(f"{printable(json_path)}: invalid sidecar ({exc})") from None


# ------------------------------------------------------------------------ planning
def _check_outputs(
    inputs: Any, camera: Path | None, items: list[ConvertItem], output: Path, tasks: list[_Task]
) -> None:
    """Refuse an OUTPUT that is not a folder, or outputs onto, into or over an input."""
    if output.exists() and not output.is_dir():
        raise ValueError(f"OUTPUT {output} exists and is not a folder")
    given = [inputs] if isinstance(inputs, (str, os.PathLike)) else []
    check_outputs(
        [output, output / FAILURES_NAME, *(p for t in tasks for p in (t.data_path, t.json_path))],
        [*given, *([camera] if camera is not None else []), *(item.source for item in items)],
    )


@dataclass(frozen=True)
class _Recorded:
    """What an earlier run's sidecar says: its options and the digest of its input."""

    options: dict[str, Any]
    digest: str | None


def _recorded(json_path: Path) -> _Recorded | None:
    """The sidecar's record; None when there is none or it cannot be read (then the output
    is made again)."""
    try:
        record = json.loads(json_path.read_text(encoding="utf-8", errors="surrogateescape"))
    except (OSError, ValueError):
        return None
    options = record.get("options") if isinstance(record, dict) else None
    if not isinstance(options, dict):
        return None
    digest = record.get("source_digest")
    return _Recorded(options, digest if isinstance(digest, str) else None)


def _unchanged(source: Path, digest: str) -> bool:
    """Whether ``source`` still holds the bytes hashed as ``digest`` (False if unreadable)."""
    try:
        return file_digest(source) == digest
    except OSError:
        return False


def _plan(
    items: list[ConvertItem], output: Path, settings: _Settings
) -> tuple[list[_Task], int, list[tuple[str, str]]]:
    """Split items into tasks to run, a count of outputs to skip, and failures.

    An output is skipped when its data file exists and its sidecar records the same
    options and the digest of the input as it is now; one whose input changed is
    redone (a task whose ``changed`` says why), as is one whose sidecar records no digest.
    """
    options = settings.options
    suffix = f".{options.file_format}"
    targets = [output / PurePosixPath(item.relpath).with_suffix(suffix) for item in items]
    owners: dict[Path, list[str]] = {}
    for item, target in zip(items, targets, strict=True):
        owners.setdefault(target, []).append(item.relpath)
    wanted = options.recorded(settings.assigner)
    tasks, skipped, failures = [], 0, []
    for item, target in zip(items, targets, strict=True):
        json_path = target.with_suffix(".json")
        if len(owners[target]) > 1:
            others = ", ".join(owners[target])
            failures.append(
                (str(item.source), f"output {target.name} would be written by {others}")
            )
            continue
        recorded = None if options.overwrite else _recorded(json_path)
        if recorded is None:
            tasks.append(_Task(item, target, json_path))
            continue
        changed = sorted(k for k in wanted if recorded.options.get(k) != wanted[k])
        if changed:
            failures.append((
                str(item.source),
                f"{json_path.name} describes an output made with other {', '.join(changed)}; "
                "use overwrite to replace it",
            ))  # fmt: skip
        elif not target.is_file():
            tasks.append(_Task(item, target, json_path))
        elif recorded.digest is None:  # a sidecar of a version that recorded no digest
            why = "no digest of its input recorded: redone"
            tasks.append(_Task(item, target, json_path, changed=why))
        elif _unchanged(item.source, recorded.digest):
            skipped += 1
        else:
            why = "changed since last conversion: redone"
            tasks.append(_Task(item, target, json_path, changed=why))
    return tasks, skipped, failures


def convert(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    options: ConvertOptions | None = None,
    **overrides: Unpack[ConvertKeywords],
) -> ConvertReport:
    """Convert images to raw files under ``output``, mirroring the input tree.

    Parameters
    ----------
    inputs : path or sequence of paths
        An image, a folder or a list file (see :func:`find_inputs`).
    output : path
        Output folder (created). No output may be an input (an image, the list file,
        the camera file) or lie inside an input folder.
    options : ConvertOptions, optional
        The options (default: ``ConvertOptions()``).
    **overrides
        Fields of :class:`ConvertOptions` replacing those of ``options``: ``layout``,
        ``camera``, ``camera_per``, ``noise``, ``noise_per``, ``seed``, ``size``
        (default 400), ``fit``, ``page`` (see :class:`~rawspace.options.ConversionOptions`)
        and ``file_format``, ``dtype``, ``jobs``, ``overwrite``, ``dry_run``,
        ``progress``.

    Returns
    -------
    ConvertReport

    Raises
    ------
    FileNotFoundError
        ``inputs`` or the camera file does not exist.
    TypeError
        ``options`` is not a :class:`ConvertOptions`, or an override is no field of it.
    ValueError
        An option is invalid (the message names it and the value), or no image was found.
    rawspace.files.OutputError
        An output would be written onto, into or over an input (a ValueError).
    rawspace.files.WriteError
        An output cannot be written (a full disk, no permission). The outputs
        written before are complete; a rerun skips them.

    Notes
    -----
    A rerun skips an output whose sidecar records the same options and the
    :func:`~rawspace.files.file_digest` of its input as it is now; an output whose
    input changed is redone (``report.redone``; logged as "changed since last
    conversion: redone"). A dry run reads the inputs that have outputs, to hash them.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from pathlib import Path
    >>> from rawspace.images import write_png
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "in" / "cells").mkdir(parents=True)
    >>> _ = write_png(folder / "in" / "cells" / "a.png", np.full((20, 20, 3), 128, np.uint8))
    >>> report = convert(folder / "in", folder / "out", size=16)
    >>> report.converted, sorted(p.name for p in (folder / "out" / "cells").iterdir())
    (1, ['a.json', 'a.npy'])
    >>> convert(folder / "in", folder / "out", ConvertOptions(size=16)).skipped
    1
    """
    options = with_overrides(ConvertOptions, options, dict(overrides))
    camera = options.camera_params()
    assigner = CameraAssigner(
        options.camera_per,
        seed=options.seed,
        camera=camera,
        noise=options.noise,
        noise_per=options.noise_per,
        cameras=options.cameras,
    )
    output = Path(output)
    found = find_inputs(inputs)
    items = found.items
    if not items and not found.unreadable:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in INPUT {inputs}")
    settings = _Settings(options, assigner)

    start = time.perf_counter()
    tasks, skipped, failures = _plan(items, output, settings)
    _check_outputs(inputs, options.camera_file, items, output, tasks)
    failures += [(str(path), f"folder cannot be read: {why}") for path, why in found.unreadable]
    for source, reason in failures:
        _log.info("failed %s: %s", printable(source), reason)
    report = ConvertReport(output=output, skipped=skipped, dry_run=options.dry_run)
    report.planned = [(str(t.item.source), str(t.data_path)) for t in tasks]
    report.redone = sum(bool(task.changed) for task in tasks)
    for task in tasks:
        if task.changed:
            _log.warning("%s: %s", printable(task.item.source), task.changed)
    if options.dry_run:
        report.failures = sorted(failures)
        return report

    for folder in sorted({task.data_path.parent for task in tasks}):
        make_folder(folder)
    with tqdm(
        total=len(tasks),
        disable=not options.progress,
        file=sys.stderr,
        unit="img",
        desc="convert",
    ) as bar:
        for task, problem in _run_tasks(settings, tasks, bar):
            if problem is None:
                report.converted += 1
                _log.info(
                    "converted %s -> %s", printable(task.item.source), printable(task.data_path)
                )
            else:
                failures.append((str(task.item.source), problem))
                _log.info("failed %s: %s", printable(task.item.source), printable(problem))
    report.failures = sorted(failures)
    report.seconds = time.perf_counter() - start
    _write_failures(output, report.failures)
    return report
