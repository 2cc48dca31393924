"""The CPUs this process may use, and thread pools sized to them.

A process given 2 CPUs of a 64-core node (by its affinity mask, a container's
CPU quota, a SLURM allocation, or by sharing the node with other ranks of a
``torchrun`` job) that starts 64 OpenMP threads spinning at barriers slows
itself and its neighbours down many times over. :func:`cpu_budget` finds the
budget; :func:`configure_threads` sizes the pools of OpenMP (torch, libgomp),
the BLAS libraries and Numba to it, and sets a passive OpenMP wait policy, in
the environment *before* those libraries initialise, unless the user set them.

This module imports only the standard library (never torch or NumPy).

Sources consulted, in order (the smallest wins):

- ``os.sched_getaffinity(0)``: the CPUs the scheduler lets this process run on;
- the cgroup CPU quota: ``cpu.max`` (cgroup v2) or ``cpu.cfs_quota_us`` /
  ``cpu.cfs_period_us`` (v1) of this process's cgroup and its ancestors, rounded
  up to whole CPUs;
- SLURM: ``SLURM_CPUS_PER_TASK``, else ``SLURM_CPUS_ON_NODE``;

and the result is shared among ``LOCAL_WORLD_SIZE`` processes (``torchrun``'s
ranks on this node), at least one CPU each.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "THREAD_VARIABLES",
    "CpuBudget",
    "ThreadSettings",
    "configure_threads",
    "cpu_budget",
]

#: The variables that size the thread pools of OpenMP, the BLAS libraries and Numba.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)
_WAIT_POLICY = "OMP_WAIT_POLICY"

Source = Literal["affinity", "cgroup", "slurm", "os"]


@dataclass(frozen=True)
class CpuBudget:
    """The CPUs one process may use, and what limited them.

    Attributes
    ----------
    cpus : int
        CPUs for this process: the smallest limit, divided among the local ranks,
        at least 1.
    source : {"affinity", "cgroup", "slurm", "os"}
        The limit that decided ``cpus`` (``"os"``: only ``os.cpu_count()``).
    affinity : int or None
        CPUs in the affinity mask (None where the platform has none).
    quota : float or None
        The cgroup CPU quota in CPUs (None: no quota).
    slurm : int or None
        CPUs SLURM allocated to the task or node (None outside SLURM).
    local_world_size : int
        Processes of this job on this node that share the CPUs (1 outside torchrun).
    """

    cpus: int
    source: Source
    affinity: int | None
    quota: float | None
    slurm: int | None
    local_world_size: int

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form, for reports and logs."""
        return {
            "cpus": self.cpus,
            "source": self.source,
            "affinity": self.affinity,
            "quota": self.quota,
            "slurm": self.slurm,
            "local_world_size": self.local_world_size,
        }


def _positive_int(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name, "").strip()
    # SLURM_CPUS_ON_NODE can read "2(x3)" on heterogeneous allocations: the count comes first.
    digits = value.split("(", 1)[0]
    if not digits.isdigit() or int(digits) < 1:
        return None
    return int(digits)


