"""One training run: AdamW, warm-up + cosine schedule, early stopping on validation accuracy.

Precision and memory format are options (:class:`TrainConfig`): by default a CUDA run
trains under bfloat16 autocast in channels_last memory format with the fused AdamW, a
CPU run in float32; each choice can be forced either way, so that every branch also runs
on the CPU. Validation and test logits are always computed in float32, without autocast.

Before each validation, the BatchNorm running statistics are recomputed over a fixed,
seeded subset of the training samples (at most ``precise_bn`` of them, as the model
sees them at evaluation) with the model in training mode and no gradient — "precise
BatchNorm" as in pycls and detectron2 — so that evaluation does not read statistics
that lag behind the weights; the kept checkpoint holds these statistics. Models without
BatchNorm, and frozen backbones (``mode="linear"``), are untouched.

The model is timed once per run: pure forward + backward passes on a few pre-made
training batches after a warm-up pass; each epoch's record relates its wall time to
that model time (the data path should add ≤ 25 %).

With a :class:`classifiers.distributed.Group` of several processes (``torchrun``), each
global batch is split evenly over the ranks and the model is wrapped in
DistributedDataParallel (BatchNorm synchronised on CUDA); see
:mod:`classifiers.distributed`.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from .data import ResidentSamples, StreamedSamples, batch_rows
from .distributed import Group
from .spaces import InputPipeline

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "DeviceUnavailableError",
    "EpochRecord",
    "Precision",
    "TrainConfig",
    "TrainResult",
    "device_name",
    "fit",
    "predict",
    "recompute_batchnorm",
    "resolve_device",
    "seed_everything",
]

DEVICES = ("auto", "cpu", "cuda")
#: Arithmetic of the training passes: by device (bf16 on CUDA, fp32 on the CPU), or forced.
Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS = ("auto", "fp32", "bf16")

Samples = ResidentSamples | StreamedSamples


class DeviceUnavailableError(RuntimeError):
    """The requested device does not exist on this machine."""


@dataclass(frozen=True)
class TrainConfig:
    """Options of one training run.

    Attributes
    ----------
    epochs : int
        Maximum number of epochs.
    batch_size : int
        Training and evaluation batch size (the global batch, over all processes).
    lr : float
        Peak learning rate of AdamW.
    weight_decay : float
        AdamW weight decay, applied to weights with ≥ 2 dimensions only (not to biases
        or normalisation parameters).
    warmup_epochs : float
        Linear warm-up length; the learning rate then follows a cosine to 0.
    label_smoothing : float
        Of the cross-entropy loss, in [0, 1).
    patience : int
        Stop after this many epochs without a better validation accuracy; 0 never stops.
    seed : int
        Seeds Python, NumPy and torch, the batch order and the augmentation.
    timing_batches : int
        Training batches timed (once per run) for the pure forward + backward time.
    precise_bn : int
        Training samples over which BatchNorm statistics are recomputed before each
        validation (a fixed, seeded subset); 0 keeps the running statistics of training.
    precision : {"auto", "fp32", "bf16"}
        Arithmetic of the training passes; ``"auto"``: bf16 autocast on CUDA, fp32 on
        the CPU. Evaluation is always fp32.
    channels_last : bool or None
        channels_last memory format for model and inputs; None: on CUDA only.
    fused : bool or None
        The fused AdamW kernel; None: on CUDA only.
    quiet : bool
        No progress bars.
    """

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    label_smoothing: float = 0.0
    patience: int = 10
    seed: int = 0
    timing_batches: int = 5
    precise_bn: int = 4096
    precision: Precision = "auto"
    channels_last: bool | None = None
    fused: bool | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "timing_batches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        for name in ("patience", "precise_bn", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer ≥ 0; got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive; got {self.lr!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must lie in [0, 1); got {self.label_smoothing!r}")
        if not self.weight_decay >= 0 or not self.warmup_epochs >= 0:
            raise ValueError(
                f"weight_decay and warmup_epochs must be ≥ 0; got {self.weight_decay!r} "
                f"and {self.warmup_epochs!r}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}"
            )


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: mean training loss and accuracy (fractions), validation accuracy and
    loss, the learning rate after the epoch, and times in seconds: ``epoch_s`` (the whole
    training pass, data included), ``model_s`` (the run's pure forward + backward time per
    batch times the number of batches), ``ratio`` = epoch_s / model_s, ``val_s`` (the
    BatchNorm recompute and the validation pass)."""

    epoch: int
    loss: float
    train_acc: float
    val_acc: float
    val_loss: float
    lr: float
    epoch_s: float
    model_s: float
    ratio: float
    val_s: float


