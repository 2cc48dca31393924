"""One training run: AdamW, warm-up + cosine schedule, early stopping on validation accuracy.

:func:`fit` is a short loop over epochs in the manner of timm's training script: each
epoch is one :func:`train_one_epoch`, a precise-BatchNorm recompute
(:func:`classifiers.batchnorm.recompute_batchnorm`), one :func:`evaluate` of the
validation rows, and a :class:`classifiers.checkpoint.BestCheckpoint` that keeps the best
epoch's weights and stops early. :func:`predict` gives the probabilities of a trained
model.

Precision and memory format are options (:class:`TrainConfig`, resolved by
:class:`classifiers.runtime.Runtime`): by default a CUDA run trains under bfloat16
autocast in channels_last memory format with the fused AdamW, a CPU run in float32; each
choice can be forced either way, so that every branch also runs on the CPU. Validation
and test logits are always computed in float32, without autocast.

Before each validation, the BatchNorm running statistics are recomputed over a fixed,
seeded, shuffled subset of the training samples (at most ``precise_bn`` of them, as the
model sees them at evaluation), so that evaluation does not read statistics that lag
behind the weights; the kept checkpoint holds these statistics. Models without
BatchNorm, and frozen backbones (``mode="linear"``), are untouched.

The model is timed once per run (:func:`classifiers.timing.time_model`): pure forward +
backward passes on a few pre-made training batches after a warm-up pass; each epoch's
record relates its wall time to that model time (the data path should add ≤ 25 %).

With a :class:`classifiers.distributed.Group` of several processes (``torchrun``), each
global batch is split evenly over the ranks and the model is wrapped in
DistributedDataParallel (BatchNorm synchronised on CUDA); see
:mod:`classifiers.distributed`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .batchnorm import recompute_batchnorm
from .checkpoint import BestCheckpoint
from .data import Samples, batch_rows
from .distributed import Group
from .optim import build_optimizer, warmup_cosine
from .passes import EpochTotals, evaluate, train_one_epoch
from .runtime import (
    DEVICES,
    PRECISIONS,
    DeviceUnavailableError,
    Precision,
    Runtime,
    device_name,
    resolve_device,
    seed_everything,
    use_threads,
)
from .spaces import InputPipeline
from .timing import time_model

__all__ = [
    "DEVICES",
    "PRECISIONS",
    "DeviceUnavailableError",
    "EpochRecord",
    "EpochTotals",
    "Precision",
    "TrainConfig",
    "TrainResult",
    "device_name",
    "evaluate",
    "fit",
    "predict",
    "recompute_batchnorm",
    "resolve_device",
    "seed_everything",
    "train_one_epoch",
]


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
    layer_decay : float
        Layer-wise learning-rate decay in (0, 1] (:func:`classifiers.optim.build_optimizer`);
        1.0: one learning rate for all.
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
    threads : int or None
        torch's intra-op threads (:func:`classifiers.runtime.use_threads`); None: the
        CPUs this process may use, less the data-loading workers, unless
        ``OMP_NUM_THREADS`` is set.
    quiet : bool
        No progress bars.

    Examples
    --------
    >>> config = TrainConfig(epochs=2, batch_size=8, lr=3e-4)
    >>> config.epochs, config.patience, config.precision
    (2, 10, 'auto')
    >>> TrainConfig(epochs=0)
    Traceback (most recent call last):
    ...
    ValueError: epochs must be a positive integer; got 0
    """

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    layer_decay: float = 1.0
    label_smoothing: float = 0.0
    patience: int = 10
    seed: int = 0
    timing_batches: int = 5
    precise_bn: int = 4096
    precision: Precision = "auto"
    channels_last: bool | None = None
    fused: bool | None = None
    threads: int | None = None
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
        if self.threads is not None and (
            isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1
        ):
            raise ValueError(f"threads must be a positive integer or None; got {self.threads!r}")
        if not 0 < self.layer_decay <= 1:
            raise ValueError(f"layer_decay must lie in (0, 1]; got {self.layer_decay!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}"
            )

    def runtime(self, device: torch.device) -> Runtime:
        """The device-dependent choices of a run on ``device``."""
        return Runtime.of(
            device,
            precision=self.precision,
            channels_last=self.channels_last,
            fused=self.fused,
        )


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: mean training loss and accuracy (fractions), validation accuracy and
    loss, the learning rate after the epoch, and times in seconds: ``epoch_s`` (the whole
    training pass, data included), ``model_s`` (the run's pure forward + backward time per
    batch times the number of batches), ``ratio`` = epoch_s / model_s, ``val_s`` (the
    BatchNorm recompute and the validation pass).

    Examples
    --------
    >>> EpochRecord(1, 0.7, 0.6, 0.5, 0.8, 1e-3, 2.0, 1.6, 1.25, 0.3).ratio
    1.25
    """

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
    """The outcome of :func:`fit`; the model then holds the weights of ``best_epoch``.

    ``threads`` is torch's intra-op thread count the run used.

    Examples
    --------
    >>> TrainResult(best_epoch=3, threads=2).to_dict()["best_epoch"]
    3
    """

    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_val_acc: float = float("nan")
    stopped_early: bool = False
    device: str = "cpu"
    resident: bool = True
    precision: str = "fp32"
    processes: int = 1
    threads: int = 1

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        return {**asdict(self), "history": [asdict(r) for r in self.history]}


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

    Examples
    --------
    >>> import tempfile, pathlib, rawspace.cache
    >>> from rawspace.images import write_png
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for k in range(2):
    ...     (root / "cells" / f"c{k}").mkdir(parents=True)
    ...     for i in range(6):
    ...         _ = write_png(root / "cells" / f"c{k}" / f"{i}.png",
    ...                       np.full((16, 16, 3), 60 + 90 * k + i, np.uint8))
    >>> _ = rawspace.cache.build(root / "cells", root / "c.h5", size=16, folds=2,
    ...                          test_fraction=0.25)
    >>> reader = rawspace.cache.open(root / "c.h5")
    >>> from classifiers import data, spaces
    >>> space = spaces.get("raw_packed")
    >>> samples = data.load(reader, space, rows=reader.rows, device=torch.device("cpu"),
    ...                     input_size=None)
    >>> pipeline = spaces.InputPipeline(space, spaces.RawFormat.of(reader),
    ...                                 spaces.Normalization.identity(4))
    >>> training, validation = reader.fold(0)
    >>> net = nn.Sequential(nn.Conv2d(4, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                     nn.Linear(4, 2))
    >>> config = TrainConfig(epochs=2, batch_size=2, quiet=True, timing_batches=1)
    >>> result = fit(net, samples, pipeline, train_rows=training.rows,
    ...              val_rows=validation.rows, config=config, device=torch.device("cpu"))
    >>> [r.epoch for r in result.history], result.best_epoch in (1, 2)
    ([1, 2], True)
    >>> probabilities, labels = predict(net, samples, pipeline, reader.test.rows,
    ...                                 device=torch.device("cpu"), batch_size=4)
    >>> probabilities.shape, bool(np.allclose(probabilities.sum(1), 1))
    ((4, 2), True)
    """
    group = group or Group()
    _check_fit(train_rows, val_rows, config, group)
    seed_everything(config.seed)
    threads = use_threads(config.threads, workers=samples.workers)
    run = config.runtime(device)
    trained = run.place(model, group)
    parts = _Parts.of(model, train_rows, config=config, run=run, group=group)
    show = not config.quiet and sys.stderr.isatty() and group.is_main
    result = TrainResult(
        device=device_name(device), resident=samples.resident, precision=run.precision,
        processes=group.world_size, threads=threads,
    )  # fmt: skip
    keeper = BestCheckpoint(patience=config.patience)
    model_s = parts.steps * time_model(
        trained, samples, pipeline, train_rows, batch_size=config.batch_size,
        batches=config.timing_batches, seed=config.seed, run=run, loss_fn=parts.loss_fn,
        group=group,
    )  # fmt: skip
    epochs = tqdm(range(1, config.epochs + 1), desc="epochs", disable=not show, leave=False)
    for epoch in epochs:
        batches = batch_rows(
            train_rows, batch_size=config.batch_size, shuffle=True,
            seed=config.seed * 100_003 + epoch, drop_last=True,
        )  # fmt: skip
        totals = train_one_epoch(
            trained, samples, pipeline, batches, optimizer=parts.optimizer,
            schedule=parts.schedule, loss_fn=parts.loss_fn, run=run, generator=parts.generator,
            epoch=epoch, group=group, show=show,
        )  # fmt: skip
        start = time.perf_counter()
        # precise BatchNorm, then the validation pass of the model itself (not its wrapper)
        recompute_batchnorm(
            trained, samples, pipeline, parts.bn_rows, batch_size=config.batch_size, group=group
        )
        val_acc, val_loss = _validate(model, samples, pipeline, val_rows, config, run, group)
        record = _record(epoch, totals, val_acc, val_loss, parts, model_s, start)
        result.history.append(record)
        if log is not None and group.is_main:
            log(_epoch_line(record, config.epochs))
        keeper.update(model, epoch=epoch, val_acc=val_acc, val_loss=val_loss)
        if keeper.should_stop:
            result.stopped_early = True
            break
    epochs.close()
    keeper.restore(model)
    result.best_epoch, result.best_val_acc = keeper.epoch, keeper.val_acc
    return result