def _affinity() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def _cgroup_paths(proc_cgroup: Path) -> tuple[str | None, str | None]:
    """This process's cgroup v2 path and its v1 ``cpu`` controller path, from /proc."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None, None
    v2 = v1 = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        elif "cpu" in controllers.split(","):
            v1 = path
    return v2, v1


def _ancestors(root: Path, path: str) -> list[Path]:
    """``root/path`` and its parents up to ``root`` (innermost first)."""
    parts = [p for p in path.strip("/").split("/") if p and p != ".."]
    return [root.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)]


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _quota_v2(folder: Path) -> float | None:
    text = _read(folder / "cpu.max")
    if text is None:
        return None
    fields = text.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    try:
        quota, period = int(fields[0]), int(fields[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _quota_v1(folder: Path) -> float | None:
    quota_text = _read(folder / "cpu.cfs_quota_us")
    period_text = _read(folder / "cpu.cfs_period_us")
    if quota_text is None or period_text is None:
        return None
    try:
        quota, period = int(quota_text), int(period_text)
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _cgroup_quota(cgroup_root: Path, proc_cgroup: Path) -> float | None:
    """The tightest CPU quota of this process's cgroup and its ancestors, in CPUs."""
    v2, v1 = _cgroup_paths(proc_cgroup)
    quotas: list[float] = []
    if v2 is not None:
        quotas += [q for f in _ancestors(cgroup_root, v2) if (q := _quota_v2(f)) is not None]
    if v1 is not None:
        for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
            base = cgroup_root / mount
            if base.is_dir():
                folders = _ancestors(base, v1)
                quotas += [q for f in folders if (q := _quota_v1(f)) is not None]
                break
    return min(quotas) if quotas else None


