"""What every model builder shares: the request for a model, and first-layer surgery.

A pretrained RGB model meets 1- or 4-channel raw input at its first convolution:
:func:`adapt_first_layer` turns its RGB kernels into kernels for the input's channels
(by colour where the channels have one), and :func:`replace_first_conv` puts a
convolution of the new width in its place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ModelSpec", "adapt_first_layer", "replace_first_conv"]


@dataclass(frozen=True)
class ModelSpec:
    """The model :func:`classifiers.models.create` is asked for (its arguments).

    Examples
    --------
    >>> ModelSpec("resnet50", num_classes=15, in_channels=4).image_size
    224
    """

    name: str
    num_classes: int
    in_channels: int = 3
    weights: str | os.PathLike[str] | None = None
    image_size: int = 224
    channel_colors: Sequence[int] | None = None


def adapt_first_layer(
    weight: torch.Tensor, in_channels: int, channel_colors: Sequence[int] | None = None
) -> torch.Tensor:
    """Turn RGB first-layer kernels (O, 3, kh, kw) into kernels for ``in_channels`` inputs.

    Without ``channel_colors``, every input channel gets the mean of the three RGB kernels
    times ``3 / in_channels`` (for one channel: the sum over RGB). With ``channel_colors``
    (the RGB channel of each input channel; every colour must appear), input channel ``i``
    gets the kernel of its colour divided by how many input channels share that colour.
    Either way the kernels over all input channels sum to the RGB sum, so an input whose
    channels are all equal to a gray image gives the RGB model's response to that gray
    image.

    Returns
    -------
    torch.Tensor
        Shape (O, in_channels, kh, kw), same dtype and device as ``weight``.

    Examples
    --------
    >>> rgb = torch.arange(6.0).reshape(1, 3, 1, 2)
    >>> adapt_first_layer(rgb, 4, channel_colors=(0, 1, 1, 2))[0, :, 0, 0].tolist()
    [0.0, 1.0, 1.0, 4.0]
    >>> float(adapt_first_layer(rgb, 1).sum()) == float(rgb.sum())
    True
    """
    if weight.ndim != 4 or weight.shape[1] != 3:
        raise ValueError(f"weight must have shape (O, 3, kh, kw); got {tuple(weight.shape)}")
    if channel_colors is None:
        mean = weight.mean(dim=1, keepdim=True)
        return mean.repeat(1, in_channels, 1, 1) * (3.0 / in_channels)
    colors = [int(c) for c in channel_colors]
    if len(colors) != in_channels or sorted(set(colors)) != [0, 1, 2]:
        raise ValueError(
            f"channel_colors must give an RGB index (0, 1, 2) for each of the {in_channels} "
            f"input channels, using every colour; got {tuple(channel_colors)!r}"
        )
    counts = [colors.count(c) for c in range(3)]
    return torch.stack([weight[:, c] / counts[c] for c in colors], dim=1)


def replace_first_conv(
    model: nn.Module, name: str, in_channels: int, weight: torch.Tensor | None = None
) -> nn.Conv2d:
    """Replace the ``nn.Conv2d`` at dotted ``name`` by one of the same geometry with
    ``in_channels`` inputs; returns it.

    With ``weight`` (O, in_channels, kh, kw) its kernels are set and the old bias kept;
    without, it keeps PyTorch's default initialisation (for the caller to change).

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
    >>> conv = replace_first_conv(net, "0", 4)
    >>> net[0] is conv, tuple(conv.weight.shape), conv.padding
    (True, (8, 4, 3, 3), (1, 1))
    """
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, child)
    if not isinstance(old, nn.Conv2d):
        raise TypeError(f"{name} is not a Conv2d: {type(old).__name__}")
    new = nn.Conv2d(
        in_channels,
        old.out_channels,
        kernel_size=(old.kernel_size[0], old.kernel_size[1]),
        stride=(old.stride[0], old.stride[1]),
        padding=old.padding if isinstance(old.padding, str) else (old.padding[0], old.padding[1]),
        bias=old.bias is not None,
    )
    if weight is not None:
        with torch.no_grad():
            new.weight.copy_(weight)
            if old.bias is not None and new.bias is not None:
                new.bias.copy_(old.bias)
    setattr(parent, child, new)
    return new
