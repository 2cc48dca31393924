"""Files and folders: the one folder walker, output safety, locks, atomic writes, file names.

:func:`find_images` is how every command searches a folder for images, with one
rule for links: links to files and to folders are followed, but a folder is
never searched twice (folders are told apart by device and inode). The search
is breadth-first, so a folder reached in several ways (through links) is
searched once, under the shortest path to it (the first in sorted order among
equally short ones); a link loop such as ``loop -> ..`` lists nothing twice.
Hidden names (starting with ``"."``) are skipped. A folder that cannot be
listed is reported, not skipped silently.

:func:`check_outputs` is the one output-safety check of every command that
writes: no output may be an input or lie inside an input folder, whatever
``overwrite`` says.

:func:`exclusive_lock` keeps a second writer away from an output that is being
written; :func:`lock_holder` tells whether one is.

:func:`atomic_path` and :func:`write_text` write a file through a temporary
file in the same folder that is renamed over the target when complete, so a
reader never sees a half-written file and a failed write leaves nothing behind.
A failed write raises :class:`WriteError`, which names the file and the reason.

File names
----------
On Linux a file name is bytes, not necessarily UTF-8. Python keeps the bytes
that are not UTF-8 as lone surrogates (``surrogateescape``); rawspace keeps
names that way in memory and writes them out as the bytes they stand for
(:func:`name_bytes`): in CSV and JSON files and in the cache's HDF5 strings a
name that is not UTF-8 appears as its original bytes, and reading it back with
``errors="surrogateescape"`` gives the same name. Valid UTF-8 names are
unaffected. Messages show such bytes as ``\\xNN`` (:func:`printable`).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import os
import stat
import sys
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageListing",
    "LockedError",
    "OutputError",
    "WriteError",
    "allocate",
    "atomic_path",
    "bytes_digest",
    "check_outputs",
    "exclusive_lock",
    "file_digest",
    "find_images",
    "is_image_name",
    "lock_holder",
    "make_folder",
    "name_bytes",
    "printable",
    "write_error",
    "write_text",
]

#: File suffixes (lower case) that folder searches treat as images.
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")

#: Seconds :func:`exclusive_lock` waits for a lock held only for a moment (by a probe).
_LOCK_PATIENCE = 0.5


# --------------------------------------------------------------------------- names
def name_bytes(name: str) -> bytes:
    """The bytes a file name (or text holding one) stands for.

    UTF-8, with the bytes that Python keeps as lone surrogates restored
    (``surrogateescape``); ``data.decode("utf-8", "surrogateescape")`` gives
    ``name`` back.
    """
    return name.encode("utf-8", "surrogateescape")


def printable(text: str | os.PathLike[str]) -> str:
    """``text`` (a file name, or a message holding one) safe to print anywhere.

    The bytes of a file name that are not UTF-8 are shown as ``\\xNN``.
    """
    text = os.fspath(text)
    try:
        return name_bytes(text).decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is not from a file name
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


# -------------------------------------------------------------------------- errors
class OutputError(ValueError):
    """An output that would be written onto, into or over an input; the message names both."""


class WriteError(OSError):
    """An output that could not be written: disk full, no permission, read-only file system.

    Fatal, unlike a bad input: the command stops. ``filename`` is the output and
    ``strerror`` the reason; what was written before stays usable (see each command).
    """

    def __str__(self) -> str:
        return f"cannot write {printable(self.filename)}: {self.strerror}"


class LockedError(OSError):
    """The lock of an output is held by another process (``pid``: its id, 0 if unknown)."""

    def __init__(self, path: str | os.PathLike[str], pid: int):
        super().__init__(errno.EWOULDBLOCK, f"locked by process {pid or '?'}", os.fspath(path))
        self.pid = pid


def write_error(path: str | os.PathLike[str], exc: OSError) -> WriteError:
    """The :class:`WriteError` of a failure ``exc`` to write ``path`` (``exc`` if it is one)."""
    if isinstance(exc, WriteError):
        return exc
    if exc.errno:
        reason = os.strerror(exc.errno)
    else:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return WriteError(exc.errno, reason, os.fspath(path))


# ------------------------------------------------------------------ content identity
#: Bytes read at a time by :func:`file_digest`.
_DIGEST_BLOCK = 1 << 20


#: Errors of a file system that cannot allocate ahead (rather than one that is full).
_NO_ALLOCATION = {errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL, errno.ENODEV}


def allocate(fd: int, offset: int, length: int) -> bool:
    """Allocate ``length`` bytes of the open file ``fd`` from ``offset`` on, where the
    file system can.

    Space allocated ahead makes a full disk fail here, before anything is written
    into it, and makes the later writes cheaper (on Linux, writing into allocated
    space costs less than extending into a hole, and concurrent writers of one file
    contend less). Unlike ``posix_fallocate``, a file system that cannot allocate
    (NFS, ZFS) is never emulated by writing zeros into every block: nothing happens.

    Parameters
    ----------
    fd : int
        A descriptor open for writing.
    offset, length : int
        The byte range, at least 0 and 1.

    Returns
    -------
    bool
        Whether the space was allocated (False: the file system cannot).

    Raises
    ------
    OSError
        The space is not there (``ENOSPC``, ``EDQUOT``, ``EFBIG``) or ``fd`` is not a
        file open for writing.

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryFile() as f:
    ...     done = allocate(f.fileno(), 0, 4096)
    ...     os.fstat(f.fileno()).st_size == (4096 if done else 0)
    True
    """
    if offset < 0 or length < 1:
        raise ValueError(f"offset must be >= 0 and length >= 1, got {offset!r} and {length!r}")
    if _fallocate is None:
        if not hasattr(os, "posix_fallocate"):
            return False
        try:  # macOS has neither; the BSDs' posix_fallocate does not emulate
            os.posix_fallocate(fd, offset, length)
        except OSError as exc:
            if exc.errno in _NO_ALLOCATION:
                return False
            raise
        return True
    while _fallocate(fd, 0, offset, length) != 0:
        code = ctypes.get_errno()
        if code == errno.EINTR:
            continue
        if code in _NO_ALLOCATION:
            return False
        raise OSError(code, os.strerror(code))
    return True


def _linux_fallocate() -> Any:
    """The C library's ``fallocate(2)`` with 64-bit offsets (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = getattr(libc, "fallocate64", None) or libc.fallocate
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    function.restype = ctypes.c_int
    return function


