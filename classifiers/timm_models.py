"""Models built by timm: any ``timm:NAME``, the study's ViTs with ImageNet-21k weights,
and DinoBloom (DINOv2 ViT-S/B/L/G/14 trained on blood-cell images).

* ``timm:NAME`` — ``timm.create_model(NAME, num_classes=..., in_chans=...)``. Weights:
  none, ``"imagenet"`` (timm's default pretrained tag, from the Hugging Face cache or the
  hub) or a local file (a timm state dict, ``.pth`` or ``.safetensors``), loaded by timm
  itself (its checkpoint filter resamples position embeddings; its ``in_chans``
  adaptation turns RGB kernels into 1 or 4 channels) unless ``channel_colors`` asks for
  the project's colour-aware adaptation (:func:`classifiers.models.adapt_first_layer`).
* ``vit_b_16``, ``vit_b_32``, ``vit_l_16``, ``vit_l_32`` with ``weights="imagenet21k"``
  — timm's architecture and its ImageNet-21k checkpoint (:data:`IN21K_CHECKPOINTS`:
  ``augreg_in21k``, and ``orig_in21k`` for L/32, which has no AugReg checkpoint), read
  from :func:`imagenet21k_checkpoint_path` or downloaded when online.
* ``dinobloom-s``, ``-b``, ``-l``, ``-g`` — timm's ``vit_*_patch14_dinov2`` at 224 px
  (:data:`DINOBLOOM`) with DinoBloom's checkpoint (Koch et al. 2024, the files
  ``DinoBloom-S.pth`` … ``DinoBloom-G.pth`` on Zenodo): its ``teacher`` weights without
  the DINO and iBOT heads, in the DINOv2 layout that timm converts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .backbone import ModelSpec, replace_first_conv

__all__ = [
    "DINOBLOOM",
    "DINOBLOOM_FILES",
    "IN21K_CHECKPOINTS",
    "TIMM_PREFIX",
    "Unavailable",
    "classifier",
    "create_timm",
    "dinobloom_checkpoint_path",
    "first_conv",
    "imagenet21k_checkpoint_path",
    "is_timm_name",
    "timm_architecture",
]

TIMM_PREFIX = "timm:"
#: DinoBloom sizes → timm's DINOv2 architecture (patch 14).
DINOBLOOM = {
    "dinobloom-s": "vit_small_patch14_dinov2",
    "dinobloom-b": "vit_base_patch14_dinov2",
    "dinobloom-l": "vit_large_patch14_dinov2",
    "dinobloom-g": "vit_giant_patch14_dinov2",
}
#: The checkpoint file of each DinoBloom size, as published.
DINOBLOOM_FILES = {
    "dinobloom-s": "DinoBloom-S.pth",
    "dinobloom-b": "DinoBloom-B.pth",
    "dinobloom-l": "DinoBloom-L.pth",
    "dinobloom-g": "DinoBloom-G.pth",
}
#: The study's ViTs → timm's ImageNet-21k checkpoint (architecture.tag).
IN21K_CHECKPOINTS = {
    "vit_b_16": "vit_base_patch16_224.augreg_in21k",
    "vit_b_32": "vit_base_patch32_224.augreg_in21k",
    "vit_l_16": "vit_large_patch16_224.augreg_in21k",
    "vit_l_32": "vit_large_patch32_224.orig_in21k",
}
_DINOV2_HEADS = ("dino_head", "ibot_head")


class Unavailable(RuntimeError):
    """Pretrained weights could not be read or downloaded (``models.create`` says where to
    put them).

    Examples
    --------
    >>> issubclass(Unavailable, RuntimeError)
    True
    """


def is_timm_name(name: str) -> bool:
    """Whether ``name`` is ``timm:NAME`` for an architecture timm knows.

    Examples
    --------
    >>> is_timm_name("timm:resnet18"), is_timm_name("timm:no_such_net"), is_timm_name("resnet18")
    (True, False, False)
    """
    if not name.startswith(TIMM_PREFIX):
        return False
    import timm

    return bool(timm.is_model(name[len(TIMM_PREFIX) :]))


def timm_architecture(name: str) -> str:
    """The timm architecture behind a model name (``timm:NAME``, ``dinobloom-*`` or one of
    :data:`IN21K_CHECKPOINTS` with ImageNet-21k weights), without a pretrained tag.

    Examples
    --------
    >>> timm_architecture("dinobloom-b"), timm_architecture("vit_l_32")
    ('vit_base_patch14_dinov2', 'vit_large_patch32_224')
    """
    if name.startswith(TIMM_PREFIX):
        return name[len(TIMM_PREFIX) :].split(".")[0]
    if name in DINOBLOOM:
        return DINOBLOOM[name]
    return IN21K_CHECKPOINTS[name].split(".")[0]


def imagenet21k_checkpoint_path(name: str) -> Path:
    """Where the ImageNet-21k checkpoint of ViT ``name`` is looked for before downloading:
    ``torch.hub.get_dir()/checkpoints/<architecture.tag>.safetensors`` (the
    ``model.safetensors`` of the Hugging Face repository ``timm/<architecture.tag>``).

    Examples
    --------
    >>> imagenet21k_checkpoint_path("vit_b_16").name
    'vit_base_patch16_224.augreg_in21k.safetensors'
    """
    return Path(torch.hub.get_dir(), "checkpoints", IN21K_CHECKPOINTS[name] + ".safetensors")


def dinobloom_checkpoint_path(name: str) -> Path:
    """Where DinoBloom's checkpoint of size ``name`` is looked for:
    ``torch.hub.get_dir()/checkpoints/DinoBloom-S.pth`` (and -B, -L, -G).

    Examples
    --------
    >>> dinobloom_checkpoint_path("dinobloom-g").name
    'DinoBloom-G.pth'
    """
    return Path(torch.hub.get_dir(), "checkpoints", DINOBLOOM_FILES[name])


def create_timm(spec: ModelSpec, *, adapt: bool) -> nn.Module:
    """Build a timm model (see the module docstring).

    ``adapt``: leave the first layer with 3 channels (the caller adapts it with colours).

    Examples
    --------
    >>> net = create_timm(ModelSpec("timm:resnet18", num_classes=3, in_channels=4), adapt=False)
    >>> net.conv1.in_channels, first_conv(net), classifier(net)
    (4, 'conv1', 'fc')
    """
    import timm

    name, num_classes, in_channels = spec.name, spec.num_classes, spec.in_channels
    weights, image_size = spec.weights, spec.image_size
    chans = 3 if adapt else in_channels
    if name in DINOBLOOM:
        model = timm.create_model(
            DINOBLOOM[name], pretrained=False, num_classes=num_classes, in_chans=3,
            img_size=image_size,
        )  # fmt: skip
        if weights is not None:
            path = dinobloom_checkpoint_path(name) if weights == "dinobloom" else Path(weights)
            _load_dinov2(model, _dinobloom_state(path))
        return model if adapt or in_channels == 3 else _timm_adapt(model, in_channels)
    options: dict[str, Any] = {"num_classes": num_classes, "in_chans": chans}
    if name in IN21K_CHECKPOINTS:
        architecture, options["img_size"] = IN21K_CHECKPOINTS[name], image_size
        local = imagenet21k_checkpoint_path(name)
        file: Path | None = local if local.is_file() else None
        return _pretrained(architecture, options, file, hub=file is None)
    architecture = name[len(TIMM_PREFIX) :]
    if _accepts_img_size(architecture):
        options["img_size"] = image_size
    if weights is None:
        return timm.create_model(architecture, pretrained=False, **options)
    if weights == "imagenet":
        return _pretrained(architecture, options, None, hub=True)
    path = Path(weights)
    if not path.is_file():
        raise FileNotFoundError(f"weights file not found: {path}")
    return _pretrained(architecture, options, path, hub=False)


def _accepts_img_size(architecture: str) -> bool:
    """Whether timm's architecture takes an ``img_size`` (transformers do, CNNs do not)."""
    import timm

    with torch.device("meta"):
        try:
            timm.create_model(architecture, pretrained=False, img_size=224)
        except TypeError:
            return False
    return True


