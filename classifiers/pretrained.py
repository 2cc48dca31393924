"""What a pretrained backbone brings besides its weights: the exact checkpoint, its own
input normalisation, and a fine-tuning recipe.

* :func:`checkpoint_name` — the exact checkpoint a model's weights come from, for the
  report (torchvision's weight enum, timm's ``architecture.tag``, DinoBloom's file).
* :func:`input_normalization` — the mean and standard deviation the backbone was
  pretrained with (ImageNet's for torchvision's weights, KimiaNet and DinoBloom; timm's
  pretrained config for timm's checkpoints, e.g. 0.5 / 0.5 for the AugReg ImageNet-21k
  ViTs), mapped onto the input channels; None for a randomly initialised model, which
  keeps the training set's own statistics.
* :func:`recipe` — per-model fine-tuning defaults (:class:`Recipe`: learning rate,
  warm-up, weight decay, layer-wise learning-rate decay for ViTs) that
  :meth:`Recipe.apply` writes into a :class:`classifiers.train.TrainConfig`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .models import check_model, patch_size
from .timm_models import DINOBLOOM, DINOBLOOM_FILES, IN21K_CHECKPOINTS, TIMM_PREFIX
from .torchvision_models import imagenet_checkpoint_path
from .train import TrainConfig

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "InputNormalization",
    "Recipe",
    "checkpoint_name",
    "input_normalization",
    "recipe",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Weights = str | os.PathLike[str] | None


@dataclass(frozen=True)
class InputNormalization:
    """Per input channel ``(x − mean[c]) / std[c]`` of values in [0, 1], and where it is from.

    Examples
    --------
    >>> n = input_normalization("resnet50", weights="imagenet", in_channels=4,
    ...                         channel_colors=(0, 1, 1, 2))
    >>> n.mean, n.source
    ((0.485, 0.456, 0.456, 0.406), 'ImageNet mean/std (torchvision)')
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    source: str


def checkpoint_name(name: str, *, weights: Weights) -> str | None:
    """The exact checkpoint of model ``name`` with ``weights``; None without weights.

    Examples
    --------
    >>> checkpoint_name("vit_b_16", weights="imagenet21k")
    'timm vit_base_patch16_224.augreg_in21k (Hugging Face timm/vit_base_patch16_224.augreg_in21k)'
    >>> checkpoint_name("dinobloom-s", weights="dinobloom")
    'DinoBloom DinoBloom-S.pth'
    >>> checkpoint_name("resnet50", weights=None) is None
    True
    """
    check_model(name)
    if weights is None:
        return None
    if weights == "imagenet21k":
        tag = IN21K_CHECKPOINTS[name]
        return f"timm {tag} (Hugging Face timm/{tag})"
    if weights == "dinobloom":
        return f"DinoBloom {DINOBLOOM_FILES[name]}"
    if weights == "imagenet" and name.startswith(TIMM_PREFIX):
        import timm

        cfg = timm.models.get_pretrained_cfg(name[len(TIMM_PREFIX) :])
        return f"timm {cfg.hf_hub_id if cfg is not None else name}"
    if weights == "imagenet":
        import torchvision  # type: ignore[import-untyped]

        from .torchvision_models import _LAYOUT

        enum = getattr(torchvision.models, _LAYOUT[name][2]).DEFAULT
        return f"torchvision {enum} ({imagenet_checkpoint_path(name).name})"
    return f"file {Path(weights)}"


def input_normalization(
    name: str,
    *,
    weights: Weights,
    in_channels: int = 3,
    channel_colors: Sequence[int] | None = None,
) -> InputNormalization | None:
    """The pretrained backbone's own normalisation for ``in_channels`` input channels.

    Parameters
    ----------
    name, weights
        As for :func:`classifiers.models.create`.
    in_channels : int
        1, 3 or 4.
    channel_colors : sequence of int, optional
        The RGB channel of each input channel (as for ``create``): each channel gets its
        colour's mean and std. Without it, 3 channels take RGB's and any other number the
        mean over RGB.

    Returns
    -------
    InputNormalization or None
        None when ``weights`` is None (random initialisation: use the training set's
        statistics).

    Examples
    --------
    >>> input_normalization("vit_b_16", weights="imagenet21k").mean
    (0.5, 0.5, 0.5)
    >>> input_normalization("resnet50", weights=None) is None
    True
    """
    check_model(name)
    if weights is None:
        return None
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    source = "ImageNet mean/std (torchvision)"
    tag = None
    if weights == "imagenet21k":
        tag = IN21K_CHECKPOINTS[name]
    elif name.startswith(TIMM_PREFIX):
        tag = name[len(TIMM_PREFIX) :]
    elif name in DINOBLOOM:
        source = "ImageNet mean/std (DINOv2, DinoBloom)"
    if tag is not None:
        import timm

        cfg = timm.models.get_pretrained_cfg(tag)
        if cfg is not None:
            mean, std = tuple(cfg.mean), tuple(cfg.std)
            source = f"timm {cfg.hf_hub_id or tag} pretrained config"
    return InputNormalization(
        _per_channel(mean, in_channels, channel_colors),
        _per_channel(std, in_channels, channel_colors),
        source,
    )


