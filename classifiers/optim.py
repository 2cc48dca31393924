"""The optimiser and learning-rate schedule of a run: AdamW with decoupled weight decay
on weights only, optional layer-wise learning-rate decay, linear warm-up then cosine."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["build_optimizer", "warmup_cosine"]


def build_optimizer(
    model: nn.Module,
    *,
    lr: float,
    weight_decay: float,
    layer_decay: float = 1.0,
    fused: bool = False,
) -> torch.optim.AdamW:
    """AdamW over the trainable parameters of ``model``.

    Weight decay applies to parameters with ≥ 2 dimensions only (not to biases or
    normalisation parameters). With ``layer_decay`` < 1 the parameters are grouped by
    depth — a timm model by timm's ``param_groups_layer_decay`` (its ``group_matcher``;
    its ``no_weight_decay()`` names, such as position embeddings, get no weight decay), a
    torchvision ViT by encoder layer (patch embedding, class token and position
    embedding below the first layer, the final norm and the head above the last): the
    top keeps ``lr`` and each layer below gets ``layer_decay`` times the learning rate of
    the one above.

    Raises
    ------
    ValueError
        The model has no trainable parameter, or ``layer_decay`` < 1 for a model that is
        neither a timm model with layer groups nor a torchvision ViT.

    Examples
    --------
    >>> net = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3), nn.Linear(3, 2))
    >>> [(len(g["params"]), g["weight_decay"]) for g in build_optimizer(
    ...     net, lr=1e-3, weight_decay=0.05).param_groups]
    [(2, 0.05), (4, 0.0)]
    >>> from torchvision.models.vision_transformer import VisionTransformer
    >>> vit = VisionTransformer(image_size=8, patch_size=4, num_layers=2, num_heads=1,
    ...                         hidden_dim=4, mlp_dim=4, num_classes=2)
    >>> optimizer = build_optimizer(vit, lr=1e-3, weight_decay=0.05, layer_decay=0.5)
    >>> sorted({g["lr"] for g in optimizer.param_groups})
    [0.000125, 0.00025, 0.0005, 0.001]
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("the model has no trainable parameter")
    groups: list[dict[str, Any]]
    if layer_decay < 1 and hasattr(model, "group_matcher"):
        from timm.optim import param_groups_layer_decay

        skip = getattr(model, "no_weight_decay", None)
        groups = param_groups_layer_decay(
            model,
            weight_decay=weight_decay,
            no_weight_decay_list=tuple(skip()) if callable(skip) else (),
            layer_decay=layer_decay,
        )
        for group in groups:
            group["lr"] = lr * group.pop("lr_scale", 1.0)
    elif layer_decay < 1:
        groups = _torchvision_vit_groups(model, lr, weight_decay, layer_decay)
    else:
        groups = [
            {"params": [p for p in trainable if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0},
        ]
    groups = [g for g in groups if g["params"]]
    return torch.optim.AdamW(groups, lr=lr, fused=fused or None)


_ENCODER_LAYER = re.compile(r"^encoder\.layers\.encoder_layer_(\d+)\.")


def _torchvision_vit_groups(
    model: nn.Module, lr: float, weight_decay: float, layer_decay: float
) -> list[dict[str, Any]]:
    """Parameter groups by depth of a torchvision ViT (``encoder.layers.encoder_layer_i``)."""
    names = [name for name, _ in model.named_parameters()]
    depths = [int(m.group(1)) for m in map(_ENCODER_LAYER.match, names) if m]
    if not depths:
        raise ValueError(
            f"layer_decay needs a timm model with layer groups or a torchvision ViT; "
            f"{type(model).__name__} is neither (use layer_decay=1.0)"
        )
    top = max(depths) + 2
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        match = _ENCODER_LAYER.match(name)
        if match:
            depth = int(match.group(1)) + 1
        elif name.startswith(("conv_proj.", "class_token", "encoder.pos_embedding")):
            depth = 0
        else:
            depth = top
        decayed = parameter.ndim >= 2 and name not in ("encoder.pos_embedding", "class_token")
        group = groups.setdefault(
            (depth, decayed),
            {
                "params": [],
                "weight_decay": weight_decay if decayed else 0.0,
                "lr": lr * layer_decay ** (top - depth),
            },
        )
        group["params"].append(parameter)
    return list(groups.values())


def warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    """The factor of the peak learning rate at each step: linear warm-up over ``warmup``
    steps, then a cosine from 1 to 0 at step ``total`` (``torch.optim.lr_scheduler.LambdaLR``).

    Examples
    --------
    >>> factor = warmup_cosine(2, 6)
    >>> [round(factor(step), 3) for step in range(7)]
    [0.5, 1.0, 1.0, 0.854, 0.5, 0.146, 0.0]
    """

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor
