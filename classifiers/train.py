"""One training run: AdamW, warm-up + cosine schedule, early stopping on validation accuracy.

On CUDA the model runs under bfloat16 autocast in channels_last memory format; on the
CPU in float32. Every epoch also times pure forward + backward passes on a few
pre-made input batches (the first batches of that epoch), so the log shows how close the
epoch time is to the model's own compute time (the data path should add ≤ 25 %).
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

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .data import ResidentSamples, StreamedSamples
from .spaces import InputPipeline

__all__ = [
    "DEVICES",
    "DeviceUnavailableError",
    "EpochRecord",
    "TrainConfig",
    "TrainResult",
    "device_name",
    "fit",
    "predict",
    "resolve_device",
    "seed_everything",
]

DEVICES = ("auto", "cpu", "cuda")

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
        Training and evaluation batch size.
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
        Batches timed each epoch for the pure forward + backward time.
    quiet : bool
        No progress bars and no per-epoch log lines.
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
    quiet: bool = False

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "timing_batches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if isinstance(self.patience, bool) or not isinstance(self.patience, int):
            raise ValueError(f"patience must be an integer ≥ 0; got {self.patience!r}")
        if self.patience < 0:
            raise ValueError(f"patience must be an integer ≥ 0; got {self.patience!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive; got {self.lr!r}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must lie in [0, 1); got {self.label_smoothing!r}")
        if not self.weight_decay >= 0 or not self.warmup_epochs >= 0:
            raise ValueError(
                f"weight_decay and warmup_epochs must be ≥ 0; got {self.weight_decay!r} "
                f"and {self.warmup_epochs!r}"
            )


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: mean training loss and accuracy (fractions), validation accuracy and
    loss, the learning rate after the epoch, and times in seconds: ``epoch_s`` (the whole
    training pass, data included), ``model_s`` (pure forward + backward time per batch
    times the number of batches), ``ratio`` = epoch_s / model_s, ``val_s``."""

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


