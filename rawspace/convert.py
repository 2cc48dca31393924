"""Convert image files to simulated raw files: one ``.npy`` or ``.dng`` per image.

:func:`convert` reads an image, a folder of images (searched recursively) or a
text file listing images, turns each into raw with the camera that a
:class:`~rawspace.cameras.CameraAssigner` gives it, and writes the result under
an output folder that mirrors the input tree. Next to every output ``X.npy``
(or ``X.dng``) it writes ``X.json``: the relative path, the source, the camera
parameters, the noise levels and seed, and the options, which is enough to
re-create the output exactly with :func:`rawspace.invert`.

Guarantees
----------
- Each output is a pure function of (seed, relative path, group, options), so
  the same seed gives byte-identical files whatever the number of processes.
- Files are written atomically (a temporary file in the same folder, then
  ``os.replace``), data first and JSON last: a JSON means a complete output.
  A rerun skips outputs whose data and JSON both exist (unless ``overwrite``),
  and reports those whose JSON records other options (seed, cameras, layout,
  format, ...) as failures rather than mixing two conversions in one folder.
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
from typing import Any

import numpy as np
from tqdm import tqdm

from ._checks import check_choice
from ._version import __version__
from .cameras import CameraAssigner, load_camera
from .files import (
    IMAGE_SUFFIXES,
    WriteError,
    atomic_path,
    check_outputs,
    find_images,
    make_folder,
    printable,
    write_text,
)
from .hints import (
    CAMERA_POLICIES,
    FILE_FORMATS,
    FITS,
    LAYOUTS,
    SAMPLE_TYPES,
    CameraPolicy,
    FileFormat,
    Fit,
    Layout,
    NoiseModel,
    SampleType,
)
from .images import MIN_SIDE, ImageError, fit_image, read_image
from .params import CameraParams
from .processes import worker_pool
from .rawimage import RawImage
from .rawio import write_dng

__all__ = [
    "FAILURES_NAME",
    "TOP_GROUP",
    "ConvertItem",
    "ConvertReport",
    "Inputs",
    "convert",
    "find_inputs",
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
        Images whose outputs existed with the same options.
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
        """One line: converted, skipped, failed and throughput."""
        if self.dry_run:
            return (
                f"dry run: would convert {len(self.planned)}, skip {self.skipped}, "
                f"fail {self.failed}"
            )
        return (
            f"converted {self.converted}, skipped {self.skipped}, failed {self.failed} "
            f"in {self.seconds:.1f} s ({self.images_per_second:.1f} images/s)"
        )


# ---------------------------------------------------------------------- discovery
def _group_of(relpath: str) -> str:
    parts = PurePosixPath(relpath).parts
    return parts[0] if len(parts) > 1 else TOP_GROUP


def _search_folder(folder: Path) -> Inputs:
    listing = find_images(folder)
    items = []
    for path in listing.files:
        relpath = path.relative_to(folder).as_posix()
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


# ---------------------------------------------------------------------- one image
@dataclass(frozen=True)
class _Settings:
    """Everything a worker needs besides the item; picklable."""

    assigner: CameraAssigner
    layout: Layout
    dtype: SampleType
    file_format: FileFormat
    size: int | None
    fit: Fit

    def options(self) -> dict[str, Any]:
        """The options recorded in every sidecar; a rerun skips only outputs made with these."""
        return {
            "layout": self.layout,
            "dtype": self.dtype,
            "format": self.file_format,
            "size": self.size,
            "fit": self.fit,
            "cameras": self.assigner.to_dict(),
        }


@dataclass(frozen=True)
class _Task:
    item: ConvertItem
    data_path: Path
    json_path: Path


def _sidecar(settings: _Settings, task: _Task, rgb: np.ndarray, raw: RawImage) -> str:
    item = task.item
    record = {
        "rawspace_version": __version__,
        "relpath": item.relpath,
        "group": item.group,
        "source": os.path.abspath(item.source),
        "source_shape": list(rgb.shape),
        "source_dtype": str(rgb.dtype),
        "output": task.data_path.name,
        "options": settings.options(),
        "shape": list(raw.data.shape if settings.file_format == "npy" else raw.shape),
        "params": raw.params.to_dict(),
        "camera_seed": settings.assigner.camera_seed_for(item.relpath, item.group),
        "noise": list(raw.noise) if raw.noise is not None else None,
        "noise_seed": raw.seed,
    }
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


def _convert_one(settings: _Settings, task: _Task) -> str | None:
    """Convert one image; return None on success, else the reason it failed.

    A failed write is not the image's fault: it raises :class:`WriteError`.
    """
    item = task.item
    try:
        rgb = read_image(item.source)
        fitted = fit_image(rgb, settings.size, fit=settings.fit)
        raw = settings.assigner.invert(
            fitted, item.relpath, item.group, layout=settings.layout, dtype=settings.dtype
        )
        if settings.file_format == "npy":
            _write_npy(task.data_path, raw.data)
        else:
            description = f"rawspace convert of {printable(item.relpath)}"  # text, not bytes
            write_dng(raw, task.data_path, description=description)
        write_text(task.json_path, _sidecar(settings, task, rgb, raw))
    except WriteError:
        raise
    except ImageError as exc:
        return exc.reason
    except FileNotFoundError:
        return "file not found"
    except Exception as exc:  # one bad input must not stop a batch: report it and go on
        return f"{type(exc).__name__}: {exc}"
    return None


def _convert_chunk(settings: _Settings, index: int, tasks: list[_Task]) -> tuple[int, list]:
    """Convert a chunk of tasks in a worker: ``(index, failure reasons or None)``."""
    return index, [_convert_one(settings, task) for task in tasks]


def _run_tasks(
    settings: _Settings, tasks: list[_Task], jobs: int, bar: tqdm
) -> Iterator[tuple[_Task, str | None]]:
    """Yield ``(task, failure reason or None)`` as tasks finish, in-process or in a pool."""
    if jobs == 1:
        for task in tasks:
            yield task, _convert_one(settings, task)
            bar.update(1)
        return
    chunk = max(1, min(16, len(tasks) // (4 * jobs)))
    chunks = [tasks[i : i + chunk] for i in range(0, len(tasks), chunk)]
    with worker_pool(jobs) as pool:
        pending = [
            pool.apply_async(_convert_chunk, (settings, k, part)) for k, part in enumerate(chunks)
        ]
        for future in pending:
            index, reasons = future.get()
            yield from zip(chunks[index], reasons, strict=True)
            bar.update(len(chunks[index]))


# ------------------------------------------------------------------------ planning
def _check_options(
    *, layout: str, file_format: str, dtype: str, size: int | None, fit: str, jobs: int
) -> None:
    check_choice("layout", layout, LAYOUTS)
    check_choice("format", file_format, FILE_FORMATS)
    check_choice("dtype", dtype, SAMPLE_TYPES)
    if file_format == "dng" and layout == "linear":
        raise ValueError("format 'dng' stores a Bayer mosaic: layout 'linear' cannot be written")
    if file_format == "dng" and dtype != "uint16":
        raise ValueError(f"format 'dng' stores uint16 samples, got dtype {dtype!r}")
    if size is not None and (
        isinstance(size, bool)
        or not isinstance(size, (int, np.integer))
        or size < MIN_SIDE
        or size % 2
    ):
        raise ValueError(f"size must be None or an even integer >= {MIN_SIDE}, got {size!r}")
    check_choice("fit", fit, FITS)
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")


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


def _plan(
    items: list[ConvertItem], output: Path, settings: _Settings, *, overwrite: bool
) -> tuple[list[_Task], int, list[tuple[str, str]]]:
    """Split items into tasks to run, a count of outputs to skip, and failures."""
    suffix = f".{settings.file_format}"
    targets = [output / PurePosixPath(item.relpath).with_suffix(suffix) for item in items]
    owners: dict[Path, list[str]] = {}
    for item, target in zip(items, targets, strict=True):
        owners.setdefault(target, []).append(item.relpath)
    options = settings.options()
    tasks, skipped, failures = [], 0, []
    for item, target in zip(items, targets, strict=True):
        json_path = target.with_suffix(".json")
        if len(owners[target]) > 1:
            others = ", ".join(owners[target])
            failures.append(
                (str(item.source), f"output {target.name} would be written by {others}")
            )
            continue
        recorded = None if overwrite else _recorded_options(json_path)
        if recorded is not None and recorded != options:
            changed = sorted(k for k in options if recorded.get(k) != options[k])
            failures.append((
                str(item.source),
                f"{json_path.name} describes an output made with other {', '.join(changed)}; "
                "use overwrite to replace it",
            ))  # fmt: skip
            continue
        if recorded is not None and target.is_file():
            skipped += 1
            continue
        tasks.append(_Task(item, target, json_path))
    return tasks, skipped, failures


def _recorded_options(json_path: Path) -> dict[str, Any] | None:
    """Options recorded in a sidecar; None when there is none or it cannot be read (then
    the output is made again)."""
    try:
        record = json.loads(json_path.read_text(encoding="utf-8", errors="surrogateescape"))
    except (OSError, json.JSONDecodeError):
        return None
    options = record.get("options") if isinstance(record, dict) else None
    return options if isinstance(options, dict) else None


def convert(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    layout: Layout = "bayer",
    file_format: FileFormat = "npy",
    dtype: SampleType | type | np.dtype = "uint16",
    camera: CameraParams | str | os.PathLike[str] | None = None,
    camera_per: CameraPolicy = "dataset",
    noise: NoiseModel | None = None,
    noise_per: CameraPolicy = "image",
    seed: int = 0,
    size: int | None = 400,
    fit: Fit = "pad",
    jobs: int = 1,
    overwrite: bool = False,
    dry_run: bool = False,
    progress: bool = False,
) -> ConvertReport:
    """Convert images to raw files under ``output``, mirroring the input tree.

    Parameters
    ----------
    inputs : path or sequence of paths
        An image, a folder or a list file (see :func:`find_inputs`).
    output : path
        Output folder (created). No output may be an input (an image, the list file,
        the camera file) or lie inside an input folder.
    layout : {"bayer", "packed", "linear"}
        Raw layout (see :func:`rawspace.invert`); ``"linear"`` is npy only.
    file_format : {"npy", "dng"}
        ``.npy`` arrays, or DNG files through :func:`rawspace.rawio.write_dng`:
        uint16 Bayer planes (packed images are stored as their mosaic) of at least
        22×22 pixels.
    dtype : {"uint16", "float32"} or the NumPy type
        Sample type of npy outputs (DNG is always uint16).
    camera : CameraParams, path or None
        A fixed camera (or a JSON / raw file to load it from with
        :func:`~rawspace.cameras.load_camera`); None draws cameras per ``camera_per``.
    camera_per, noise_per : {"dataset", "group", "image"}
        Scopes of the cameras and of the noise levels (see
        :class:`~rawspace.cameras.CameraAssigner`); groups are first folders.
    noise : {None, "brooks"}
        Sensor noise.
    seed : int
        Global seed of every draw.
    size : int or None
        Side of the square images converted (even, >= 16), or None to keep the size
        (cropped to even height and width).
    fit : {"pad", "crop", "resize"}
        How images are brought to ``size`` (see :func:`rawspace.images.fit_image`).
    jobs : int
        Worker processes (spawned, Numba single-threaded); 1 converts in-process.
    overwrite : bool
        Redo outputs that exist.
    dry_run : bool
        Only plan: read and write nothing (``report.planned`` lists the work).
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    ConvertReport

    Raises
    ------
    FileNotFoundError
        ``inputs`` or the camera file does not exist.
    ValueError
        An option is invalid, or no image was found.
    rawspace.files.OutputError
        An output would be written onto, into or over an input (a ValueError).
    rawspace.files.WriteError
        An output cannot be written (a full disk, no permission). The outputs
        written before are complete; a rerun skips them.
    """
    try:
        dtype = np.dtype(dtype).name
    except TypeError:
        raise ValueError(f"dtype must be one of {SAMPLE_TYPES}, got {dtype!r}") from None
    _check_options(
        layout=layout, file_format=file_format, dtype=dtype, size=size, fit=fit, jobs=jobs
    )
    camera_file = None
    if camera is not None and not isinstance(camera, CameraParams):
        camera_file = Path(camera)
        camera = load_camera(camera)
    check_choice("camera_per", camera_per, CAMERA_POLICIES)
    assigner = CameraAssigner(
        camera_per, seed=seed, camera=camera, noise=noise, noise_per=noise_per
    )
    output = Path(output)
    found = find_inputs(inputs)
    items = found.items
    if not items and not found.unreadable:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in INPUT {inputs}")
    settings = _Settings(assigner, layout, dtype, file_format, size, fit)

    start = time.perf_counter()
    tasks, skipped, failures = _plan(items, output, settings, overwrite=overwrite)
    _check_outputs(inputs, camera_file, items, output, tasks)
    failures += [(str(path), f"folder cannot be read: {why}") for path, why in found.unreadable]
    for source, reason in failures:
        _log.info("failed %s: %s", printable(source), reason)
    report = ConvertReport(output=output, skipped=skipped, dry_run=dry_run)
    report.planned = [(str(t.item.source), str(t.data_path)) for t in tasks]
    if dry_run:
        report.failures = sorted(failures)
        return report

    for folder in sorted({task.data_path.parent for task in tasks}):
        make_folder(folder)
    with tqdm(
        total=len(tasks), disable=not progress, file=sys.stderr, unit="img", desc="convert"
    ) as bar:
        for task, reason in _run_tasks(settings, tasks, jobs, bar):
            if reason is None:
                report.converted += 1
                _log.info(
                    "converted %s -> %s", printable(task.item.source), printable(task.data_path)
                )
            else:
                failures.append((str(task.item.source), reason))
                _log.info("failed %s: %s", printable(task.item.source), printable(reason))
    report.failures = sorted(failures)
    report.seconds = time.perf_counter() - start
    _write_failures(output, report.failures)
    return report
