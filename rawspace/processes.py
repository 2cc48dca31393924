"""Worker processes for batch work: spawned, single-threaded, and gone with their parent.

:func:`worker_pool` starts the ``multiprocessing`` pool that ``convert`` and
``build`` hand their images to, and :func:`shared_with_workers` runs batches of
work in the calling process and the pool together. Each worker

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
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["one_job_here", "shared_with_workers", "worker_pool"]

B = TypeVar("B")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)

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


@contextmanager
def one_job_here() -> Iterator[None]:
    """Run Numba with one thread in this process meanwhile: the process is one of the
    jobs of a batch (one core, and no thread contention with the workers)."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


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


def shared_with_workers(
    batches: Iterable[B],
    *,
    here: Callable[[B], R],
    there: Callable[[B, int], multiprocessing.pool.AsyncResult[R]],
    slots: int,
) -> Iterator[tuple[int | None, R]]:
    """Run ``batches`` in worker processes and in the calling process; results in order.

    Up to ``slots`` batches wait in the workers, each submitted as
    ``there(batch, slot)`` with its own slot in ``range(slots)``. Whenever the batch
    whose result comes next is not ready, the calling process runs the next batch
    itself with ``here(batch)`` instead of waiting, so with ``jobs - 1`` workers
    ``jobs`` processes work and none of them waits on the one that consumes the
    results.

    Parameters
    ----------
    batches : iterable
        The work, in the order its results are wanted.
    here : callable
        Runs a batch in the calling process and returns its result.
    there : callable
        Submits a batch to a worker (``pool.apply_async``) and returns its async result.
    slots : int
        Batches in flight in the workers, at least 1.

    Yields
    ------
    (slot, result)
        ``result`` of each batch in the order of ``batches``; ``slot`` is the slot it
        was submitted with, or None for a batch run here. A slot is handed to the
        next batch only when the next result is asked for, so the consumer may read
        what the worker left in it until then.

    Examples
    --------
    >>> with worker_pool(1) as pool:
    ...     results = shared_with_workers(
    ...         [[1, 2], [3], [4, 5, 6]], here=sum,
    ...         there=lambda batch, slot: pool.apply_async(sum, (batch,)), slots=1,
    ...     )
    ...     [total for _, total in results]
    [3, 3, 15]
    """
    if slots < 1:
        raise ValueError(f"slots must be >= 1, got {slots!r}")
    work = iter(batches)
    pending: deque[tuple[int | None, _Outcome[R]]] = deque()  # in the order of batches

    def submit(slot: int) -> None:
        for batch in work:
            pending.append((slot, there(batch, slot)))
            break

    for first in range(slots):
        submit(first)
    while pending:
        slot, outcome = pending[0]
        if not outcome.ready():
            for batch in work:  # the next batch, if any, runs here meanwhile
                pending.append((None, _Here(here(batch))))
                break
            else:
                outcome.wait()
            continue
        pending.popleft()
        yield slot, outcome.get()
        if slot is not None:
            submit(slot)


class _Outcome(Protocol[R_co]):
    """What :func:`shared_with_workers` waits on: an async result, or one at hand."""

    def ready(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> None: ...
    def get(self, timeout: float | None = None) -> R_co: ...


@dataclass(frozen=True)
class _Here(Generic[R_co]):
    """The result of a batch run in the calling process."""

    value: R_co

    def ready(self) -> bool:
        return True

    def wait(self, timeout: float | None = None) -> None:
        return None

    def get(self, timeout: float | None = None) -> R_co:
        return self.value