@dataclass
class TrainResult:
    """The outcome of :func:`fit`; the model then holds the weights of ``best_epoch``."""

    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_val_acc: float = float("nan")
    stopped_early: bool = False
    device: str = "cpu"
    resident: bool = True
    precision: str = "fp32"
    processes: int = 1

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        return {**asdict(self), "history": [asdict(r) for r in self.history]}


def resolve_device(device: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; ``"cuda"`` without a GPU raises.

    Raises
    ------
    ValueError
        ``device`` is not one of :data:`DEVICES`.
    DeviceUnavailableError
        ``device="cuda"`` and ``torch.cuda.is_available()`` is False.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError("device 'cuda' requested but no CUDA GPU is available")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def device_name(device: torch.device) -> str:
    """The GPU's name, or ``"cpu (<processor>)"``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch and ask torch for deterministic algorithms.

    Sets ``torch.use_deterministic_algorithms(True, warn_only=True)``, turns off cuDNN
    benchmarking and sets ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` unless already set — all
    process-wide.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (the legacy global state of other code)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


@dataclass(frozen=True)
class _Runtime:
    """The device-dependent choices of a run, resolved from :class:`TrainConfig`."""

    device: torch.device
    bf16: bool
    channels_last: bool
    fused: bool

    @classmethod
    def of(cls, config: TrainConfig, device: torch.device) -> _Runtime:
        cuda = device.type == "cuda"
        bf16 = config.precision == "bf16" or (config.precision == "auto" and cuda)
        return cls(
            device=device,
            bf16=bf16,
            channels_last=cuda if config.channels_last is None else config.channels_last,
            fused=cuda if config.fused is None else config.fused,
        )

    def autocast(self) -> contextlib.AbstractContextManager[object]:
        """bf16 autocast of the training passes, or nothing."""
        if self.bf16:
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """A model input in the run's memory format."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def fit(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    *,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    config: TrainConfig,
    device: torch.device,
    group: Group | None = None,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``model`` in place and leave it with the weights of its best epoch.

    Parameters
    ----------
    model : torch.nn.Module
        From :func:`classifiers.models.create`; moved to ``device``.
    samples : ResidentSamples or StreamedSamples
        Holding every row of ``train_rows`` and ``val_rows``.
    pipeline : InputPipeline
        Stored batch → model input (its normalisation fitted on ``train_rows``).
    train_rows, val_rows : numpy.ndarray
        Cache rows; the validation set selects the best epoch and stops early.
    group : classifiers.distributed.Group, optional
        The processes training this run together (default: this one alone). The
        global batch ``config.batch_size`` must be divisible by their number.
    log : callable, optional
        Receives one line per epoch (on rank 0).

    Returns
    -------
    TrainResult
        The same on every rank.
    """
    group = group or Group()
    if len(train_rows) == 0 or len(val_rows) == 0:
        raise ValueError(
            f"fit needs training and validation samples; got {len(train_rows)} and {len(val_rows)}"
        )
    if config.batch_size % group.world_size:
        raise ValueError(
            f"batch_size ({config.batch_size}) must be divisible by the number of processes "
            f"({group.world_size})"
        )
    seed_everything(config.seed)
    run = _Runtime.of(config, device)
    model.to(device)
    if run.channels_last:
        model.to(memory_format=torch.channels_last)
    trained = _parallel(model, run, group)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    optimizer = _optimizer(model, config, fused=run.fused)
    steps = len(batch_rows(train_rows, batch_size=config.batch_size, drop_last=True))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _warmup_cosine(round(config.warmup_epochs * steps), config.epochs * steps)
    )
    # Augmentation draws: per rank (a rank augments only its part of each batch).
    generator = torch.Generator(device=device).manual_seed(config.seed * 1009 + group.rank)
    # A fixed, shuffled subset: batches that mix classes, as in training (class-sorted
    # batches would each see one class and underestimate every variance).
    bn_rows = np.random.default_rng(config.seed).permutation(train_rows)[: config.precise_bn]
    show = not config.quiet and sys.stderr.isatty() and group.is_main
    result = TrainResult(
        device=device_name(device),
        resident=samples.resident,
        precision="bf16" if run.bf16 else "fp32",
        processes=group.world_size,
    )
    best_state, best_loss, since_best = None, math.inf, 0
    per_batch = _time_model(
        trained, samples, pipeline, train_rows, config=config, run=run, loss_fn=loss_fn,
        group=group,
    )  # fmt: skip

    epochs = tqdm(range(1, config.epochs + 1), desc="epochs", disable=not show, leave=False)
    for epoch in epochs:
        batches = batch_rows(
            train_rows,
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed * 100_003 + epoch,
            drop_last=True,
        )
        trained.train()
        run.sync()
        start = time.perf_counter()
        totals = torch.zeros(3, device=device, dtype=torch.float64)  # loss sum, correct, seen
        parts = [group.part(rows) for rows in batches]
        for rows, (stored, labels) in tqdm(
            zip(parts, samples.batches(parts), strict=True),
            total=steps,
            desc=f"epoch {epoch}",
            disable=not show,
            leave=False,
        ):
            x = pipeline(stored, train=True, generator=generator, rows=rows, epoch=epoch)
            x = run.prepare(x)
            with run.autocast():
                logits = trained(x)
            loss = loss_fn(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                totals += torch.stack(
                    [
                        loss.detach().double() * labels.shape[0],
                        (logits.argmax(1) == labels).sum().double(),
                        torch.tensor(labels.shape[0], device=device, dtype=torch.float64),
                    ]
                )
        run.sync()
        epoch_s = time.perf_counter() - start
        loss_sum, correct, seen = group.sum(totals).tolist()

        start = time.perf_counter()
        recompute_batchnorm(
            trained, samples, pipeline, bn_rows, batch_size=config.batch_size, group=group
        )
        val_logits, val_labels = _logits(
            model, samples, pipeline, val_rows, batch_size=config.batch_size, run=run, group=group
        )
        val_loss = float(nn.functional.cross_entropy(val_logits, val_labels))
        val_acc = float((val_logits.argmax(1) == val_labels).double().mean())
        val_s = time.perf_counter() - start
        model_s = per_batch * steps
        record = EpochRecord(
            epoch=epoch,
            loss=loss_sum / seen,
            train_acc=correct / seen,
            val_acc=val_acc,
            val_loss=val_loss,
            lr=optimizer.param_groups[0]["lr"],
            epoch_s=epoch_s,
            model_s=model_s,
            ratio=epoch_s / model_s if model_s > 0 else float("nan"),
            val_s=val_s,
        )
        result.history.append(record)
        if log is not None and group.is_main:
            log(
                f"epoch {epoch}/{config.epochs} loss {record.loss:.4f} "
                f"train_acc {record.train_acc:.4f} val_acc {val_acc:.4f} lr {record.lr:.2e} "
                f"time {epoch_s:.2f}s model {model_s:.2f}s ratio {record.ratio:.2f} "
                f"val {val_s:.2f}s"
            )
        if (
            best_state is None
            or val_acc > result.best_val_acc
            or (val_acc == result.best_val_acc and val_loss < best_loss)
        ):
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            result.best_epoch, result.best_val_acc, best_loss = epoch, val_acc, val_loss
            since_best = 0
        else:
            since_best += 1
            if config.patience and since_best >= config.patience:
                result.stopped_early = True
                break
    epochs.close()
    model.load_state_dict(best_state)
    return result


def predict(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    rows: np.ndarray,
    *,
    device: torch.device,
    batch_size: int,
    group: Group | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities of ``model`` for ``rows``, in eval mode, from float32 logits.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Probabilities (n, num_classes) float64 (rows sum to 1) and labels (n,) int64, in
        the order of ``rows``; with a group of processes each computes a part and every
        rank returns the whole.
    """
    run = _Runtime.of(TrainConfig(precision="fp32"), device)
    logits, labels = _logits(
        model, samples, pipeline, rows, batch_size=batch_size, run=run, group=group or Group()
    )
    probabilities = torch.softmax(logits.double(), dim=1)
    return probabilities.cpu().numpy(), labels.cpu().numpy()


def recompute_batchnorm(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    rows: np.ndarray,
    *,
    batch_size: int,
    group: Group | None = None,
) -> int:
    """Recompute the running statistics of ``model``'s trainable BatchNorm layers over
    ``rows`` (precise BatchNorm).

    The statistics are reset, then averaged over the full batches of ``rows`` (a last
    incomplete batch is left out unless it is the only one) as the model sees them at
    evaluation (no augmentation, float32), in training mode without gradients
    (``momentum=None``: a cumulative average). BatchNorm layers in eval mode (a frozen
    backbone) are left alone. With several processes each runs its part of each batch;
    on CUDA BatchNorm is synchronised, elsewhere the ranks' statistics are averaged.

    Returns
    -------
    int
        The number of BatchNorm layers recomputed.
    """
    group = group or Group()
    model.train()
    layers = [
        m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training
    ]
    if not layers or len(rows) == 0:
        return 0
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
    try:
        parts = [group.part(b) for b in batch_rows(rows, batch_size=batch_size, drop_last=True)]
        with torch.no_grad():
            for part, (stored, _) in zip(parts, samples.batches(parts), strict=True):
                model(pipeline(stored, train=False, rows=part))
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
    synchronised = isinstance(layers[0], nn.SyncBatchNorm)
    if group.parallel and not synchronised:
        for layer in layers:
            for stat in (layer.running_mean, layer.running_var):
                stat.copy_(group.sum(stat.clone()) / group.world_size)
    return len(layers)


def _parallel(model: nn.Module, run: _Runtime, group: Group) -> nn.Module:
    """``model`` itself, or wrapped in DistributedDataParallel for a group of processes."""
    if not group.parallel:
        return model
    if run.device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return DistributedDataParallel(model, device_ids=[run.device])
    return DistributedDataParallel(model)


def _optimizer(model: nn.Module, config: TrainConfig, *, fused: bool) -> torch.optim.Optimizer:
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("the model has no trainable parameter")
    groups = [
        {"params": [p for p in trainable if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    return torch.optim.AdamW(groups, lr=config.lr, fused=fused or None)


def _warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor


def _time_model(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    rows: np.ndarray,
    *,
    config: TrainConfig,
    run: _Runtime,
    loss_fn: nn.Module,
    group: Group,
) -> float:
    """Seconds of one forward + backward pass, averaged over pre-made training batches.

    The batches are the first ``config.timing_batches`` of a seeded order, prepared
    before the clock starts; one extra pass warms up. Buffers (BatchNorm statistics) are
    restored and gradients cleared afterwards, so training is unchanged.
    """
    batches = batch_rows(
        rows, batch_size=config.batch_size, shuffle=True, seed=config.seed, drop_last=True
    )[: config.timing_batches + 1]
    generator = torch.Generator(device=run.device).manual_seed(config.seed)
    parts = [group.part(b) for b in batches]
    inputs = [
        (run.prepare(pipeline(stored, train=True, generator=generator, rows=part)), labels)
        for part, (stored, labels) in zip(parts, samples.batches(parts), strict=True)
    ]
    saved = {name: b.detach().clone() for name, b in model.named_buffers()}
    model.train()

    def step(x: torch.Tensor, labels: torch.Tensor) -> None:
        with run.autocast():
            logits = model(x)
        loss_fn(logits.float(), labels).backward()

    try:
        step(*inputs[0])  # warm-up
        timed = inputs[1:] or inputs
        run.sync()
        start = time.perf_counter()
        for x, labels in timed:
            step(x, labels)
        run.sync()
        return (time.perf_counter() - start) / len(timed)
    finally:
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(saved[name])
        model.zero_grad(set_to_none=True)


def _logits(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    rows: np.ndarray,
    *,
    batch_size: int,
    run: _Runtime,
    group: Group,
) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 logits and labels of ``rows`` in eval mode, without autocast; with several
    processes each computes its contiguous part and the parts are gathered in order."""
    model.eval()
    outputs, targets = [], []
    parts = batch_rows(group.part(rows), batch_size=batch_size)
    with torch.inference_mode():
        for part, (stored, labels) in zip(parts, samples.batches(parts), strict=True):
            outputs.append(model(run.prepare(pipeline(stored, train=False, rows=part))).float())
            targets.append(labels)
    classes = _num_classes(model)
    logits = torch.cat(outputs) if outputs else torch.zeros((0, classes), device=run.device)
    labels = torch.cat(targets) if targets else torch.zeros(0, dtype=torch.long, device=run.device)
    return group.gather(logits), group.gather(labels)


def _num_classes(model: nn.Module) -> int:
    """Outputs of the model's last linear layer (for an empty evaluation part)."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return last[-1].out_features if last else 0
