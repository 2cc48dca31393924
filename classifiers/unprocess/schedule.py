"""Which cameras a run uses: the per-epoch camera schedule of the ``*_cam`` spaces
(:class:`CameraSchedule`) and unseen test cameras for the camera-shift test
(:func:`unseen_cameras`).

Training pools draw from Brooks et al.'s random cameras or from the training part of
the real-camera catalogue (:mod:`rawspace.catalogue`); unseen test cameras come from
its held-out part, so that no test camera is in any training pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from rawspace.cameras import CameraSource as CatalogueSource
from rawspace.cameras import stable_seed
from rawspace.params import CameraParams

from .cameras import Cameras, _sample_params

__all__ = ["CameraSchedule", "unseen_cameras"]


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
    pool_cameras : tuple of str
        The catalogue cameras the pool was drawn from, by name, sorted (empty for
        Brooks et al.'s random cameras), for reports.

    Examples
    --------
    >>> schedule = CameraSchedule.create(
    ...     train_rows=np.arange(4), evaluation=CameraParams.sample(0), seed=0, pool_size=3
    ... )
    >>> len(schedule.pool), len(schedule.training(np.array([0, 2]), epoch=1))
    (3, 2)
    """

    pool: Cameras
    train_rows: np.ndarray
    evaluation: Cameras
    seed: int
    pool_cameras: tuple[str, ...] = ()
    _assignments: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def create(
        cls,
        *,
        train_rows: np.ndarray,
        evaluation: CameraParams,
        seed: int,
        pool_size: int | None = None,
        source: CatalogueSource = "brooks",
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
        source : {"brooks", "catalogue", "training", "held-out"}, default "brooks"
            Where the pool's colour matrices come from (:meth:`Cameras.sample`):
            ``"training"`` keeps every camera of :func:`unseen_cameras` out of the pool.
        device : torch.device or str, optional

        Examples
        --------
        >>> schedule = CameraSchedule.create(
        ...     train_rows=np.arange(10), evaluation=CameraParams.sample(0), seed=1,
        ...     pool_size=8, source="training",
        ... )
        >>> len(schedule.training(np.array([3, 7]), epoch=0))
        2
        """
        rows = np.unique(np.asarray(train_rows, dtype=np.int64))
        size = max(4096, len(rows)) if pool_size is None else int(pool_size)
        pool = _sample_params(
            size,
            stable_seed(int(seed), "training-cameras"),
            source=source,
            cfa=evaluation.cfa,
            tone=evaluation.tone,
            gamma=evaluation.gamma,
            black_level=evaluation.black_level,
            white_level=evaluation.white_level,
        )
        names = sorted({p.name for p in pool if p.name is not None})
        evaluation_table = Cameras.stack(evaluation, device=device)
        table = Cameras.stack(pool, device=device)
        return cls(table, rows, evaluation_table, int(seed), tuple(names))

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
        evaluation = Cameras.stack(camera, device=self.pool.device)
        return CameraSchedule(self.pool, self.train_rows, evaluation, self.seed, self.pool_cameras)


def unseen_cameras(
    k: int, seed: int | np.random.Generator | None, *, like: CameraParams, mix: bool = False
) -> tuple[CameraParams, ...]:
    """Draw ``k`` test cameras from the catalogue's held-out part, for the camera-shift test.

    No such camera is in a pool drawn from the training part (``source="training"``):
    the catalogue's split is by maker and model, and every camera has its own matrix.

    Parameters
    ----------
    k : int
        Number of cameras, ≥ 1.
    seed : int, numpy.random.Generator or None
    like : CameraParams
        The cameras share its CFA, tone curve, gamma and levels (the run's evaluation
        camera).
    mix : bool, default False
        Mix two held-out cameras of one maker (:meth:`rawspace.CameraParams.sample`).

    Returns
    -------
    tuple of CameraParams
        Named after their catalogue cameras (``name``).

    Examples
    --------
    >>> from rawspace.catalogue import find_camera
    >>> (camera,) = unseen_cameras(1, 0, like=CameraParams.sample(0))
    >>> find_camera(camera.name).part
    'held-out'
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not isinstance(like, CameraParams):
        raise TypeError(f"like must be a CameraParams, got {type(like).__name__}")
    cameras = _sample_params(
        k, seed, source="held-out", mix=mix, cfa=like.cfa, tone=like.tone, gamma=like.gamma,
        black_level=like.black_level, white_level=like.white_level,
    )  # fmt: skip
    return tuple(cameras)