def _pretrained(
    architecture: str, options: Mapping[str, Any], file: Path | None, *, hub: bool
) -> nn.Module:
    """timm's own loading: the checkpoint filter, ``in_chans`` adaptation, head dropped when
    the number of classes differs."""
    import timm

    overlay = {} if file is None else {"file": str(file)}
    try:
        return timm.create_model(
            architecture, pretrained=True, pretrained_cfg_overlay=overlay, **options
        )
    except Exception as error:  # hub, network and state-dict errors all land here
        if hub:
            raise Unavailable(f"{architecture}: {error}") from error
        raise ValueError(f"weights {file} do not fit {architecture}: {error}") from error


def _dinobloom_state(path: Path) -> dict[str, torch.Tensor]:
    """DinoBloom's (DINOv2's) checkpoint → backbone state dict in DINOv2's layout."""
    if not path.is_file():
        raise FileNotFoundError(
            f"DinoBloom weights file not found: {path} (download DinoBloom-S/B/L/G.pth from "
            f"its Zenodo record and pass the file, or put it at that path)"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("teacher", "model", "state_dict"):
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping):
        raise ValueError(f"weights file {path} does not hold a state dict")
    out = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor) or key.startswith(_DINOV2_HEADS):
            continue
        out[key.removeprefix("backbone.")] = value
    return out


