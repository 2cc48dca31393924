"""rawspace.processes: the workers of ``convert`` and ``build`` die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="lists processes through /proc"
)


def _children(parent: int) -> dict[int, bytes]:
    """The living child processes of ``parent``, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found[int(entry.name)] = command
    return found


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


@pytest.fixture(scope="module")
def many_images(tmp_path_factory) -> Path:
    """Two classes of 150 small PNG images: enough work to be killed in the middle of it."""
    root = tmp_path_factory.mktemp("many") / "src"
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(150):
            image = rng.integers(0, 256, (24, 24, 3), np.uint8)
            (root / name / f"{i:03d}.png").write_bytes(cv2.imencode(".png", image)[1].tobytes())
    return root


@pytest.mark.parametrize("command", ["convert", "build"])
def test_sigkill_of_the_parent_ends_every_worker(many_images, tmp_path, command):
    """Killed once the workers convert images (a kill while Python's spawn is still
    starting a worker makes that half-started interpreter print an EOFError of its own)."""
    out = tmp_path / ("out" if command == "convert" else "c.h5")
    progress = out if command == "convert" else Path(f"{out}.partial")
    argv = [sys.executable, "-m", "rawspace", command, str(many_images), str(out)]
    argv += ["--size", "400", "--jobs", "3", "-q"]  # this process and two workers
    if command == "build":
        argv += ["--compression", "lzf"]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    children: list[int] = []
    first_size = None
    try:
        deadline = time.monotonic() + 180
        while True:  # until both workers run and have converted images
            found = _children(process.pid)
            workers = [pid for pid, line in found.items() if b"spawn_main" in line]
            if not progress.exists():
                started = False
            elif progress.is_dir():
                started = any(progress.rglob("*.npy"))
            else:  # the partial cache grows once converted images come back
                size = progress.stat().st_size
                first_size = first_size or size
                started = size > first_size
            if len(workers) == 2 and started:
                break
            assert process.poll() is None, "finished before it could be killed"
            assert time.monotonic() < deadline, "the workers never started"
            time.sleep(0.01)
        children = list(found)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _alive(children) == [], "workers outlived their parent"
        before = _snapshot(tmp_path)
        time.sleep(0.5)
        assert _snapshot(tmp_path) == before  # nothing is written after the kill
        err = process.stderr.read()
        assert "Traceback" not in err and "BrokenPipe" not in err, err
    finally:
        if process.poll() is None:
            process.kill()
        for pid in _alive(children):  # never leave a process behind, even on failure
            os.kill(pid, signal.SIGKILL)
        process.stderr.close()
