"""Classifier models: architectures with weights, channel adaptation and regime.

:func:`create` builds a model for ``num_classes`` classes and an input of ``in_channels``
channels, loads weights and sets the training regime (:data:`MODES`). Names
(:func:`check_model`):

* :data:`MODELS` — torchvision architectures with none, torchvision's ImageNet weights
  or a local state dict (such as KimiaNet's ``.pth``); the ViTs also with
  ``weights="imagenet21k"``, which builds timm's architecture with its ImageNet-21k
  checkpoint (:data:`classifiers.timm_models.IN21K_CHECKPOINTS`);
* ``timm:NAME`` — any timm architecture;
* ``dinobloom-s``, ``dinobloom-b``, ``dinobloom-l``, ``dinobloom-g`` — DINOv2 ViT/14 at
  224 px with DinoBloom's checkpoint (``weights="dinobloom"`` or a path).

Every model takes a float tensor of shape (N, ``in_channels``, H, W) and returns logits
of shape (N, ``num_classes``).
"""

from __future__ import annotations

import functools
import os
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import timm_models, torchvision_models
from .backbone import ModelSpec, adapt_first_layer, replace_first_conv
from .timm_models import DINOBLOOM, IN21K_CHECKPOINTS
from .torchvision_models import _LAYOUT, WeightsUnavailableError, imagenet_checkpoint_path

__all__ = [
    "IN_CHANNELS",
    "MODELS",
    "MODES",
    "PRETRAINED",
    "WeightsUnavailableError",
    "adapt_first_layer",
    "check_model",
    "create",
    "first_layer_name",
    "head_name",
    "imagenet_checkpoint_path",
    "patch_size",
    "read_weights",
]

#: The study's models, plus MobileNetV3-Small: a small model for quick CPU runs (the demo).
MODELS = (
    "resnet50",
    "densenet121",
    "vit_b_16",
    "vit_b_32",
    "vit_l_16",
    "vit_l_32",
    "mobilenet_v3_small",
)
MODES = ("full", "linear")
#: Named weights besides a path: torchvision's ImageNet-1k, timm's ImageNet-21k (ViTs),
#: DinoBloom's checkpoint (``dinobloom-*``) from its default place.
PRETRAINED = ("imagenet", "imagenet21k", "dinobloom")
IN_CHANNELS = (1, 3, 4)


def check_model(name: str) -> str:
    """``name`` if :func:`create` knows it, else a ValueError listing what it accepts.

    Examples
    --------
    >>> check_model("dinobloom-s"), check_model("timm:resnet18")
    ('dinobloom-s', 'timm:resnet18')
    >>> check_model("efficientnet")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: model must be one of resnet50, ..., dinobloom-g or timm:NAME ...; got 'efficientnet'
    """
    if name in _LAYOUT or name in DINOBLOOM or timm_models.is_timm_name(name):
        return name
    raise ValueError(
        f"model must be one of {', '.join((*MODELS, *DINOBLOOM))} or timm:NAME (any timm "
        f"architecture, e.g. timm:efficientnet_b0); got {name!r}"
    )


def _by_timm(name: str, weights: object) -> bool:
    """Whether timm builds ``name`` with ``weights``."""
    return name not in _LAYOUT or (name in IN21K_CHECKPOINTS and weights == "imagenet21k")