def fit(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    *,
    train_indices: np.ndarray,
    val_indices: np.ndarray,
    config: TrainConfig,
    device: torch.device,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``model`` in place and leave it with the weights of its best epoch.

    Parameters
    ----------
    model : torch.nn.Module
        From :func:`classifiers.models.create`; moved to ``device``.
    samples : ResidentSamples or StreamedSamples
        Holding every index of ``train_indices`` and ``val_indices``.
    pipeline : InputPipeline
        Stored batch → model input (its normalisation fitted on ``train_indices``).
    train_indices, val_indices : ndarray
        Cache indices; the validation set selects the best epoch and stops early.
    log : callable, optional
        Receives one line per epoch (unless ``config.quiet``).

    Returns
    -------
    TrainResult
    """
    if len(train_indices) == 0 or len(val_indices) == 0:
        raise ValueError(
            f"fit needs training and validation samples; got {len(train_indices)} and "
            f"{len(val_indices)}"
        )
    seed_everything(config.seed)
    cuda = device.type == "cuda"
    model.to(device, memory_format=torch.channels_last if cuda else torch.contiguous_format)
    amp = _autocast(device)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    optimizer = _optimizer(model, config, cuda)
    n_train = len(train_indices)
    drop_last = n_train > config.batch_size
    steps = n_train // config.batch_size if drop_last else 1
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _warmup_cosine(round(config.warmup_epochs * steps), config.epochs * steps)
    )
    generator = torch.Generator(device=device).manual_seed(config.seed)
    show = not config.quiet and sys.stderr.isatty()
    result = TrainResult(device=device_name(device), resident=samples.resident)
    best_state, best_loss, since_best = None, math.inf, 0

    epochs = tqdm(range(1, config.epochs + 1), desc="epochs", disable=not show, leave=False)
    for epoch in epochs:
        order_seed = config.seed * 100_003 + epoch
        per_batch = _time_model(
            model,
            samples,
            pipeline,
            train_indices,
            config=config,
            seed=order_seed,
            amp=amp,
            loss_fn=loss_fn,
            device=device,
        )
        model.train()
        _sync(device)
        start = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.long)
        seen = 0
        batches = samples.batches(
            train_indices,
            batch_size=config.batch_size,
            shuffle=True,
            seed=order_seed,
            drop_last=drop_last,
        )
        for stored, labels in tqdm(
            batches, total=steps, desc=f"epoch {epoch}", disable=not show, leave=False
        ):
            x = _prepare(pipeline(stored, train=True, generator=generator), cuda)
            with amp:
                logits = model(x)
            loss = loss_fn(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            loss_sum += loss.detach() * labels.shape[0]
            correct += (logits.argmax(1) == labels).sum()
            seen += labels.shape[0]
        _sync(device)
        epoch_s = time.perf_counter() - start

        start = time.perf_counter()
        val_logits, val_labels = _logits(
            model, samples, pipeline, val_indices, device=device, batch_size=config.batch_size
        )
        val_loss = float(nn.functional.cross_entropy(val_logits, val_labels))
        val_acc = float((val_logits.argmax(1) == val_labels).float().mean())
        val_s = time.perf_counter() - start
        model_s = per_batch * steps
        record = EpochRecord(
            epoch=epoch,
            loss=float(loss_sum) / seen,
            train_acc=float(correct) / seen,
            val_acc=val_acc,
            val_loss=val_loss,
            lr=optimizer.param_groups[0]["lr"],
            epoch_s=epoch_s,
            model_s=model_s,
            ratio=epoch_s / model_s if model_s > 0 else float("nan"),
            val_s=val_s,
        )
        result.history.append(record)
        if log is not None and not config.quiet:
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
    indices: np.ndarray,
    *,
    device: torch.device,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax probabilities of ``model`` for ``indices``, in eval mode.

    Returns
    -------
    (ndarray, ndarray)
        Probabilities (n, num_classes) float64 (rows sum to 1) and labels (n,) int64,
        in the order of ``indices``.
    """
    logits, labels = _logits(
        model, samples, pipeline, indices, device=device, batch_size=batch_size
    )
    probabilities = torch.softmax(logits.double(), dim=1)
    return probabilities.cpu().numpy(), labels.cpu().numpy()


def _autocast(device: torch.device) -> contextlib.AbstractContextManager[object]:
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _prepare(x: torch.Tensor, cuda: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if cuda else x


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _optimizer(model: nn.Module, config: TrainConfig, cuda: bool) -> torch.optim.Optimizer:
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError("the model has no trainable parameter")
    groups = [
        {"params": [p for p in trainable if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    return torch.optim.AdamW(groups, lr=config.lr, fused=cuda or None)


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
    indices: np.ndarray,
    *,
    config: TrainConfig,
    seed: int,
    amp: contextlib.AbstractContextManager[object],
    loss_fn: nn.Module,
    device: torch.device,
) -> float:
    """Seconds of one forward + backward pass, averaged over pre-made batches.

    The batches are the first ``config.timing_batches`` of the epoch (same order seed),
    prepared before the clock starts; one extra pass warms up. Buffers (batch-norm
    statistics) are restored and gradients cleared afterwards, so training is unchanged.
    """
    cuda = device.type == "cuda"
    n = len(indices)
    if n > config.batch_size:  # full batches only, as in training (drop_last)
        n = min(n // config.batch_size, config.timing_batches) * config.batch_size
    order = np.random.default_rng(seed).permutation(np.asarray(indices, dtype=np.int64))[:n]
    generator = torch.Generator(device=device).manual_seed(seed)
    inputs = [
        (_prepare(pipeline(stored, train=True, generator=generator), cuda), labels)
        for stored, labels in samples.batches(order, batch_size=config.batch_size)
    ]
    saved = {name: b.detach().clone() for name, b in model.named_buffers()}
    model.train()

    def step(x: torch.Tensor, labels: torch.Tensor) -> None:
        with amp:
            logits = model(x)
        loss_fn(logits.float(), labels).backward()

    try:
        step(*inputs[0])
        _sync(device)
        start = time.perf_counter()
        for x, labels in inputs:
            step(x, labels)
        _sync(device)
        return (time.perf_counter() - start) / len(inputs)
    finally:
        with torch.no_grad():
            for name, buffer in model.named_buffers():
                buffer.copy_(saved[name])
        model.zero_grad(set_to_none=True)


def _logits(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    indices: np.ndarray,
    *,
    device: torch.device,
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    cuda = device.type == "cuda"
    model.eval()
    outputs, targets = [], []
    with torch.inference_mode(), _autocast(device):
        for stored, labels in samples.batches(indices, batch_size=batch_size):
            outputs.append(model(_prepare(pipeline(stored, train=False), cuda)).float())
            targets.append(labels)
    return torch.cat(outputs), torch.cat(targets)