_fallocate = _linux_fallocate()


def file_digest(path: str | os.PathLike[str]) -> str:
    """The content identity of a file: a BLAKE2b hash of its bytes and its size.

    Two files have the same digest exactly when they hold the same bytes (up to
    a 128-bit hash collision), whatever their names, times or permissions. The
    file is read in 1 MiB blocks, so any size fits in memory.

    Parameters
    ----------
    path : path
        The file (links are followed). It is only read.

    Returns
    -------
    str
        ``"blake2b-128:HEX:SIZE"``: the algorithm, 32 hexadecimal digits and the
        size in bytes, a plain string for JSON sidecars and HDF5 attributes.

    Raises
    ------
    OSError
        The file cannot be opened or read (the error names it).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "a.bin"
    >>> _ = path.write_bytes(b"abc")
    >>> file_digest(path)
    'blake2b-128:cf4ab791c62b8d2b2109c90275287816:3'
    """
    digest = hashlib.blake2b(digest_size=16)
    size = 0
    with open(path, "rb") as f:
        while block := f.read(_DIGEST_BLOCK):
            digest.update(block)
            size += len(block)
    return _digest_text(digest, size)


def bytes_digest(data: bytes) -> str:
    """:func:`file_digest` of a file that holds ``data``, from the bytes themselves.

    Examples
    --------
    >>> bytes_digest(b"abc")
    'blake2b-128:cf4ab791c62b8d2b2109c90275287816:3'
    """
    return _digest_text(hashlib.blake2b(data, digest_size=16), len(data))


