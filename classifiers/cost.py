"""Model cost: parameters, multiply-accumulates, activations, Conv2d count, latency, memory.

Conventions (SPEC §1), all for one image of ``input_size``:

* ``params_m`` — every parameter (trainable or frozen), in millions.
* ``gmacs`` — the study's "FLOPs": half of ``torch.utils.flop_counter.FlopCounterMode``'s
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

__all__ = ["CostReport", "profile"]


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
        activations = _activations(model, x)
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
    )


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