@dataclass(frozen=True)
class _Parts:
    """The objects of one run besides the model: loss, optimiser, schedule, augmentation
    generator, the precise-BatchNorm rows and the number of steps per epoch."""

    loss_fn: nn.Module
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LambdaLR
    generator: torch.Generator
    bn_rows: np.ndarray
    steps: int

    @classmethod
    def of(
        cls, model: nn.Module, train_rows: np.ndarray, *, config: TrainConfig, run: Runtime,
        group: Group,
    ) -> _Parts:  # fmt: skip
        loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
        optimizer = build_optimizer(
            model, lr=config.lr, weight_decay=config.weight_decay,
            layer_decay=config.layer_decay, fused=run.fused,
        )  # fmt: skip
        steps = len(batch_rows(train_rows, batch_size=config.batch_size, drop_last=True))
        warmup = round(config.warmup_epochs * steps)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, warmup_cosine(warmup, config.epochs * steps)
        )
        # Augmentation draws: per rank (a rank augments only its part of each batch).
        generator = torch.Generator(device=run.device).manual_seed(config.seed * 1009 + group.rank)
        # A fixed, shuffled subset: batches that mix classes, as in training (class-sorted
        # batches would each see one class and underestimate every variance).
        bn_rows = np.random.default_rng(config.seed).permutation(train_rows)[: config.precise_bn]
        return cls(loss_fn, optimizer, schedule, generator, bn_rows, steps)


