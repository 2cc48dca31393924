"""Training-time augmentation of batches, on their device, per sample.

:func:`rgb` is the augmentation of the ``rgb_aug`` space: random flips, rot90 and a
colour jitter of sRGB values.
"""

from __future__ import annotations

import torch

__all__ = ["JITTER", "rgb"]

#: Half-width of the uniform colour jitter factors: each factor lies in [1 − J, 1 + J].
JITTER = 0.1

_LUMA = (0.299, 0.587, 0.114)


def _uniform(n: int, *shape: int, like: torch.Tensor, generator: torch.Generator | None):
    return torch.rand(n, *shape, device=like.device, generator=generator)


def rgb(x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random flips, rot90 and colour jitter of a batch of sRGB images.

    Parameters
    ----------
    x : torch.Tensor
        (N, 3, H, W) float in [0, 1].
    generator : torch.Generator, optional
        On ``x``'s device, for reproducible draws.

    Returns
    -------
    torch.Tensor
        Same shape, float in [0, 1]: horizontal and vertical flips (p = 0.5 each), a
        rotation by k·90° with k uniform in 0..3 when H = W, then brightness (x·b),
        contrast ((x − mean)·c + mean) and saturation (gray + (x − gray)·s) with b, c, s
        uniform in [1 − :data:`JITTER`, 1 + :data:`JITTER`], clamped to [0, 1].
    """
    n = x.shape[0]
    flips = _uniform(n, 2, like=x, generator=generator) < 0.5
    x = torch.where(flips[:, 0, None, None, None], x.flip(-1), x)
    x = torch.where(flips[:, 1, None, None, None], x.flip(-2), x)
    if x.shape[-1] == x.shape[-2]:  # selected with torch.where: no host synchronisation
        turns = torch.floor(_uniform(n, like=x, generator=generator) * 4)[:, None, None, None]
        x = sum(torch.where(turns == k, torch.rot90(x, k, dims=(-2, -1)), 0.0) for k in range(4))
    factors = 1.0 + JITTER * (2.0 * _uniform(n, 3, like=x, generator=generator) - 1.0)
    brightness, contrast, saturation = (factors[:, i, None, None, None] for i in range(3))
    x = x * brightness
    luma = torch.tensor(_LUMA, device=x.device, dtype=x.dtype)
    gray = (x * luma[None, :, None, None]).sum(1, keepdim=True)
    mean = gray.mean(dim=(-2, -1), keepdim=True)
    x = (x - mean) * contrast + mean
    gray = gray * contrast + mean * (1 - contrast)
    x = gray + (x - gray) * saturation
    return x.clamp(0.0, 1.0)
