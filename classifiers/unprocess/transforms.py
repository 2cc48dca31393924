"""Camera augmentation as a transform, in the kornia manner: :func:`random_camera` and
its ``nn.Module`` :class:`RandomCamera`.

Each sample gets its own camera, drawn by the transform: uniformly from a
:class:`~classifiers.unprocess.Cameras` table when one is given, otherwise a fresh
camera per sample from :meth:`rawspace.CameraParams.sample` (seeded from the
transform's generator). A single image (3, H, W) or a batch (N, 3, H, W), uint8 or
float, becomes raw through :func:`~classifiers.unprocess.invert`, so the module fits in
``torchvision.transforms.v2.Compose`` and in a training step alike.
"""

from __future__ import annotations

import torch
from torch import nn

from rawspace.hints import LAYOUTS, Layout

from .cameras import Cameras
from .noise import NoiseArg, _check_noise
from .pipeline import Scale, invert

__all__ = ["RandomCamera", "draw_cameras", "random_camera"]

_SEED_BOUND = 2**62


def draw_cameras(
    n: int,
    cameras: Cameras | None = None,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> Cameras:
    """Draw one camera per sample: uniformly from ``cameras``, or fresh ones.

    Parameters
    ----------
    n : int
        Number of samples.
    cameras : Cameras, optional
        The table to draw from (indices ``randint(len(cameras), (n,))`` from
        ``generator``, on the generator's device). None: ``Cameras.sample(n, seed)``
        with a seed drawn from ``generator`` (Brooks et al.'s random cameras, RGGB).
    generator : torch.Generator, optional
    device : torch.device or str, optional
        Where the result lives (default: the table's, or CPU).

    Returns
    -------
    Cameras
        ``n`` cameras on ``device``.

    Examples
    --------
    >>> table = Cameras.sample(3, seed=0)
    >>> len(draw_cameras(5, table, generator=torch.Generator().manual_seed(0)))
    5
    """
    where = generator.device if generator is not None else None
    if cameras is None:
        seed = int(torch.randint(_SEED_BOUND, (1,), generator=generator, device=where))
        return Cameras.sample(n, seed, device=device)
    if not isinstance(cameras, Cameras):
        raise TypeError(f"cameras must be a Cameras table or None, got {type(cameras).__name__}")
    index = torch.randint(len(cameras), (n,), generator=generator, device=where)
    target = cameras.device if device is None else torch.device(device)
    return cameras.to(target)[index.to(target)]


def random_camera(
    rgb: torch.Tensor,
    *,
    layout: Layout = "packed",
    noise: NoiseArg = None,
    cameras: Cameras | None = None,
    generator: torch.Generator | None = None,
    differentiable: bool = False,
    scale: Scale = "unit",
    check_range: bool = False,
) -> torch.Tensor:
    """Unprocess each sample of ``rgb`` with a camera drawn for it (:func:`draw_cameras`).

    Parameters
    ----------
    rgb : torch.Tensor
        (3, H, W) or (N, 3, H, W) sRGB, uint8 or float in [0, 1], on any device.
    layout, noise, differentiable, scale, check_range
        As :func:`~classifiers.unprocess.invert`.
    cameras : Cameras, optional
        The table to draw from; None draws fresh random cameras.
    generator : torch.Generator, optional
        Draws the cameras, then the noise; on ``rgb``'s device when there is noise.

    Returns
    -------
    torch.Tensor
        The raw sample(s), (C, H', W') for a single image and (N, C, H', W') for a
        batch (see :func:`~classifiers.unprocess.invert`).

    Examples
    --------
    >>> x = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    >>> random_camera(x, layout="bayer", generator=torch.Generator().manual_seed(0)).shape
    torch.Size([1, 8, 8])
    """
    if not isinstance(rgb, torch.Tensor) or rgb.ndim not in (3, 4):
        shape = tuple(rgb.shape) if isinstance(rgb, torch.Tensor) else type(rgb).__name__
        raise ValueError(f"rgb must be a tensor (3, H, W) or (N, 3, H, W), got {shape}")
    batch = rgb if rgb.ndim == 4 else rgb.unsqueeze(0)
    table = draw_cameras(batch.shape[0], cameras, generator=generator, device=rgb.device)
    out = invert(
        batch,
        table,
        layout=layout,
        noise=noise,
        generator=generator,
        check_range=check_range,
        differentiable=differentiable,
        scale=scale,
    )
    return out if rgb.ndim == 4 else out[0]


class RandomCamera(nn.Module):
    """:func:`random_camera` as a module: sRGB image(s) → raw with a random camera each.

    Parameters
    ----------
    layout : {"bayer", "packed", "linear"}, default "packed"
    noise : None, "brooks" or (shot, read)
    cameras : Cameras, optional
        The cameras to draw from; None draws fresh random cameras (Brooks et al.), on
        the host with :meth:`rawspace.CameraParams.sample` (about 0.15 ms a camera):
        for large batches on a GPU, draw a table once (``Cameras.sample(4096, seed,
        device=...)``, or ``source="training"`` for real cameras) and pass it here.
    generator : torch.Generator, optional
        Used for every draw of the module, for reproducible pipelines.
    differentiable : bool, default False
        Let gradients flow back to float input (:func:`~classifiers.unprocess.invert`).
    scale : {"unit", "levels"}, default "unit"

    Examples
    --------
    >>> transform = RandomCamera(layout="packed", generator=torch.Generator().manual_seed(0))
    >>> transform(torch.rand(2, 3, 8, 8)).shape
    torch.Size([2, 4, 4, 4])
    """

    def __init__(
        self,
        *,
        layout: Layout = "packed",
        noise: NoiseArg = None,
        cameras: Cameras | None = None,
        generator: torch.Generator | None = None,
        differentiable: bool = False,
        scale: Scale = "unit",
    ) -> None:
        super().__init__()
        if not isinstance(layout, str) or layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
        if scale not in ("unit", "levels"):
            raise ValueError(f"scale must be 'unit' or 'levels', got {scale!r}")
        if cameras is not None and not isinstance(cameras, Cameras):
            raise TypeError(
                f"cameras must be a Cameras table or None, got {type(cameras).__name__}"
            )
        _check_noise(noise)
        self.layout: Layout = layout
        self.noise = noise
        self.cameras = cameras
        self.generator = generator
        self.differentiable = differentiable
        self.scale: Scale = scale

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """(3, H, W) or (N, 3, H, W) sRGB → raw, a camera drawn per sample."""
        return random_camera(
            rgb,
            layout=self.layout,
            noise=self.noise,
            cameras=self.cameras,
            generator=self.generator,
            differentiable=self.differentiable,
            scale=self.scale,
        )

    def extra_repr(self) -> str:
        pool = "fresh" if self.cameras is None else f"{len(self.cameras)} in a table"
        return f"layout={self.layout!r}, noise={self.noise!r}, cameras={pool}"
