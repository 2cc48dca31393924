"""torchvision's architectures: building, first-layer replacement and weight loading.

The models of :data:`classifiers.models.MODELS`; :func:`classifiers.models.create` is
the public entry point. Weights are torchvision's ImageNet weights (read from torch.hub's
cache or downloaded) or a local state dict, with or without a ``"module."`` prefix,
with or without the head, in KimiaNet's layout or torchvision's old DenseNet names.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision  # type: ignore[import-untyped]
from torch import nn
from torchvision.models.vision_transformer import (  # type: ignore[import-untyped]
    interpolate_embeddings,
)

from .backbone import ModelSpec, adapt_first_layer, replace_first_conv

__all__ = ["WeightsUnavailableError", "build", "imagenet_checkpoint_path"]

# Per model: (first convolution, classification head, torchvision weight enum name).
_LAYOUT = {
    "resnet50": ("conv1", "fc", "ResNet50_Weights"),
    "densenet121": ("features.conv0", "classifier", "DenseNet121_Weights"),
    "vit_b_16": ("conv_proj", "heads.head", "ViT_B_16_Weights"),
    "vit_b_32": ("conv_proj", "heads.head", "ViT_B_32_Weights"),
    "vit_l_16": ("conv_proj", "heads.head", "ViT_L_16_Weights"),
    "vit_l_32": ("conv_proj", "heads.head", "ViT_L_32_Weights"),
    "mobilenet_v3_small": ("features.0.0", "classifier.3", "MobileNet_V3_Small_Weights"),
}
# Old torchvision DenseNet checkpoints name layers 'norm.1' instead of 'norm1'.
_OLD_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$"
)
# KimiaNet wraps DenseNet121's features as 'model.0' and names its 30-class head 'fc_4'.
_KIMIANET_PREFIXES = (("model.0.", "features."), ("fc_4.", "classifier."))
_LOG = logging.getLogger(__name__)


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights were asked for but cannot be read or downloaded.

    Examples
    --------
    >>> issubclass(WeightsUnavailableError, RuntimeError)  # its message says where to put them
    True
    """


def imagenet_checkpoint_path(name: str) -> Path:
    """Where torch.hub looks for the ImageNet weights of model ``name`` before downloading.

    ``torch.hub.get_dir()/checkpoints/<file name of the weight enum's URL>``; put the file
    there on a machine without internet access.

    Examples
    --------
    >>> imagenet_checkpoint_path("resnet50").name
    'resnet50-11ad3fa6.pth'
    """
    url = _imagenet_enum(name).url
    return Path(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(url).path))


def build(spec: ModelSpec) -> nn.Module:
    """torchvision's architecture ``spec.name`` with its first layer and weights.

    Examples
    --------
    >>> net = build(ModelSpec("mobilenet_v3_small", num_classes=3, in_channels=1))
    >>> net.features[0][0].in_channels, net.classifier[3].out_features
    (1, 3)
    """
    name, in_channels, weights = spec.name, spec.in_channels, spec.weights
    image_size, channel_colors = spec.image_size, spec.channel_colors
    kwargs: dict[str, int] = {"num_classes": spec.num_classes}
    if _patch(name) is not None:
        kwargs["image_size"] = image_size
    model: nn.Module = getattr(torchvision.models, name)(weights=None, **kwargs)
    if name == "mobilenet_v3_small":
        # torchvision's BatchNorm momentum of 0.01 suits ImageNet's long schedules; in a
        # short run from scratch the running statistics stay near their initial values
        # and the evaluation-mode model predicts one class. 0.1 (PyTorch's default) fixes it.
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.momentum = 0.1
    if in_channels != 3:
        _replace_first_layer(model, name, in_channels)
    if weights is not None:
        if isinstance(weights, str) and weights == "imagenet":
            state = _imagenet_state(name)
        else:
            state = _read_state_file(Path(weights))
        _load(model, name, state, image_size=image_size, channel_colors=channel_colors)
    return model


