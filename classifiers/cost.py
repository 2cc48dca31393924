"""Model cost: parameters, multiply-accumulates, FLOPs, activations, Conv2d, latency, memory.

Conventions (SPEC §1 and §8), all for one image of ``input_size``:

* ``params_m`` — every parameter (trainable or frozen) of the model as trained, in
  millions. ``params_1000_m`` — the same with the classification head (the last
  ``nn.Linear``, or timm's ``get_classifier()``) given 1000 outputs, as ImageNet models
  are usually quoted (torchvision's ViT-B/16: 86.567656, i.e. 86.57). The study quotes
  86.58 M for ViT-B/16, which neither torchvision's ``vit_b_16`` nor any
  ``vit_base_patch16*`` model timm 1.0.31 builds gives with 1000 outputs; it is what
  the 1000-class model has with a 15-class ``nn.Linear`` stacked on its logits
  (86,582,671). ``params_kept_m`` counts that layout: the 1000-class head kept and a
  head with the trained model's outputs added on its logits (an ``nn.Linear(1000, n)``),
  the way a pretrained ImageNet classifier is often fine-tuned. The study's figures
  follow two layouts: its ResNet50 (23.54 M) is counted with the head replaced
  (``params_m``), its ViT-B/16 (86.58 M) with the head kept (``params_kept_m``).
* ``flops_g`` — the ptflops convention (its PyTorch backend without functional calls,
  the one the study's "FLOPs" follow): multiply-accumulates of convolutions and linear
  layers with their biases, plus one per element for BatchNorm, GroupNorm, InstanceNorm
  and LayerNorm inputs (two when affine), ReLU-family and GELU outputs and pooling
  inputs, and ptflops' own count of ``nn.MultiheadAttention`` — in 10⁹, collected with
  forward hooks; equal to ptflops on torchvision's models. With the study's 15-class
  heads: ResNet50 4.120, DenseNet121 2.882, ViT-B/16 17.598 (the poster's 4.12 / 2.88 /
  17.6). timm's ViT ``Attention`` adds ptflops' formula for the scaling, both attention
  products and the softmax to its ``qkv`` and ``proj`` linear layers (ptflops itself
  leaves those two layers out of its total, which takes a counted module without its
  children).
* ``gmacs`` — multiply-accumulates in 10⁹: half of ``torch.utils.flop_counter.FlopCounterMode``'s
  total (it counts 2 per multiply-accumulate), in 10⁹. Counted in eval mode with autograd
  enabled and an input that requires grad, because ``nn.MultiheadAttention`` takes a fused
  path the counter does not see otherwise, and with the math backend of
  scaled-dot-product attention, whose fused CPU kernel the counter does not know. The
  attention matrix products are therefore included (ViT-B/16: 17.56).
* ``activations_m`` — fvcore's "#activations": output elements of every Conv2d and Linear
  layer, in millions, collected with forward hooks. The in- and out-projections inside
  ``nn.MultiheadAttention`` are linear layers too but run as functional calls (the
  in-projection is a bare parameter, and ``out_proj``'s forward is never called), so each
  attention module adds their outputs: (Lq + Lk + Lv)·E + Lq·E per image. Attention
  scores and other matrix products are not counted.
* ``conv2d`` — the number of ``nn.Conv2d`` modules.
* ``latency_ms`` (median), ``latency_mean_ms``, ``latency_sd_ms`` — CUDA only: ≥ 100
  batch-1 inferences after warm-up, each timed with CUDA events, in true fp32: TF32 off
  for convolutions and matrix products (``torch.backends.cudnn.allow_tf32`` and
  ``torch.backends.cuda.matmul.allow_tf32`` False), ``cudnn.benchmark`` on and
  deterministic algorithms off while timing (the process's settings are restored
  afterwards).
* ``peak_mem_mb`` — CUDA only: the peak of ``torch.cuda.max_memory_allocated`` during one
  batch-1 inference minus what was allocated before it (MiB): the activations and
  workspace of the inference, not the weights or anything else the process holds.
* ``weights_mb`` — the bytes of the model's parameters and buffers (MiB), on any device.
* ``peak_mem_with_weights_mb`` — CUDA only: ``peak_mem_mb + weights_mb``, the study's
  convention (its GPU memory includes the weights).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["CostReport", "profile", "ptflops_convention"]


@dataclass(frozen=True)
class CostReport:
    """The cost of one model at one input size (see the module docstring).

    Attributes
    ----------
    params_m, gmacs, activations_m : float
    conv2d : int
    latency_ms, latency_mean_ms, latency_sd_ms, peak_mem_mb : float or None
        None unless the model was profiled on CUDA.
    input_size : tuple of int
        (C, H, W).
    device : str
    flops_g : float
        The ptflops convention, in 10⁹.
    params_1000_m : float
        Parameters with a 1000-class head, in millions.
    params_kept_m : float
        Parameters with the 1000-class head kept and a head of the trained outputs on
        its logits, in millions (NaN for a model without an ``nn.Linear`` head).
    weights_mb : float
        Parameters and buffers, MiB.
    peak_mem_with_weights_mb : float or None
        CUDA only: the inference's peak memory including the weights, MiB.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
    ...                     nn.Flatten(), nn.Linear(4, 2))
    >>> report = profile(net, (3, 8, 8))
    >>> round(report.params_m * 1e6), round(report.params_1000_m * 1e6), report.conv2d
    (122, 5112, 1)
    >>> round(report.params_kept_m * 1e6)  # + Linear(1000, 2)
    7114
    >>> round(report.gmacs * 1e9)  # 27 × 144 conv, 4 × 2 linear
    3896
    >>> round(report.flops_g * 1e9)  # + conv bias 144, ReLU 144, pooling 144, linear bias 2
    4330
    >>> report.peak_mem_with_weights_mb is None
    True
    """

    params_m: float
    gmacs: float
    activations_m: float
    conv2d: int
    latency_ms: float | None
    peak_mem_mb: float | None
    input_size: tuple[int, int, int]
    device: str
    latency_mean_ms: float | None = None
    latency_sd_ms: float | None = None
    flops_g: float = float("nan")
    params_1000_m: float = float("nan")
    params_kept_m: float = float("nan")
    weights_mb: float = float("nan")
    peak_mem_with_weights_mb: float | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        return {**asdict(self), "input_size": list(self.input_size)}


def profile(
    model: nn.Module,
    input_size: Sequence[int] = (3, 224, 224),
    *,
    latency_runs: int = 200,
    warmup_runs: int = 20,
) -> CostReport:
    """Measure ``model`` on one image of shape ``input_size`` (C, H, W).

    The model is profiled on the device of its parameters, in eval mode, and put back
    into its previous training mode; its weights are not changed. ``latency_runs``
    (≥ 100) and ``warmup_runs`` apply on CUDA only.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    >>> report = profile(net, (1, 8, 8))
    >>> round(report.gmacs * 1e9), report.conv2d, round(report.activations_m * 1e6)
    (864, 1, 75)
    """
    shape = tuple(int(s) for s in input_size)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_size must be (C, H, W) of positive sizes; got {input_size!r}")
    if latency_runs < 100:
        raise ValueError(f"latency_runs must be ≥ 100; got {latency_runs!r}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        params = sum(p.numel() for p in model.parameters())
        conv2d = sum(isinstance(m, nn.Conv2d) for m in model.modules())
        x = torch.zeros((1, *shape), device=device)
        gmacs = _macs(model, x) / 1e9
        flops = ptflops_convention(model, x)
        activations = _activations(model, x)
        weights = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
        latency = memory = None
        if device.type == "cuda":
            latency, memory = _cuda_timing(model, x, latency_runs, warmup_runs)
        times = latency if latency is not None else np.full(1, np.nan)
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    finally:
        model.train(was_training)
    return CostReport(
        params_m=params / 1e6,
        gmacs=gmacs,
        activations_m=activations / 1e6,
        conv2d=conv2d,
        latency_ms=None if latency is None else float(np.median(times)),
        peak_mem_mb=memory,
        input_size=shape,
        device=name,
        latency_mean_ms=None if latency is None else float(np.mean(times)),
        latency_sd_ms=None if latency is None else float(np.std(times, ddof=1)),
        flops_g=flops / 1e9,
        params_1000_m=(params + _head_change(model, 1000)) / 1e6,
        params_kept_m=(params + _head_change(model, 1000) + _kept_head(model, 1000)) / 1e6,
        weights_mb=weights / 2**20,
        peak_mem_with_weights_mb=None if memory is None else memory + weights / 2**20,
    )


def ptflops_convention(model: nn.Module, x: torch.Tensor) -> int:
    """Operations of one forward pass of ``model`` on ``x`` in the ptflops convention.

    Parameters
    ----------
    model : torch.nn.Module
        Run as it is (put it in eval mode first); its weights are not changed.
    x : torch.Tensor
        The input batch (N, C, H, W).

    Returns
    -------
    int
        See the module docstring (``flops_g``); for the whole batch.

    Examples
    --------
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.BatchNorm2d(2), nn.ReLU())
    >>> ptflops_convention(net.eval(), torch.zeros(1, 1, 5, 5))  # 9·2·9 + 2·18 + 18
    216
    """
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += _ptflops_count(module, inputs, output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if _ptflops_counted(m)]
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return total


_ACTIVATIONS = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6, nn.GELU)
_POOLS = (
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
)  # fmt: skip
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm,
          nn.LayerNorm)  # fmt: skip


def _timm_attention(module: nn.Module) -> bool:
    """Whether ``module`` is timm's ViT ``Attention`` (its projections are Linear layers)."""
    kind = type(module)
    return kind.__name__ == "Attention" and kind.__module__.startswith("timm.")


