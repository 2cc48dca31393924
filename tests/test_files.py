"""rawspace.files: the folder walker, the output-safety check, locks, names, write errors."""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from rawspace.files import (
    LockedError,
    OutputError,
    WriteError,
    allocate,
    bytes_digest,
    check_outputs,
    exclusive_lock,
    file_digest,
    find_images,
    lock_holder,
    name_bytes,
    printable,
    write_error,
    write_text,
)


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.fixture
def linked_tree(tmp_path: Path) -> Path:
    """Two classes of images, a link loop, a link to a sibling class and a link to a file."""
    root = tmp_path / "src"
    for relpath in ("a/1.png", "a/sub/2.jpg", "b/3.tif", "b/4.png", "top.png", "a/.hidden.png"):
        _touch(root / relpath)
    (root / "a" / "loop").symlink_to("..")  # the whole tree again, and again
    (root / "a" / "sub" / "to_b").symlink_to("../../b")  # a class inside another
    (root / "b" / "linked.png").symlink_to("../a/1.png")  # a file link is followed
    return root


def test_find_images_lists_each_folder_once_through_loops_and_links(linked_tree: Path):
    listing = find_images(linked_tree)
    relpaths = [p.relative_to(linked_tree).as_posix() for p in listing.files]
    assert relpaths == ["a/1.png", "a/sub/2.jpg", "b/3.tif", "b/4.png", "b/linked.png", "top.png"]
    folders = [p.relative_to(linked_tree).as_posix() for p in listing.folders]
    assert folders == [".", "a", "b", "a/sub"]  # breadth-first: b under its shortest path
    assert listing.unreadable == []


def test_find_images_reports_unreadable_folders(linked_tree: Path, make_unreadable):
    make_unreadable(linked_tree / "a" / "sub")
    listing = find_images(linked_tree)
    assert [p.relative_to(linked_tree).as_posix() for p in listing.files] == [
        "a/1.png", "b/3.tif", "b/4.png", "b/linked.png", "top.png",
    ]  # fmt: skip
    assert listing.unreadable == [(linked_tree / "a" / "sub", "Permission denied")]
    missing = find_images(linked_tree / "nowhere")
    assert missing.files == [] and missing.unreadable[0][0] == linked_tree / "nowhere"


# ------------------------------------------------------------------- output safety
def test_check_outputs_refuses_onto_into_and_over_inputs(tmp_path: Path):
    source = _touch(tmp_path / "in" / "list.csv")
    image = _touch(tmp_path / "in" / "a" / "1.png")
    (tmp_path / "alias").symlink_to(tmp_path / "in")
    os.link(image, tmp_path / "hard.png")
    inputs = [source, tmp_path / "in" / "a", tmp_path / "missing.png"]
    for output in (source, tmp_path / "alias" / "list.csv", tmp_path / "hard.png"):
        with pytest.raises(OutputError, match="is the input"):
            check_outputs([output], [source, image])
    for output in (image.parent / "new.h5", tmp_path / "alias" / "a" / "x" / "y.npy"):
        with pytest.raises(OutputError, match="inside the input folder"):
            check_outputs([output], inputs)
    check_outputs([tmp_path / "in" / "c.h5", tmp_path / "missing.png.h5"], inputs)


# --------------------------------------------------------------------------- locks
def test_exclusive_lock_refuses_a_second_holder_and_is_removed(tmp_path: Path):
    lock = tmp_path / "c.h5.lock"
    assert lock_holder(lock) is None
    with exclusive_lock(lock):
        assert lock_holder(lock) == os.getpid()
        with pytest.raises(LockedError) as info, exclusive_lock(lock):
            pass
        assert info.value.pid == os.getpid()
        code = (
            "import sys; from rawspace.files import exclusive_lock, LockedError\n"
            "try:\n"
            f"    with exclusive_lock({str(lock)!r}): sys.exit(0)\n"
            "except LockedError as exc: sys.exit(10 + (exc.pid > 0))\n"
        )
        assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 11
    assert not lock.exists() and lock_holder(lock) is None
    lock.write_text("12345\n")  # left by a killed process: its lock died with it
    with exclusive_lock(lock):
        assert lock_holder(lock) == os.getpid()


def test_exclusive_lock_in_a_read_only_folder_is_a_write_error(read_only_folder: Path):
    with pytest.raises(WriteError, match=r"cannot write .*Permission denied"):
        with exclusive_lock(read_only_folder / "c.h5.lock"):
            pass


