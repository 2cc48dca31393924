"""The per-epoch camera schedule of the ``*_cam`` spaces: :class:`CameraSchedule`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from rawspace.cameras import stable_seed
from rawspace.params import CameraParams

from .cameras import Cameras

__all__ = ["CameraSchedule"]


@dataclass(frozen=True, eq=False)
class CameraSchedule:
    """Which camera each sample of a run is unprocessed with (the ``*_cam`` spaces).

    Training: a pool of cameras drawn once per run with
    :meth:`rawspace.CameraParams.sample`; in every epoch each training sample gets a pool
    camera uniformly at random, from a generator seeded by the run's seed and the epoch,
    so the draw of a sample depends only on (seed, epoch, its row) — the same in any
    process and however the batches are split. Evaluation: one camera for every sample.

    Build one with :meth:`create`.

    Attributes
    ----------
    pool : Cameras
        The training cameras, on the training device.
    train_rows : numpy.ndarray
        The run's training rows, sorted (int64).
    evaluation : Cameras
        The evaluation camera (a table of length 1).
    seed : int
        Seeds the per-epoch assignment.
    """

    pool: Cameras
    train_rows: np.ndarray
    evaluation: Cameras
    seed: int
    _assignments: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def create(
        cls,
        *,
        train_rows: np.ndarray,
        evaluation: CameraParams,
        seed: int,
        pool_size: int | None = None,
        device: torch.device | str | None = None,
    ) -> CameraSchedule:
        """A schedule for a run.

        Parameters
        ----------
        train_rows : numpy.ndarray
            The run's training rows.
        evaluation : CameraParams
            The camera of validation and test samples; the pool's cameras share its CFA,
            tone curve, gamma and levels.
        seed : int
            Seeds the pool (``stable_seed(seed, "training-cameras")``) and the
            per-epoch assignment.
        pool_size : int, optional
            Cameras in the pool; default ``max(4096, len(train_rows))``.
        """
        rows = np.unique(np.asarray(train_rows, dtype=np.int64))
        size = max(4096, len(rows)) if pool_size is None else int(pool_size)
        pool = Cameras.sample(
            size,
            stable_seed(int(seed), "training-cameras"),
            cfa=evaluation.cfa,
            tone=evaluation.tone,
            gamma=evaluation.gamma,
            black_level=evaluation.black_level,
            white_level=evaluation.white_level,
            device=device,
        )
        return cls(pool, rows, Cameras.stack(evaluation, device=device), int(seed))

    def training(self, rows: np.ndarray, epoch: int) -> Cameras:
        """The cameras of training ``rows`` in ``epoch`` (one per row)."""
        assignment = self._assignments.get(epoch)
        if assignment is None:
            rng = np.random.default_rng(stable_seed(self.seed, "training-cameras", str(epoch)))
            assignment = rng.integers(0, len(self.pool), size=len(self.train_rows))
            self._assignments.clear()  # one epoch at a time
            self._assignments[epoch] = assignment
        positions = np.searchsorted(self.train_rows, np.asarray(rows, dtype=np.int64))
        if np.any(positions >= len(self.train_rows)) or np.any(
            self.train_rows[np.minimum(positions, len(self.train_rows) - 1)] != rows
        ):
            raise ValueError("training() asked for rows that are not training rows of the run")
        return self.pool[torch.from_numpy(assignment[positions])]

    def with_evaluation(self, camera: CameraParams) -> CameraSchedule:
        """The same schedule with another evaluation camera (an unseen test camera)."""
        return CameraSchedule(
            self.pool, self.train_rows, Cameras.stack(camera, device=self.pool.device), self.seed
        )