def _digest_text(digest: Any, size: int) -> str:
    """The one form of a content identity: ``blake2b-128:HEX:SIZE``."""
    return f"blake2b-128:{digest.hexdigest()}:{size}"


# ------------------------------------------------------------------- folder search
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
    relpaths : list of str
        The path of each of ``files`` relative to the folder searched, with ``/``
        between its parts (as sorted).
    folders : list of pathlib.Path
        Every folder reached, each once, breadth-first (the folder searched first),
        including those that could not be listed.
    unreadable : list of (pathlib.Path, str)
        Folders that could not be listed, with the reason.
    """

    files: list[Path] = field(default_factory=list)
    relpaths: list[str] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def find_images(folder: str | os.PathLike[str]) -> ImageListing:
    """Every image file below ``folder``, searched recursively (see the module notes).

    Parameters
    ----------
    folder : path
        The folder to search. It is only read.

    Returns
    -------
    ImageListing
        The image files, the folders reached and those that could not be listed
        (``folder`` itself among them when it cannot be).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("b/2.PNG", "a/1.jpg", "a/notes.txt", "a/.hidden.png"):
    ...     (root / name).parent.mkdir(exist_ok=True)
    ...     _ = (root / name).write_bytes(b"")
    >>> listing = find_images(root)
    >>> listing.relpaths
    ['a/1.jpg', 'b/2.PNG']
    >>> [p.relative_to(root).as_posix() for p in listing.files]
    ['a/1.jpg', 'b/2.PNG']
    """
    root = Path(folder)
    listing = ImageListing()
    try:
        info = os.stat(root)
    except OSError as exc:
        listing.unreadable.append((root, _reason(exc)))
        return listing
    visited = {(info.st_dev, info.st_ino)}
    pending = deque([(root, "")])  # a folder and its path relative to root ("/"-separated)
    found_files: list[tuple[str, str]] = []  # (relative path, path)
    while pending:
        current, prefix = pending.popleft()
        listing.folders.append(current)
        try:
            with os.scandir(current) as entries:
                found = sorted(entries, key=lambda entry: entry.name)
        except OSError as exc:
            listing.unreadable.append((current, _reason(exc)))
            continue
        for entry in found:
            if entry.name.startswith("."):
                continue
            try:
                found_info: os.stat_result | None = entry.stat()  # follows links
            except OSError:  # a broken link, or one into a folder that cannot be read
                found_info = None
            if found_info is not None and stat.S_ISDIR(found_info.st_mode):
                key = (found_info.st_dev, found_info.st_ino)
                if key not in visited:
                    visited.add(key)
                    pending.append((Path(entry.path), prefix + entry.name + "/"))
            elif is_image_name(entry.name):
                found_files.append((prefix + entry.name, entry.path))
    found_files.sort()  # by relative path (unique: one entry per name in each folder)
    listing.relpaths = [relpath for relpath, _ in found_files]
    listing.files = [Path(path) for _, path in found_files]
    return listing


# ------------------------------------------------------------------- output safety
def check_outputs(
    outputs: Iterable[str | os.PathLike[str]], inputs: Iterable[str | os.PathLike[str]]
) -> None:
    """Refuse to write onto, into or over an input, whatever ``overwrite`` says.

    Parameters
    ----------
    outputs : paths
        Every file or folder a command may create, replace or remove.
    inputs : paths
        Every file or folder it reads (missing ones are ignored: they cannot be
        overwritten).

    Raises
    ------
    OutputError
        An output is an input (the same file or folder after following links, told
        apart by device and inode, so that other spellings and hard links count), or
        lies inside an input folder (after resolving links).

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> check_outputs([root / "out"], [root / "images"])  # beside the input: fine
    >>> (root / "images").mkdir()
    >>> check_outputs([root / "images" / "out"], [root / "images"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rawspace.files.OutputError: .../images/out lies inside the input folder ...
    """
    identities: dict[tuple[int, int], Path] = {}
    folders: dict[str, Path] = {}
    for path in inputs:
        try:
            info = os.stat(path)
        except OSError:
            continue
        identities.setdefault((info.st_dev, info.st_ino), Path(path))
        if stat.S_ISDIR(info.st_mode):
            folders.setdefault(os.path.realpath(path), Path(path))
    for output in outputs:
        try:
            out_info: os.stat_result | None = os.stat(output)
        except OSError:
            out_info = None
        if out_info is not None and (out_info.st_dev, out_info.st_ino) in identities:
            source = identities[(out_info.st_dev, out_info.st_ino)]
            raise OutputError(f"{output} is the input {source}: refusing to write over it")
        if folders:
            resolved = Path(os.path.realpath(output))
            for folder in (resolved, *resolved.parents):
                if str(folder) in folders:
                    raise OutputError(
                        f"{output} lies inside the input folder {folders[str(folder)]}: "
                        "refusing to write into it"
                    )


# --------------------------------------------------------------------------- locks
def _is_file_of(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (info.st_dev, info.st_ino) == (mine.st_dev, mine.st_ino)


@contextmanager
def exclusive_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` for the duration of the block.

    The file is created with this process's id in it, locked with ``flock``, and
    removed on leaving; a lock left by a killed process is free again, since the
    system releases it with the process.

    Raises
    ------
    LockedError
        Another process holds the lock (a lock held for less than half a second,
        as :func:`lock_holder` holds one, is waited for).
    WriteError
        The lock file cannot be created.
    """
    path = Path(path)
    deadline = time.monotonic() + _LOCK_PATIENCE
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise write_error(path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() > deadline:
                raise LockedError(path, lock_holder(path) or 0) from None
            time.sleep(0.05)
            continue
        if _is_file_of(fd, path):
            break
        os.close(fd)  # its holder removed it before we locked it: lock the new one
    try:
        with suppress(OSError):  # the id is for messages only
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def lock_holder(path: str | os.PathLike[str]) -> int | None:
    """The process holding :func:`exclusive_lock` on ``path`` (0 if its id cannot be
    read), or None when no process does."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.read(fd, 32).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


# -------------------------------------------------------------------------- writing
def make_folder(path: str | os.PathLike[str]) -> Path:
    """Create the folder ``path`` and its parents if missing; :class:`WriteError` if it cannot."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(folder, exc) from None
    return folder


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path to write ``path`` through: renamed over it when the block succeeds.

    The temporary file lies in the folder of ``path`` (which must exist), is named
    ``.NAME.PID-RANDOM.tmpSUFFIX`` (the suffix kept, for writers that choose a format
    by it) and is removed when the block raises, so ``path`` is either untouched or
    completely written. An ``OSError`` in the block or in the rename is raised as a
    :class:`WriteError` naming ``path``.
    """
    target = Path(path)
    temporary = _temporary_name(target)
    try:
        yield temporary
        os.replace(temporary, target)
    except OSError as exc:
        raise write_error(target, exc) from exc
    finally:
        if temporary.exists() or temporary.is_symlink():
            temporary.unlink()


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_path`); return the path.

    Lone surrogates (from file names that are not valid UTF-8) are written back as
    the bytes they stand for (``surrogateescape``), so such names round-trip.

    Examples
    --------
    >>> import tempfile
    >>> path = write_text(Path(tempfile.mkdtemp()) / "note.txt", "done")
    >>> path.read_text()
    'done'
    """
    target = Path(path)
    with atomic_path(target) as temporary:
        with open(temporary, "x", encoding="utf-8", errors="surrogateescape", newline="") as f:
            f.write(text)
    return target
