"""Per-channel standardisation of model inputs: :class:`Normalization` and
:func:`fit_normalization`, the statistics of a run's training samples.

Re-exported by :mod:`classifiers.spaces`, whose :class:`~classifiers.spaces.InputPipeline`
applies it last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Normalization", "fit_normalization"]


@dataclass(frozen=True)
class Normalization:
    """Per-channel standardisation ``(x − mean[c]) / std[c]``.

    Examples
    --------
    >>> Normalization((0.5,), (0.25,))(torch.ones(1, 1, 1, 2))
    tensor([[[[2., 2.]]]])
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def identity(cls, channels: int) -> Normalization:
        """Mean 0 and std 1 for each of ``channels`` channels."""
        return cls((0.0,) * channels, (1.0,) * channels)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Standardise (N, C, H, W) float ``x``; returns float32 of the same shape."""
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype)[None, :, None, None]
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype)[None, :, None, None]
        return (x - mean) / std


def fit_normalization(batches: Iterable[torch.Tensor]) -> Normalization:
    """Per-channel mean and standard deviation of ``batches``.

    ``batches`` yields model inputs before normalisation (N, C, h, w) — e.g.
    :meth:`InputPipeline.unit` of the training samples, not augmented; sums are
    accumulated in float64. A standard deviation below 1e-6 is raised to 1e-6.

    Examples
    --------
    >>> norm = fit_normalization([torch.tensor([0.0, 2.0]).reshape(2, 1, 1, 1)])
    >>> norm.mean, norm.std
    ((1.0,), (1.0,))
    """
    total: torch.Tensor | None = None
    squares: torch.Tensor | None = None
    count = 0
    for unit in batches:
        x = unit.double()
        s, q = x.sum(dim=(0, 2, 3)), (x * x).sum(dim=(0, 2, 3))
        total = s if total is None else total + s
        squares = q if squares is None else squares + q
        count += x.shape[0] * x.shape[2] * x.shape[3]
    if count == 0 or total is None or squares is None:
        raise ValueError("fit_normalization needs at least one training sample")
    mean = (total / count).cpu().numpy()
    var = np.maximum((squares / count).cpu().numpy() - mean**2, 0.0)
    std = np.maximum(np.sqrt(var), 1e-6)
    return Normalization(tuple(float(m) for m in mean), tuple(float(s) for s in std))