def cpu_budget(
    *,
    environ: Mapping[str, str] | None = None,
    cgroup_root: str | os.PathLike[str] = "/sys/fs/cgroup",
    proc_cgroup: str | os.PathLike[str] = "/proc/self/cgroup",
) -> CpuBudget:
    """The CPUs this process may use (see the module's description for the sources).

    Parameters
    ----------
    environ : mapping, optional
        The environment to read (``os.environ`` by default).
    cgroup_root, proc_cgroup : path
        Where the cgroup file systems are mounted and this process's cgroup file.

    Returns
    -------
    CpuBudget

    Examples
    --------
    >>> budget = cpu_budget()
    >>> budget.cpus >= 1 and budget.cpus <= (os.cpu_count() or 1)
    True
    >>> cpu_budget(environ={"SLURM_CPUS_PER_TASK": "1"}).cpus
    1
    """
    env = os.environ if environ is None else environ
    affinity = _affinity()
    quota = _cgroup_quota(Path(cgroup_root), Path(proc_cgroup))
    slurm = _positive_int(env, "SLURM_CPUS_PER_TASK") or _positive_int(env, "SLURM_CPUS_ON_NODE")
    ranks = _positive_int(env, "LOCAL_WORLD_SIZE") or 1
    limits: list[tuple[int, Source]] = [(os.cpu_count() or 1, "os")]
    if affinity is not None:
        limits.append((affinity, "affinity"))
    if quota is not None:
        limits.append((max(1, math.ceil(quota - 1e-9)), "cgroup"))
    if slurm is not None:
        limits.append((slurm, "slurm"))
    cpus, source = min(limits, key=lambda item: item[0])
    return CpuBudget(
        cpus=max(1, cpus // ranks),
        source=source,
        affinity=affinity,
        quota=quota,
        slurm=slurm,
        local_world_size=ranks,
    )


@dataclass(frozen=True)
class ThreadSettings:
    """What :func:`configure_threads` decided.

    Attributes
    ----------
    threads : int
        Threads per pool asked for.
    budget : CpuBudget
        The CPUs found.
    variables : dict of str to str
        The thread variables and ``OMP_WAIT_POLICY`` as they now are in the environment.
    kept : tuple of str
        Variables the user had set, left as they were.
    resized : tuple of str
        Libraries already initialised whose pools were resized at run time
        (``"numba"``, ``"threadpoolctl"``); the environment reaches the others.
    """

    threads: int
    budget: CpuBudget
    variables: dict[str, str]
    kept: tuple[str, ...]
    resized: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form, for reports and logs."""
        return {
            "threads": self.threads,
            "budget": self.budget.to_dict(),
            "variables": dict(self.variables),
            "kept": list(self.kept),
            "resized": list(self.resized),
        }


def configure_threads(
    threads: int | None = None,
    *,
    environ: MutableMapping[str, str] | None = None,
    budget: CpuBudget | None = None,
    wait_policy: Literal["PASSIVE", "ACTIVE"] | None = "PASSIVE",
) -> ThreadSettings:
    """Size the thread pools of OpenMP, BLAS and Numba to the CPUs this process may use.

    Call it before torch is imported (and before the first parallel Numba call):
    it writes the environment variables those libraries read when their pools
    start. A variable the user already set is kept, unless ``threads`` is given
    explicitly (a ``--threads N`` option), which sets every count. Numba, when
    already imported, is resized with ``numba.set_num_threads``; BLAS libraries
    already loaded are resized through threadpoolctl where it is installed.

    Parameters
    ----------
    threads : int, optional
        Threads per pool; by default :func:`cpu_budget`'s ``cpus``.
    environ : mutable mapping, optional
        The environment to change (``os.environ`` by default; another mapping is
        only written, and no library is resized).
    budget : CpuBudget, optional
        From :func:`cpu_budget` (computed when None).
    wait_policy : {"PASSIVE", "ACTIVE"} or None
        ``OMP_WAIT_POLICY`` unless the user set it: passive threads sleep at
        barriers instead of spinning, which keeps a process from slowing down its
        neighbours on shared CPUs. None leaves it alone.

    Returns
    -------
    ThreadSettings

    Examples
    --------
    >>> env = {"OMP_NUM_THREADS": "3"}
    >>> settings = configure_threads(environ=env, budget=cpu_budget(environ={}))
    >>> env["OMP_NUM_THREADS"], env["OMP_WAIT_POLICY"], settings.kept
    ('3', 'PASSIVE', ('OMP_NUM_THREADS',))
    >>> configure_threads(2, environ=env).variables["OMP_NUM_THREADS"]
    '2'
    """
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    live = environ is None
    env: MutableMapping[str, str] = os.environ if environ is None else environ
    budget = cpu_budget(environ=env) if budget is None else budget
    count = threads if threads is not None else budget.cpus
    kept = []
    # Numba fixes its largest pool when it is imported and refuses a different
    # NUMBA_NUM_THREADS afterwards: a loaded Numba is resized, its variable left alone.
    numba_loaded = live and "numba" in sys.modules
    for name in THREAD_VARIABLES:
        if threads is None and name in env:
            kept.append(name)
        elif not (numba_loaded and name == "NUMBA_NUM_THREADS"):
            env[name] = str(count)
    if wait_policy is not None:
        if _WAIT_POLICY in env:
            kept.append(_WAIT_POLICY)
        else:
            env[_WAIT_POLICY] = wait_policy
    resized = (
        _resize_loaded(
            count
            if numba_loaded and "NUMBA_NUM_THREADS" not in kept
            else _positive_int(env, "NUMBA_NUM_THREADS"),
            _positive_int(env, "OPENBLAS_NUM_THREADS"),
        )
        if live
        else ()
    )
    return ThreadSettings(
        threads=count,
        budget=budget,
        variables={n: env[n] for n in (*THREAD_VARIABLES, _WAIT_POLICY) if n in env},
        kept=tuple(kept),
        resized=resized,
    )


def _resize_loaded(numba_threads: int | None, blas_threads: int | None) -> tuple[str, ...]:
    """Resize the pools of libraries already imported (never importing one); a count that
    is not a positive integer (a user's odd setting) leaves its pool alone."""
    resized = []
    numba = sys.modules.get("numba")
    if numba is not None and numba_threads is not None:
        numba.set_num_threads(max(1, min(numba_threads, numba.config.NUMBA_NUM_THREADS)))
        resized.append("numba")
    blas = sys.modules.get("threadpoolctl")
    if blas is None and "numpy" in sys.modules:  # BLAS loaded with NumPy: resize it if we can
        try:
            blas = importlib.import_module("threadpoolctl")
        except ImportError:
            blas = None
    if blas is not None and blas_threads is not None:
        blas.threadpool_limits(blas_threads, user_api="blas")
        resized.append("threadpoolctl")
    return tuple(resized)
