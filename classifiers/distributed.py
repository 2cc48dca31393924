"""One training run over several processes with ``torchrun``: the process group and its
few collective operations.

``torchrun --nproc-per-node=G -m rawspace compare ...`` starts G processes with
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` in their environment; :func:`from_environment`
joins them into one group (NCCL on CUDA, gloo on the CPU) and pins each CUDA process to
its GPU. Without those variables it returns the single-process :class:`Group`, whose
operations do nothing, so the training code is the same either way.

How a run is split (see :func:`classifiers.train.fit`): every rank walks the same
seeded order of the training samples; each global batch of ``batch_size`` samples is
cut into ``world_size`` equal, contiguous parts and rank r trains on part r, so the
gradient that DistributedDataParallel averages is the gradient of the whole batch, as
in one process. Evaluation rows are cut into ``world_size`` contiguous parts and the
logits gathered in rank order, so every rank computes the metrics of the whole set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

__all__ = ["Group", "from_environment"]


@dataclass(frozen=True)
class Group:
    """The processes that train one run together.

    Attributes
    ----------
    rank : int
        This process, in ``[0, world_size)``; rank 0 alone writes outputs.
    world_size : int
        Number of processes.

    Examples
    --------
    >>> Group(rank=1, world_size=2).part(np.arange(5)).tolist()
    [3, 4]
    >>> alone = Group()
    >>> alone.is_main, alone.parallel, alone.sum(torch.ones(2)).tolist()
    (True, False, [1.0, 1.0])
    """

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes the outputs (rank 0)."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        """Whether there is more than one process."""
        return self.world_size > 1

    def part(self, rows: np.ndarray) -> np.ndarray:
        """This rank's contiguous part of ``rows`` (parts differ in length by at most one)."""
        return np.array_split(np.asarray(rows), self.world_size)[self.rank]

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise sum of ``tensor`` over all ranks (in place; returned)."""
        if self.parallel:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def gather(self, tensor: torch.Tensor) -> torch.Tensor:
        """Every rank's ``tensor`` (first dimensions may differ), concatenated in rank order."""
        if not self.parallel:
            return tensor
        count = torch.tensor([tensor.shape[0]], device=tensor.device)
        counts = [torch.zeros_like(count) for _ in range(self.world_size)]
        dist.all_gather(counts, count)
        longest = int(max(c.item() for c in counts))
        padded = tensor.new_zeros((longest, *tensor.shape[1:]))
        padded[: tensor.shape[0]] = tensor
        parts = [torch.zeros_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded)
        return torch.cat([p[: int(c.item())] for p, c in zip(parts, counts, strict=True)])

    def broadcast(self, value: bool) -> bool:
        """Rank 0's ``value``, on every rank."""
        if not self.parallel:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return bool(holder[0])

    def wait(self) -> None:
        """Block until every rank reaches this point."""
        if self.parallel:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group (after the last collective operation)."""
        if self.parallel and dist.is_initialized():
            dist.destroy_process_group()


def from_environment(device: torch.device) -> Group:
    """The group ``torchrun`` started this process in, or the single-process group.

    With ``WORLD_SIZE`` > 1 in the environment, initialises the default process group
    (NCCL for CUDA, gloo for the CPU) once, and for CUDA makes ``LOCAL_RANK`` the
    current device.

    Returns
    -------
    Group

    Examples
    --------
    >>> "WORLD_SIZE" in os.environ or from_environment(torch.device("cpu")) == Group()
    True
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Group()
    rank = int(os.environ["RANK"])
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    return Group(rank=rank, world_size=world_size)