def _per_channel(
    values: Sequence[float], in_channels: int, colors: Sequence[int] | None
) -> tuple[float, ...]:
    if colors is not None:
        if len(colors) != in_channels:
            raise ValueError(
                f"channel_colors must give one RGB index per input channel ({in_channels}); "
                f"got {tuple(colors)!r}"
            )
        return tuple(float(values[c]) for c in colors)
    if in_channels == 3:
        return tuple(float(v) for v in values)
    return (float(sum(values) / 3),) * in_channels


@dataclass(frozen=True)
class Recipe:
    """Fine-tuning defaults of one model.

    Attributes
    ----------
    lr : float
        Peak AdamW learning rate.
    warmup_epochs : float
    weight_decay : float
    layer_decay : float
        Layer-wise learning-rate decay (each block from the head down gets this factor
        more); 1.0: none.
    source : str
        Where the values come from.

    Examples
    --------
    >>> r = recipe("vit_b_16", weights="imagenet21k", mode="full")
    >>> r.lr, r.layer_decay, r.warmup_epochs
    (0.0001, 0.65, 3.0)
    >>> r.apply(TrainConfig(epochs=5)).layer_decay
    0.65
    """

    lr: float
    warmup_epochs: float
    weight_decay: float
    layer_decay: float
    source: str

    def apply(self, config: TrainConfig) -> TrainConfig:
        """``config`` with this recipe's learning rate, warm-up, weight and layer decay."""
        return dataclasses.replace(
            config,
            lr=self.lr,
            warmup_epochs=self.warmup_epochs,
            weight_decay=self.weight_decay,
            layer_decay=self.layer_decay,
        )


_SCRATCH = Recipe(1e-3, 1.0, 0.05, 1.0, "from scratch: AdamW 1e-3, one warm-up epoch")
_LINEAR = Recipe(1e-3, 1.0, 0.0, 1.0, "linear probe: AdamW 1e-3 on the head, no weight decay")
_CNN = Recipe(1e-4, 1.0, 0.05, 1.0, "CNN fine-tuning: AdamW 1e-4")
_VIT_SOURCE = (
    "ViT fine-tuning as BEiT and MAE: AdamW, base lr 5e-4 × batch / 256 (1e-4 at batch 64), "
    "layer decay {decay} ({size}), warm-up"
)


def recipe(name: str, *, weights: Weights, mode: str = "full") -> Recipe:
    """The fine-tuning defaults of model ``name`` with ``weights`` in ``mode``.

    From scratch: AdamW 1e-3 (the project's default). Linear probe (``mode="linear"``):
    1e-3 on the head. Pretrained CNNs: 1e-4. Pretrained ViTs (torchvision's, timm's
    ImageNet-21k, DinoBloom, a ``timm:`` transformer): 1e-4, three warm-up epochs and
    layer-wise decay 0.65 (small and base) or 0.75 (large and giant).

    Examples
    --------
    >>> recipe("resnet50", weights="imagenet").lr, recipe("resnet50", weights=None).lr
    (0.0001, 0.001)
    >>> recipe("dinobloom-l", weights="dinobloom").layer_decay
    0.75
    """
    check_model(name)
    if weights is None:
        return _SCRATCH
    if mode == "linear":
        return _LINEAR
    if patch_size(name) is None:
        return _CNN
    large = any(size in name for size in ("_l_", "large", "giant", "-l", "-g"))
    decay = 0.75 if large else 0.65
    size = "large and giant" if large else "small and base"
    return Recipe(1e-4, 3.0, 0.05, decay, _VIT_SOURCE.format(decay=decay, size=size))
