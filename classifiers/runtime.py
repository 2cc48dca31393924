"""Where and how a run computes: the device, seeding, precision and memory format.

:func:`resolve_device` turns ``"auto"``/``"cpu"``/``"cuda"`` into a device (or says
there is no GPU), :func:`seed_everything` makes a run repeatable, and :class:`Runtime`
holds the device-dependent choices of one run (bf16 autocast, channels_last, the fused
AdamW) with the few operations that depend on them.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import sys
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .distributed import Group
from .threads import user_set_threads

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "DeviceUnavailableError",
    "Precision",
    "Runtime",
    "device_name",
    "resolve_device",
    "seed_everything",
    "use_threads",
]

DEVICES = ("auto", "cpu", "cuda")
#: Arithmetic of the training passes: by device (bf16 on CUDA, fp32 on the CPU), or forced.
Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS = ("auto", "fp32", "bf16")


class DeviceUnavailableError(RuntimeError):
    """The requested device does not exist on this machine.

    Examples
    --------
    >>> issubclass(DeviceUnavailableError, RuntimeError)  # resolve_device("cuda") on a CPU
    True
    """


def resolve_device(device: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda"`` without a GPU raises.

    Raises
    ------
    ValueError
        ``device`` is not one of :data:`DEVICES`.
    DeviceUnavailableError
        ``device="cuda"`` and ``torch.cuda.is_available()`` is False.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be one of auto, cpu, cuda; got 'tpu'
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError("device 'cuda' requested but no CUDA GPU is available")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def device_name(device: torch.device) -> str:
    """The GPU's name, or ``"cpu (<processor>, <n> cores)"``.

    Examples
    --------
    >>> device_name(torch.device("cpu")).startswith("cpu (")
    True
    """
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch and ask torch for deterministic algorithms.

    Sets ``torch.use_deterministic_algorithms(True, warn_only=True)``, turns off cuDNN
    benchmarking and sets ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` unless already set — all
    process-wide.

    Examples
    --------
    >>> seed_everything(3); a = torch.rand(2)
    >>> seed_everything(3); torch.equal(a, torch.rand(2))
    True
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (the legacy global state of other code)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def use_threads(threads: int | None = None, *, workers: int = 0) -> int:
    """Size torch's intra-op pool (and Numba's, when loaded) for a run; returns the count.

    ``threads`` when given; else the CPUs this process may use
    (:func:`rawspace.cpus.cpu_budget`: affinity, cgroup quota, SLURM, torchrun ranks) less
    the ``workers`` data-loading processes, at least 1 — unless the user set
    ``OMP_NUM_THREADS`` (:func:`classifiers.threads.user_set_threads`), which is kept.
    DataLoader workers themselves run one torch thread (torch's default) and one Numba
    thread (``StreamedSamples``).

    Examples
    --------
    >>> before = torch.get_num_threads()
    >>> use_threads(1), torch.get_num_threads()
    (1, 1)
    >>> _ = use_threads(before)
    """
    if threads is not None and (isinstance(threads, bool) or threads < 1):
        raise ValueError(f"threads must be a positive integer; got {threads!r}")
    if threads is None and user_set_threads():
        count = torch.get_num_threads()
    elif threads is None:
        from rawspace.cpus import cpu_budget

        count = max(1, cpu_budget().cpus - max(0, workers))
    else:
        count = threads
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.set_num_threads(max(1, min(count, numba.config.NUMBA_NUM_THREADS)))
    return count


@dataclass(frozen=True)
class Runtime:
    """The device-dependent choices of one run.

    Attributes
    ----------
    device : torch.device
    bf16 : bool
        bf16 autocast of the training passes.
    channels_last : bool
        channels_last memory format of the model and its inputs.
    fused : bool
        The fused AdamW kernel.

    Examples
    --------
    >>> run = Runtime.of(torch.device("cpu"))
    >>> run.bf16, run.channels_last, run.fused
    (False, False, False)
    >>> Runtime.of(torch.device("cpu"), precision="bf16").bf16
    True
    """

    device: torch.device
    bf16: bool
    channels_last: bool
    fused: bool

    @classmethod
    def of(
        cls,
        device: torch.device,
        *,
        precision: Precision = "auto",
        channels_last: bool | None = None,
        fused: bool | None = None,
    ) -> Runtime:
        """The choices for ``device``: each option None/"auto" means on CUDA only."""
        cuda = device.type == "cuda"
        return cls(
            device=device,
            bf16=precision == "bf16" or (precision == "auto" and cuda),
            channels_last=cuda if channels_last is None else channels_last,
            fused=cuda if fused is None else fused,
        )

    @property
    def precision(self) -> Literal["bf16", "fp32"]:
        """The arithmetic of the training passes."""
        return "bf16" if self.bf16 else "fp32"

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """bf16 autocast of the training passes, or nothing."""
        if self.bf16:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """A model input in the run's memory format."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def place(self, model: nn.Module, group: Group) -> nn.Module:
        """Move ``model`` to the device in the run's memory format; returns the module to
        train: ``model`` itself, or wrapped in DistributedDataParallel for a group of
        several processes (BatchNorm synchronised on CUDA)."""
        model.to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        if not group.parallel:
            return model
        if self.device.type == "cuda":
            synced = nn.SyncBatchNorm.convert_sync_batchnorm(model)
            return DistributedDataParallel(synced, device_ids=[self.device])
        return DistributedDataParallel(model)

    def sync(self) -> None:
        """Wait for the device's queued work (CUDA), so that a clock reads true times."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