def _load_dinov2(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load a DINOv2-layout backbone into timm's ViT (head left as initialised)."""
    from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn

    if not isinstance(model, VisionTransformer):
        raise TypeError(f"DINOv2 weights need a VisionTransformer; got {type(model).__name__}")
    converted = checkpoint_filter_fn(dict(state), model)
    result = model.load_state_dict(converted, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith("head.")]
    if missing or result.unexpected_keys:
        raise ValueError(
            f"weights do not fit {type(model).__name__}: missing {missing[:5]}, "
            f"unexpected {list(result.unexpected_keys)[:5]}"
        )


def _timm_adapt(model: nn.Module, in_channels: int) -> nn.Module:
    """timm's RGB → ``in_channels`` adaptation (``adapt_input_conv``) of the first layer."""
    from timm.models import adapt_input_conv

    name = first_conv(model)
    old = model.get_submodule(name)
    if not isinstance(old, nn.Conv2d):
        raise TypeError(f"{name} is not a Conv2d: {type(old).__name__}")
    replace_first_conv(model, name, in_channels, adapt_input_conv(in_channels, old.weight.detach()))
    return model


def first_conv(model: nn.Module) -> str:
    """The dotted name of a timm model's first convolution (its pretrained config's
    ``first_conv``, else the first ``nn.Conv2d``).

    Examples
    --------
    >>> import timm
    >>> first_conv(timm.create_model("vit_tiny_patch16_224", img_size=32))
    'patch_embed.proj'
    """
    cfg = getattr(model, "pretrained_cfg", None) or {}
    name = cfg.get("first_conv") if isinstance(cfg, Mapping) else None
    if isinstance(name, str) and isinstance(_module(model, name), nn.Conv2d):
        return name
    for key, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return key
    raise ValueError(f"{type(model).__name__} has no Conv2d first layer")


def classifier(model: nn.Module) -> str:
    """The dotted name of a timm model's classification head (pretrained config's
    ``classifier``, else the last ``nn.Linear``).

    Examples
    --------
    >>> import timm
    >>> classifier(timm.create_model("vit_tiny_patch16_224", img_size=32))
    'head'
    """
    cfg = getattr(model, "pretrained_cfg", None) or {}
    name = cfg.get("classifier") if isinstance(cfg, Mapping) else None
    if isinstance(name, str) and isinstance(_module(model, name), nn.Linear):
        return name
    linears = [k for k, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no linear head")
    return linears[-1]


def _module(model: nn.Module, dotted: str) -> nn.Module | None:
    try:
        return model.get_submodule(dotted)
    except AttributeError:
        return None