def read_weights(name: str, path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The state dict in the weights file ``path`` of model ``name``, read as
    :func:`create` reads it: DinoBloom's checkpoint layout for ``dinobloom-*``, timm's
    reader (``.pth`` or ``.safetensors``) for models timm builds, a torchvision state
    dict (optionally under ``state_dict`` or ``model``) otherwise.

    Raises
    ------
    FileNotFoundError, ValueError
        No such file, or it holds no state dict of tensors.
    Exception
        Whatever torch or safetensors raise for a file that is not theirs.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.pth"
    >>> torch.save({"state_dict": {"fc.weight": torch.zeros(2, 2)}}, path)
    >>> list(read_weights("resnet50", path))
    ['fc.weight']
    """
    path = Path(path)
    if name in DINOBLOOM:
        return timm_models._dinobloom_state(path)
    if _by_timm(name, path):
        import timm.models

        if not path.is_file():
            raise FileNotFoundError(f"weights file not found: {path}")
        state = timm.models.load_state_dict(str(path))
        if not isinstance(state, dict) or not state:
            raise ValueError(f"weights file {path} does not hold a state dict of tensors")
        return dict(state)
    return torchvision_models._read_state_file(path)


def first_layer_name(name: str, *, weights: str | os.PathLike[str] | None = None) -> str:
    """The dotted name of the first convolution of model ``name`` with ``weights``.

    Examples
    --------
    >>> first_layer_name("resnet50"), first_layer_name("vit_b_16")
    ('conv1', 'conv_proj')
    >>> first_layer_name("vit_b_16", weights="imagenet21k"), first_layer_name("dinobloom-s")
    ('patch_embed.proj', 'patch_embed.proj')
    """
    if _by_timm(check_model(name), weights):
        return timm_models.first_conv(_meta_timm(name))
    return _LAYOUT[name][0]


def head_name(name: str, *, weights: str | os.PathLike[str] | None = None) -> str:
    """The dotted name of the classification head (an ``nn.Linear``) of model ``name``.

    Examples
    --------
    >>> head_name("densenet121"), head_name("vit_b_16"), head_name("timm:resnet18")
    ('classifier', 'heads.head', 'fc')
    """
    if _by_timm(check_model(name), weights):
        return timm_models.classifier(_meta_timm(name))
    return _LAYOUT[name][1]


def patch_size(name: str) -> int | None:
    """The ViT patch size of model ``name``, or None for a convolutional network.

    Examples
    --------
    >>> patch_size("vit_l_32"), patch_size("resnet50"), patch_size("dinobloom-l")
    (32, None, 14)
    """
    check_model(name)
    if name in _LAYOUT:
        return int(name.rsplit("_", 1)[1]) if name.startswith("vit_") else None
    embed = getattr(_meta_timm(name), "patch_embed", None)
    size = getattr(embed, "patch_size", None)
    return None if size is None else int(size[0] if isinstance(size, tuple) else size)


@functools.lru_cache(maxsize=32)
def _meta_timm(name: str) -> nn.Module:
    """The timm architecture of ``name`` on the meta device (names and shapes, no memory)."""
    import timm

    architecture = timm_models.timm_architecture(name)
    options: dict[str, Any] = {"img_size": 224} if name in DINOBLOOM else {}
    with torch.device("meta"):
        model: nn.Module = timm.create_model(architecture, pretrained=False, **options)
    return model


def create(
    name: str,
    *,
    num_classes: int,
    in_channels: int = 3,
    weights: str | os.PathLike[str] | None = None,
    mode: str = "full",
    image_size: int = 224,
    channel_colors: Sequence[int] | None = None,
) -> nn.Module:
    """Build a classifier.

    Parameters
    ----------
    name : str
        One of :data:`MODELS` (``densenet121`` is KimiaNet's architecture), ``timm:NAME``
        or ``dinobloom-s|b|l|g`` (:func:`check_model`).
    num_classes : int
        Number of output logits (≥ 2).
    in_channels : int
        Channels of the input tensor: 1, 3 or 4 (:data:`IN_CHANNELS`).
    weights : None, "imagenet", "imagenet21k", "dinobloom" or path
        None: random initialisation. ``"imagenet"``: torchvision's DEFAULT weights from
        torch.hub's cache (:func:`imagenet_checkpoint_path`) or downloaded (``timm:NAME``:
        timm's default tag). ``"imagenet21k"`` (ViTs): timm's ImageNet-21k checkpoint
        (:mod:`classifiers.timm_models`). ``"dinobloom"``: DinoBloom's file at its default
        place. A path: a timm state dict (``timm:NAME``), DinoBloom's file
        (``dinobloom-*``), or a torchvision state dict (:mod:`classifiers.torchvision_models`:
        prefixes, KimiaNet's layout). A head of another shape is not loaded; any other
        missing or unexpected key raises.
    mode : str
        ``"full"`` trains every parameter; ``"linear"`` only the head (the backbone frozen
        and kept in eval mode by ``model.train()``: a fixed feature extractor).
    image_size : int
        Side of the square input of the ViTs (a multiple of the patch size; loaded position
        embeddings are interpolated to it); convolutional models ignore it.
    channel_colors : sequence of int, optional
        For pretrained weights and ``in_channels != 3``: the RGB channel (0, 1, 2) that
        each input channel corresponds to, e.g. ``(0, 1, 1, 2)`` for packed RGGB planes.
        See :func:`adapt_first_layer`.

    Returns
    -------
    torch.nn.Module
        On the CPU, float32; maps (N, in_channels, H, W) to logits (N, num_classes).

    Raises
    ------
    ValueError
        A bad argument, or weights that do not fit the architecture.
    WeightsUnavailableError
        Named weights that are neither cached nor downloadable.
    FileNotFoundError
        ``weights`` names a file that does not exist.

    Examples
    --------
    >>> net = create("mobilenet_v3_small", num_classes=3, in_channels=4)
    >>> net(torch.zeros(2, 4, 32, 32)).shape
    torch.Size([2, 3])
    >>> net = create("timm:resnet18", num_classes=3, in_channels=1)
    >>> net(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 3])
    """
    check_model(name)
    _check_options(name, num_classes=num_classes, in_channels=in_channels, mode=mode,
                   image_size=image_size, weights=weights)  # fmt: skip
    spec = ModelSpec(name, num_classes, in_channels, weights, image_size, channel_colors)
    model = _timm_model(spec) if _by_timm(name, weights) else torchvision_models.build(spec)
    if mode == "linear":
        _freeze_backbone(model, head_name(name, weights=weights))
    return model


def _freeze_backbone(model: nn.Module, head: str) -> None:
    """Train only ``head``: every other parameter frozen, the backbone kept in eval mode."""
    for key, parameter in model.named_parameters():
        parameter.requires_grad_(key.startswith(head + "."))
    train = functools.partial(_train_head_only, head=head)
    model.train = types.MethodType(train, model)  # type: ignore[method-assign]
    model.train()


def _check_options(
    name: str,
    *,
    num_classes: int,
    in_channels: int,
    mode: str,
    image_size: int,
    weights: str | os.PathLike[str] | None,
) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if in_channels not in IN_CHANNELS:
        raise ValueError(
            f"in_channels must be one of {', '.join(map(str, IN_CHANNELS))}; got {in_channels!r}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer ≥ 2; got {num_classes!r}")
    if isinstance(weights, str) and weights in PRETRAINED:
        allowed = {"imagenet21k": IN21K_CHECKPOINTS, "dinobloom": DINOBLOOM}.get(weights)
        if (allowed is not None and name not in allowed) or (
            weights == "imagenet" and name in DINOBLOOM
        ):
            raise ValueError(
                f"weights {weights!r} do not exist for {name}; "
                f"{weights} is for {', '.join(allowed or DINOBLOOM)}"
                if allowed is not None
                else f"weights 'imagenet' do not exist for {name}; use 'dinobloom' or a path"
            )
    patch = patch_size(name)
    if patch is not None and (
        not isinstance(image_size, int) or image_size < patch or image_size % patch
    ):
        raise ValueError(
            f"image_size must be a positive multiple of {name}'s patch size {patch}; "
            f"got {image_size!r}"
        )


def _timm_model(spec: ModelSpec) -> nn.Module:
    """timm's model; the first layer adapted by timm, or by colour with ``channel_colors``."""
    name, in_channels, colors = spec.name, spec.in_channels, spec.channel_colors
    by_colour = spec.weights is not None and in_channels != 3 and colors is not None
    try:
        model = timm_models.create_timm(spec, adapt=by_colour)
    except timm_models.Unavailable as error:
        where = (
            timm_models.imagenet21k_checkpoint_path(name)
            if name in IN21K_CHECKPOINTS
            else "timm's Hugging Face cache"
        )
        raise WeightsUnavailableError(
            f"cannot load the pretrained weights of {name}: {error}. Without internet access, "
            f"put the checkpoint at {where}"
        ) from error
    if by_colour:
        layer = timm_models.first_conv(model)
        conv = model.get_submodule(layer)
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"{layer} of {name} is not a Conv2d")
        weight = adapt_first_layer(conv.weight.detach(), in_channels, colors)
        replace_first_conv(model, layer, in_channels, weight)
    return model


def _train_head_only(self: nn.Module, mode: bool = True, *, head: str) -> nn.Module:
    """``train`` of a linear-mode model: the backbone stays in eval mode, the head (and the
    root's ``training`` flag) follow ``mode``."""
    nn.Module.train(self, False)
    self.get_submodule(head).train(mode)
    self.training = mode
    return self