def _record(
    epoch: int,
    totals: EpochTotals,
    val_acc: float,
    val_loss: float,
    parts: _Parts,
    model_s: float,
    val_start: float,
) -> EpochRecord:
    return EpochRecord(
        epoch=epoch, loss=totals.loss, train_acc=totals.accuracy, val_acc=val_acc,
        val_loss=val_loss, lr=parts.optimizer.param_groups[0]["lr"], epoch_s=totals.seconds,
        model_s=model_s, ratio=totals.seconds / model_s if model_s > 0 else float("nan"),
        val_s=time.perf_counter() - val_start,
    )  # fmt: skip


def _validate(
    model: nn.Module,
    samples: Samples,
    pipeline: InputPipeline,
    rows: np.ndarray,
    config: TrainConfig,
    run: Runtime,
    group: Group,
) -> tuple[float, float]:
    """Validation accuracy and mean cross-entropy (fp32 logits, eval mode)."""
    logits, labels = evaluate(
        model, samples, pipeline, rows, batch_size=config.batch_size, run=run, group=group
    )
    loss = float(nn.functional.cross_entropy(logits, labels))
    return float((logits.argmax(1) == labels).double().mean()), loss


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

    Examples
    --------
    See :func:`fit`.
    """
    run = Runtime.of(device, precision="fp32")
    logits, labels = evaluate(
        model, samples, pipeline, rows, batch_size=batch_size, run=run, group=group
    )
    probabilities = torch.softmax(logits.double(), dim=1)
    return probabilities.cpu().numpy(), labels.cpu().numpy()


def _check_fit(
    train_rows: np.ndarray, val_rows: np.ndarray, config: TrainConfig, group: Group
) -> None:
    if len(train_rows) == 0 or len(val_rows) == 0:
        raise ValueError(
            f"fit needs training and validation samples; got {len(train_rows)} and {len(val_rows)}"
        )
    if config.batch_size % group.world_size:
        raise ValueError(
            f"batch_size ({config.batch_size}) must be divisible by the number of processes "
            f"({group.world_size})"
        )


def _epoch_line(record: EpochRecord, epochs: int) -> str:
    return (
        f"epoch {record.epoch}/{epochs} loss {record.loss:.4f} "
        f"train_acc {record.train_acc:.4f} val_acc {record.val_acc:.4f} lr {record.lr:.2e} "
        f"time {record.epoch_s:.2f}s model {record.model_s:.2f}s ratio {record.ratio:.2f} "
        f"val {record.val_s:.2f}s"
    )