def _ptflops_counted(module: nn.Module) -> bool:
    kinds = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.MultiheadAttention, nn.Upsample)
    return isinstance(module, kinds + _ACTIVATIONS + _POOLS + _NORMS) or _timm_attention(module)


def _ptflops_count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: object) -> int:
    """One module call's count, as ptflops' PyTorch backend hooks count it."""
    x = inputs[0]
    if isinstance(module, nn.MultiheadAttention):
        return _mha_count(module, inputs)
    if _timm_attention(module):
        batch, tokens, _ = x.shape
        heads, dim = module.num_heads, module.head_dim
        if not isinstance(heads, int) or not isinstance(dim, int):
            raise TypeError(f"timm Attention without integer num_heads/head_dim: {module!r}")
        return batch * (tokens * dim * heads + heads * (2 * tokens * tokens * dim + tokens**2))
    out = output if isinstance(output, torch.Tensor) else x
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        per_position = int(np.prod(module.kernel_size)) * module.in_channels // module.groups
        count = per_position * out.numel()
        return count + (out.numel() if module.bias is not None else 0)
    if isinstance(module, nn.Linear):
        rows = x.numel() // x.shape[-1]
        bias = out.shape[-1] if module.bias is not None else 0
        return (x.shape[-1] * out.shape[-1] + bias) * rows
    if isinstance(module, _NORMS):
        affine = bool(getattr(module, "affine", False))
        return x.numel() * (2 if affine else 1)
    if isinstance(module, _POOLS):
        return x.numel()
    return out.numel()  # activations, upsampling