def _imagenet_enum(name: str) -> torchvision.models.WeightsEnum:
    return getattr(torchvision.models, _LAYOUT[name][2]).DEFAULT


def _imagenet_state(name: str) -> dict[str, torch.Tensor]:
    enum = _imagenet_enum(name)
    try:
        return enum.get_state_dict(progress=False, check_hash=False)
    except Exception as error:  # urllib, socket and SSL errors all land here
        raise WeightsUnavailableError(
            f"cannot load the ImageNet weights of {name} ({enum}): {error}. Without internet "
            f"access, download {enum.url} elsewhere and put the file at "
            f"{imagenet_checkpoint_path(name)}"
        ) from error


def _read_state_file(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise ValueError(f"weights file {path} does not hold a state dict of tensors")
    return dict(state)


def _normalise_keys(state: Mapping[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        while key.startswith("module."):
            key = key[len("module.") :]
        if name == "densenet121":
            for old, new in _KIMIANET_PREFIXES:
                if key.startswith(old):
                    key = new + key[len(old) :]
            match = _OLD_DENSENET_KEY.match(key)
            if match:
                key = match.group(1) + match.group(2)
        out[key] = value
    return out


def _load(
    model: nn.Module,
    name: str,
    state: Mapping[str, torch.Tensor],
    *,
    image_size: int,
    channel_colors: Sequence[int] | None,
) -> None:
    state = _normalise_keys(state, name)
    own = model.state_dict()

    first = _LAYOUT[name][0] + ".weight"
    if first in state and first in own and state[first].shape != own[first].shape:
        source, target = state[first], own[first]
        if source.shape[1] == 3 and source.shape[0] == target.shape[0]:
            state[first] = adapt_first_layer(source, target.shape[1], channel_colors)
        else:
            raise ValueError(
                f"{first} in the weights has shape {tuple(source.shape)}; {name} with "
                f"{target.shape[1]} input channels needs {tuple(target.shape)} "
                f"(or 3 input channels to adapt)"
            )

    position = "encoder.pos_embedding"
    if position in state and position in own and state[position].shape != own[position].shape:
        patch = _patch(name)
        state = dict(interpolate_embeddings(image_size, patch, dict(state)))

    head = _LAYOUT[name][1] + "."
    mismatched = [
        k for k in state if k.startswith(head) and k in own and state[k].shape != own[k].shape
    ]
    if mismatched:
        _LOG.info(
            "%s: head %s not loaded (%s has shape %s in the weights, %s in the model)",
            name,
            _LAYOUT[name][1],
            mismatched[0],
            tuple(state[mismatched[0]].shape),
            tuple(own[mismatched[0]].shape),
        )
        state = {k: v for k, v in state.items() if not k.startswith(head)}

    result = model.load_state_dict(state, strict=False)
    missing = [
        k for k in result.missing_keys if not k.startswith(head) and "num_batches_tracked" not in k
    ]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        raise ValueError(
            f"weights do not fit {name}: {len(missing)} missing keys {_preview(missing)}, "
            f"{len(unexpected)} unexpected keys {_preview(unexpected)}"
        )


def _preview(keys: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    more = f", … (+{len(keys) - limit})" if len(keys) > limit else ""
    return f"[{shown}{more}]"


def _replace_first_layer(model: nn.Module, name: str, in_channels: int) -> None:
    new = replace_first_conv(model, _LAYOUT[name][0], in_channels)
    if name.startswith("vit_"):
        # torchvision's ViT initialises conv_proj with a fan-in truncated normal.
        fan_in = in_channels * new.kernel_size[0] * new.kernel_size[1]
        nn.init.trunc_normal_(new.weight, std=(1.0 / fan_in) ** 0.5)
        if new.bias is not None:
            nn.init.zeros_(new.bias)
    else:
        nn.init.kaiming_normal_(new.weight, mode="fan_out", nonlinearity="relu")


def _patch(name: str) -> int | None:
    return int(name.rsplit("_", 1)[1]) if name.startswith("vit_") else None
