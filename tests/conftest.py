"""Shared fixtures: sample images from scikit-image and the optional shared data folder."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from skimage import data


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The folder named by ``RAWSPACE_SHARED`` (tests using it skip when it is absent)."""
    value = os.environ.get("RAWSPACE_SHARED")
    if not value or not Path(value, "data").is_dir():
        pytest.skip("RAWSPACE_SHARED does not name a folder with data/")
    return Path(value)


@pytest.fixture(scope="session")
def ihc() -> np.ndarray:
    """A 128×160 uint8 crop of scikit-image's immunohistochemistry sample."""
    image = data.immunohistochemistry()[100:228, 200:360]
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def sample_images() -> dict[str, np.ndarray]:
    """Several real RGB images (uint8, even-sized crops) bundled with scikit-image."""
    images = {
        "immunohistochemistry": data.immunohistochemistry()[:256, :256],
        "astronaut": data.astronaut()[100:356, 100:356],
        "coffee": data.coffee()[:200, :300],
        "chelsea": data.chelsea()[:200, :250],
    }
    for image in images.values():
        image.setflags(write=False)
    return images


@pytest.fixture
def make_unreadable(monkeypatch: pytest.MonkeyPatch):
    """``make_unreadable(folder)``: listing ``folder`` fails with EACCES from now on.

    By ``chmod 0``; as root (who lists any folder) by a patched ``os.scandir`` that
    refuses it, as the system does for other users.
    """
    changed: list[Path] = []

    def make(folder: Path) -> None:
        if os.geteuid() != 0:
            folder.chmod(0)
            changed.append(folder)
            return
        target = os.path.realpath(folder)
        scandir = os.scandir

        def refusing(path=".", *args, **kwargs):
            if os.path.realpath(path) == target:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
            return scandir(path, *args, **kwargs)

        monkeypatch.setattr(os, "scandir", refusing)

    yield make
    for folder in changed:
        folder.chmod(0o755)


@pytest.fixture
def read_only_folder(tmp_path: Path):
    """A folder in which no file can be created: ``chmod 555``, or as root (who writes
    anywhere) a sysfs folder, where not even root can create files."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    folder = Path("/sys/kernel")
    probe = folder / "rawspace-probe"
    try:
        probe.touch()
    except PermissionError:
        yield folder
        return
    except OSError:
        pytest.skip("no folder that root cannot write to")
    probe.unlink()
    pytest.skip("no folder that root cannot write to")


@pytest.fixture
def interrupted_build(monkeypatch: pytest.MonkeyPatch):
    """``run(src, cache, *, after, **options)``: a build interrupted after ``after`` images.

    Checkpoints come every 4 images and a KeyboardInterrupt stops the build at image
    ``after + 1``; ``cache``'s ``.partial`` file is left, holding ``after`` images.
    """
    import h5py

    import rawspace.cache
    from rawspace.cache import workers
    from rawspace.cache import write as cache_write

    def run(src: Path, cache: Path, *, after: int, **options) -> None:
        convert = workers.Converter.convert
        calls = []

        def stop(self, task):
            calls.append(task)
            if len(calls) > after:
                raise KeyboardInterrupt
            return convert(self, task)

        with monkeypatch.context() as patch:
            patch.setattr(cache_write, "CHECKPOINT_EVERY", 4)
            patch.setattr(workers.Converter, "convert", stop)
            with pytest.raises(KeyboardInterrupt):
                rawspace.cache.build(src, cache, **options)
        with h5py.File(f"{cache}.partial", "r") as f:
            assert f.attrs["n_processed"] == after

    return run
