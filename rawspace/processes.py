"""Worker processes for batch work: spawned, single-threaded, and gone with their parent.

:func:`worker_pool` starts the ``multiprocessing`` pool that ``convert`` and
``build`` hand their images to. Each worker

- is *spawned* (a fresh interpreter: no inherited locks or file handles);
- runs Numba, OpenMP and OpenCV with one thread, so ``jobs`` workers use
  ``jobs`` cores;
- ignores Ctrl-C (the parent handles it and shuts the pool down);
- dies with its parent: on Linux the kernel sends it SIGKILL when the parent
  exits (``PR_SET_PDEATHSIG``), elsewhere a watcher thread ends it within half a
  second; so a killed ``convert`` or ``build`` leaves no worker writing files.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.pool
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["worker_pool"]

_THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")
_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 0.5


@contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Processes spawned meanwhile start with one Numba and OpenMP thread."""
    previous = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _die_with(parent: int) -> None:
    """End this process when ``parent`` is gone."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="rawspace-parent-watch", daemon=True).start()


def _start_worker(
    parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    import cv2  # OpenCV keeps its own thread pool

    cv2.setNumThreads(1)
    if initializer is not None:
        initializer(*initargs)


def worker_pool(
    jobs: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> multiprocessing.pool.Pool:
    """A pool of ``jobs`` spawned worker processes (see the module notes).

    Parameters
    ----------
    jobs : int
        Number of worker processes, at least 1.
    initializer : callable, optional
        Called in each worker as ``initializer(*initargs)`` after the set-up above;
        it and ``initargs`` must be picklable.

    Returns
    -------
    multiprocessing.pool.Pool
        Use it as a context manager (``with worker_pool(2) as pool: ...``), which
        terminates the workers on leaving.
    """
    with _single_threaded_children():
        return multiprocessing.get_context("spawn").Pool(
            jobs, initializer=_start_worker, initargs=(os.getpid(), initializer, initargs)
        )
