"""Files and folders: the one folder walker and atomic writes.

:func:`find_images` is how every command searches a folder for images, with one
rule for links: links to files are followed, links to folders too, but a folder
is never visited twice (folders are told apart by device and inode), so a link
loop such as ``loop -> ..`` cannot list an image twice. Hidden names (starting
with ``"."``) are skipped. A folder that cannot be listed is reported, not
skipped silently.

:func:`atomic_path` and :func:`write_text` write a file through a temporary
file in the same folder that is renamed over the target when complete, so a
reader never sees a half-written file and a failed write leaves nothing behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageListing",
    "atomic_path",
    "find_images",
    "is_image_name",
    "write_text",
]

#: File suffixes (lower case) that folder searches treat as images.
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


def is_image_name(name: str) -> bool:
    """Whether a file name is searched for: not hidden, with one of :data:`IMAGE_SUFFIXES`."""
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


@dataclass
class ImageListing:
    """What :func:`find_images` found below a folder.

    Attributes
    ----------
    files : list of pathlib.Path
        Image files (or links to them, or broken links with an image name), as
        paths below the folder searched, sorted by their path relative to it.
    unreadable : list of (pathlib.Path, str)
        Folders that could not be listed, with the reason.
    """

    files: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


def _folder_key(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def find_images(folder: str | os.PathLike[str]) -> ImageListing:
    """Every image file below ``folder``, searched recursively (see the module notes).

    Parameters
    ----------
    folder : path
        The folder to search. It is only read.

    Returns
    -------
    ImageListing
        The image files and the folders that could not be listed. ``folder``
        itself being unreadable is one such folder.
    """
    root = Path(folder)
    listing = ImageListing()
    visited: set[tuple[int, int]] = set()
    pending = [root]
    while pending:
        current = pending.pop()
        key = _folder_key(current)
        if key is None or key in visited:
            continue
        visited.add(key)
        try:
            with os.scandir(current) as entries:
                found = list(entries)
        except OSError as exc:
            listing.unreadable.append((current, exc.strerror or type(exc).__name__))
            continue
        folders = []
        for entry in found:
            if entry.name.startswith("."):
                continue
            try:
                is_folder = entry.is_dir()  # follows links
            except OSError:
                is_folder = False
            if is_folder:
                folders.append(Path(entry.path))
            elif is_image_name(entry.name):
                listing.files.append(Path(entry.path))
        pending.extend(sorted(folders, reverse=True))
    listing.files.sort(key=lambda path: path.relative_to(root).as_posix())
    return listing


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path to write ``path`` through: renamed over it when the block succeeds.

    The temporary file lies in the folder of ``path`` (which must exist), is named
    ``.NAME.PID-RANDOM.tmpSUFFIX`` (the suffix kept, for writers that choose a format
    by it) and is removed when the block raises, so ``path`` is either untouched or
    completely written.
    """
    target = Path(path)
    temporary = _temporary_name(target)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        if temporary.exists() or temporary.is_symlink():
            temporary.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_path`); return the path.

    Lone surrogates (from file names that are not valid UTF-8) are written back as
    the bytes they stand for (``surrogateescape``), so such names round-trip.
    """
    target = Path(path)
    with atomic_path(target) as temporary:
        with open(temporary, "x", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(text)
    return target
