"""Sensor noise of the torch backend: Brooks et al.'s levels drawn per sample, and the
heteroscedastic Gaussian noise added after the mosaic (as :mod:`rawspace.noise`).

The constants of the level distribution come from :mod:`rawspace.spec`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch

from rawspace.noise import resolve_noise
from rawspace.spec import LOG_READ_OFFSET, LOG_READ_SIGMA, LOG_READ_SLOPE, LOG_SHOT_RANGE

__all__ = ["NoiseArg", "sample_noise_levels"]

#: What :func:`classifiers.unprocess.invert` accepts as noise: none, Brooks et al.'s
#: levels drawn per sample, or (shot, read) variances, each a float or a tensor of shape (N,).
NoiseArg = Literal["brooks"] | tuple[float | torch.Tensor, float | torch.Tensor] | None

#: :func:`rawspace.noise.resolve_noise` draws nothing for an explicit pair of levels.
_UNUSED_RNG = np.random.default_rng(0)


def sample_noise_levels(
    n: int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` pairs of noise levels as Brooks et al. (natural logarithms).

    ``log_shot ~ U(ln 1e-4, ln 0.012)``, ``log_read = 2.18 log_shot + 1.20 + N(0, 0.26)``,
    as :func:`rawspace.noise.sample_noise_levels`, vectorised: first ``n`` uniforms,
    then ``n`` normals, both float64 from ``generator``.

    Returns
    -------
    shot, read : torch.Tensor
        (n,) float64 variances (per unit signal, and at zero signal).

    Examples
    --------
    >>> shot, read = sample_noise_levels(3, generator=torch.Generator().manual_seed(0))
    >>> shot.shape, bool(((shot >= 1e-4) & (shot <= 0.012)).all())
    (torch.Size([3]), True)
    """
    lo, hi = LOG_SHOT_RANGE
    u = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
    z = torch.randn(n, generator=generator, device=device, dtype=torch.float64)
    log_shot = lo + (hi - lo) * u
    log_read = LOG_READ_SLOPE * log_shot + LOG_READ_OFFSET + LOG_READ_SIGMA * z
    return log_shot.exp(), log_read.exp()


def _noise_levels(
    noise: Any, n: int, device: torch.device, generator: torch.Generator | None
) -> tuple[Any, Any] | None:
    """Levels of the ``noise`` argument: None, or (shot, read) as floats or (N, 1, 1, 1)."""
    if noise is None:
        return None
    shot: torch.Tensor | float
    read: torch.Tensor | float
    if isinstance(noise, str):
        if noise != "brooks":
            raise ValueError(f"noise must be None, 'brooks' or (shot, read), got {noise!r}")
        shot, read = sample_noise_levels(n, generator=generator, device=device)
    elif (
        isinstance(noise, (tuple, list))
        and len(noise) == 2
        and any(isinstance(v, torch.Tensor) for v in noise)
    ):
        pair: tuple[torch.Tensor | float, torch.Tensor | float] = (noise[0], noise[1])
        for name, v in (("shot", pair[0]), ("read", pair[1])):
            if isinstance(v, torch.Tensor) and (
                v.shape not in ((n,), ()) or not v.dtype.is_floating_point
            ):
                raise ValueError(
                    f"noise {name} level must be a float or a float tensor of shape ({n},), "
                    f"got {v.dtype} tensor of shape {tuple(v.shape)}"
                )
        shot, read = (v.to(device) if isinstance(v, torch.Tensor) else float(v) for v in pair)
    else:
        return resolve_noise(noise, _UNUSED_RNG)  # checks the pair: finite, >= 0
    a, b = (
        v.to(torch.float32).expand(n).reshape(-1, 1, 1, 1) if isinstance(v, torch.Tensor) else v
        for v in (shot, read)
    )
    return a, b


def _add_noise(out: torch.Tensor, shot: Any, read: Any, z: torch.Tensor) -> None:
    """``out = clip(out + sqrt(max(out · shot + read, 0)) · z, 0, 1)``, in place."""
    sigma = out * shot + read
    sigma.clamp_min_(0.0).sqrt_()
    out.addcmul_(sigma, z).clamp_(0.0, 1.0)


def _noisy(x: torch.Tensor, shot: Any, read: Any, z: torch.Tensor) -> torch.Tensor:
    """:func:`_add_noise` out of place, for the differentiable path."""
    sigma = (x * shot + read).clamp_min(0.0).sqrt()
    return (x + sigma * z.to(x.dtype)).clamp(0.0, 1.0)


def _check_noise(noise: Any) -> None:
    """Reject a bad ``noise`` argument early (when a transform is made)."""
    if isinstance(noise, str):
        if noise != "brooks":
            raise ValueError(f"noise must be None, 'brooks' or (shot, read), got {noise!r}")
    elif noise is not None and not any(isinstance(v, torch.Tensor) for v in noise):
        resolve_noise(noise, _UNUSED_RNG)  # draws nothing for a pair