def _mha_count(module: nn.MultiheadAttention, inputs: tuple[torch.Tensor, ...]) -> int:
    """ptflops' count of ``nn.MultiheadAttention`` (projections, scaling, both products,
    softmax, output projection with bias)."""
    q, k, v = inputs[:3]
    batch_index, length_index = (0, 1) if module.batch_first else (1, 0)
    qlen, klen, vlen = (t.shape[length_index] for t in (q, k, v))
    qdim, kdim, vdim = (t.shape[2] for t in (q, k, v))
    heads = module.num_heads
    count = qlen * qdim + qlen * qdim * qdim + klen * kdim * kdim + vlen * vdim * vdim
    if module.in_proj_bias is not None:
        count += (qlen + klen + vlen) * qdim
    count += heads * (qlen * klen * (qdim // heads) + qlen * klen + qlen * klen * (vdim // heads))
    count += qlen * vdim * (vdim + 1)
    return count * q.shape[batch_index]


def _head(model: nn.Module) -> nn.Linear | None:
    """The classification head: timm's ``get_classifier()``, else the last ``nn.Linear``."""
    getter = getattr(model, "get_classifier", None)
    head = getter() if callable(getter) else None
    if isinstance(head, nn.Linear):
        return head
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linears[-1] if linears else None


def _head_change(model: nn.Module, classes: int) -> int:
    """How many parameters the model gains when its head gets ``classes`` outputs."""
    head = _head(model)
    if head is None:
        return 0
    bias = head.bias is not None
    return (head.in_features + bias) * (classes - head.out_features)


def _kept_head(model: nn.Module, classes: int) -> float:
    """Parameters of an ``nn.Linear(classes, n)`` on the logits of a ``classes``-output
    head, ``n`` (and the bias) as the model's head has; NaN without a head."""
    head = _head(model)
    if head is None:
        return float("nan")
    return (classes + (head.bias is not None)) * head.out_features


def _macs(model: nn.Module, x: torch.Tensor) -> float:
    x = x.clone().requires_grad_(True)
    counter = FlopCounterMode(display=False)
    with torch.enable_grad(), sdpa_kernel(SDPBackend.MATH), counter:
        model(x)
    return counter.get_total_flops() / 2


def _activations(model: nn.Module, x: torch.Tensor) -> int:
    total = 0

    def layer(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel()

    def attention(module: nn.MultiheadAttention, args: tuple, kwargs: dict, output: object) -> None:
        nonlocal total
        names = ("query", "key", "value")
        query, key, value = (kwargs[n] if n in kwargs else args[i] for i, n in enumerate(names))
        rows = [t.numel() // t.shape[-1] for t in (query, key, value)]
        total += (sum(rows) + rows[0]) * module.embed_dim

    inside_attention = {
        id(m.out_proj) for m in model.modules() if isinstance(m, nn.MultiheadAttention)
    }
    handles = []
    for module in model.modules():
        if isinstance(module, nn.MultiheadAttention):
            handles.append(module.register_forward_hook(attention, with_kwargs=True))
        elif isinstance(module, (nn.Conv2d, nn.Linear)) and id(module) not in inside_attention:
            handles.append(module.register_forward_hook(layer))
    try:
        with torch.inference_mode():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return total


@contextlib.contextmanager
def _true_fp32_timing() -> Iterator[None]:
    """TF32 off, cuDNN autotuning on, deterministic algorithms off; restored afterwards."""
    saved = (
        torch.backends.cudnn.allow_tf32,
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.benchmark,
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    torch.use_deterministic_algorithms(False)
    try:
        yield
    finally:
        cudnn_tf32, matmul_tf32, benchmark, deterministic, warn_only = saved
        torch.backends.cudnn.allow_tf32 = cudnn_tf32
        torch.backends.cuda.matmul.allow_tf32 = matmul_tf32
        torch.backends.cudnn.benchmark = benchmark
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _cuda_timing(
    model: nn.Module, x: torch.Tensor, runs: int, warmup: int
) -> tuple[np.ndarray, float]:
    """Milliseconds of each timed batch-1 inference, and the inference's memory in MiB."""
    with _true_fp32_timing(), torch.inference_mode():
        for _ in range(warmup):
            model(x)
        torch.cuda.synchronize(x.device)
        times = []
        for _ in range(runs):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            model(x)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        torch.cuda.synchronize(x.device)
        torch.cuda.empty_cache()
        before = torch.cuda.memory_allocated(x.device)
        torch.cuda.reset_peak_memory_stats(x.device)
        model(x)
        torch.cuda.synchronize(x.device)
        peak = torch.cuda.max_memory_allocated(x.device) - before
    return np.asarray(times), float(peak / 2**20)