# --------------------------------------------------------------- names and errors
def test_names_round_trip_through_their_bytes(tmp_path: Path):
    name = os.fsdecode(b"caf\xe9-\xff.png")  # Latin-1, not UTF-8: lone surrogates in Python
    assert name_bytes(name) == b"caf\xe9-\xff.png"
    assert name_bytes(name).decode("utf-8", "surrogateescape") == name
    assert printable(name) == "caf\\xe9-\\xff.png" and printable("ok é") == "ok é"
    assert printable("\ud800") == "\\ud800"  # not from a file name: still printable
    path = write_text(tmp_path / "names.csv", f"path\n{name}\n")
    assert path.read_bytes() == b"path\ncaf\xe9-\xff.png\n"


def test_write_error_is_one_line_and_pickles():
    error = write_error("out/c.h5.partial", OSError(28, "No space left on device"))
    assert str(error) == "cannot write out/c.h5.partial: No space left on device"
    assert isinstance(error, OSError) and error.filename == "out/c.h5.partial"
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is WriteError and str(copy) == str(error)
    assert write_error("elsewhere", error) is error


def test_file_digest_is_the_content_identity(tmp_path: Path):
    import hashlib

    data = bytes(range(256)) * 8193  # a little over 2 MiB: three blocks
    first, second = tmp_path / "a.tif", tmp_path / "sub" / "b.png"
    first.write_bytes(data)
    second.parent.mkdir()
    second.write_bytes(data)
    expected = hashlib.blake2b(data, digest_size=16).hexdigest()  # all bytes at once
    assert file_digest(first) == f"blake2b-128:{expected}:{len(data)}"
    assert file_digest(second) == file_digest(first)  # names do not count
    changed = bytearray(data)
    changed[-1] ^= 1  # one bit in the last block
    second.write_bytes(bytes(changed))
    assert file_digest(second) != file_digest(first)
    second.write_bytes(data[:-1])
    assert file_digest(second).endswith(f":{len(data) - 1}")
    (tmp_path / "empty").write_bytes(b"")
    assert file_digest(tmp_path / "empty") == (
        f"blake2b-128:{hashlib.blake2b(b'', digest_size=16).hexdigest()}:0"
    )
    with pytest.raises(FileNotFoundError, match="missing"):
        file_digest(tmp_path / "missing")
    assert bytes_digest(data) == file_digest(first)  # the same identity from the bytes
    assert bytes_digest(b"") == file_digest(tmp_path / "empty")


def test_allocate_gives_the_file_its_space_or_says_it_cannot(tmp_path: Path):
    path = tmp_path / "f.bin"
    with open(path, "wb") as f:
        done = allocate(f.fileno(), 4096, 1 << 20)
        size = os.fstat(f.fileno())
    if done:  # the space is the file's now, without a byte written
        assert size.st_size == 4096 + (1 << 20)
        assert size.st_blocks * 512 >= 1 << 20
    else:
        assert size.st_size == 0
    with open(path, "rb") as f, pytest.raises(OSError) as info:
        allocate(f.fileno(), 0, 4096)  # not open for writing
    assert info.value.errno == errno.EBADF
    with pytest.raises(ValueError, match="length >= 1, got 0 and 0"):
        allocate(0, 0, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fallocate(2)")
def test_allocate_reports_a_full_disk_and_never_writes_zeros(tmp_path: Path, monkeypatch):
    import ctypes

    import rawspace.files

    calls = []

    def full(fd: int, mode: int, offset: int, length: int) -> int:
        calls.append((mode, offset, length))
        ctypes.set_errno(errno.ENOSPC)
        return -1

    with open(tmp_path / "f.bin", "wb") as f:
        monkeypatch.setattr(rawspace.files, "_fallocate", full)
        with pytest.raises(OSError) as info:
            allocate(f.fileno(), 0, 1 << 30)
        assert info.value.errno == errno.ENOSPC and calls == [(0, 0, 1 << 30)]

        def unsupported(fd: int, mode: int, offset: int, length: int) -> int:
            ctypes.set_errno(errno.EOPNOTSUPP)
            return -1

        monkeypatch.setattr(rawspace.files, "_fallocate", unsupported)
        assert allocate(f.fileno(), 0, 1 << 30) is False
        assert os.fstat(f.fileno()).st_size == 0  # nothing emulated by writing zeros
