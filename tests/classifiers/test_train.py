"""classifiers.train: devices, splits, the training loop (with a tiny network)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import rawspace.cache  # noqa: E402
from classifiers import data, spaces, train  # noqa: E402

CPU = torch.device("cpu")


def _tiny(channels: int, classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, classes),
    )


@pytest.fixture
def setup(make_cache):
    reader = rawspace.cache.open(make_cache())
    space = spaces.get("raw_packed")
    fmt = spaces.RawFormat.of(reader)
    samples = data.load(reader, space, rows=reader.rows, device=CPU, input_size=None)
    training, validation = reader.fold(1)  # trains on fold 0, validates on fold 1
    train_idx, val_idx = training.rows, validation.rows
    batches = data.batch_rows(train_idx, batch_size=8)
    norm = spaces.fit_normalization(space.to_unit(s, fmt=fmt) for s, _ in samples.batches(batches))
    return reader, samples, spaces.InputPipeline(space, fmt, norm), train_idx, val_idx


def _fit(setup, model: nn.Module, config, **options) -> train.TrainResult:
    """Train ``model`` on the setup's training rows, validating on its validation rows."""
    _, samples, pipeline, train_idx, val_idx = setup
    return train.fit(
        model, samples, pipeline, train_rows=train_idx, val_rows=val_idx, config=config,
        device=CPU, **options,
    )  # fmt: skip


def test_devices() -> None:
    assert train.resolve_device("cpu") == CPU
    assert train.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device must be one of auto, cpu, cuda; got 'tpu'"):
        train.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(train.DeviceUnavailableError, match="no CUDA GPU is available"):
            train.resolve_device("cuda")


def test_fit_records_epochs_and_keeps_the_best_weights(setup) -> None:
    reader, samples, pipeline, _, val_idx = setup
    config = train.TrainConfig(
        epochs=4, batch_size=4, lr=0.05, patience=0, quiet=True, timing_batches=2
    )
    lines = []
    model = _tiny(4, 3)
    result = _fit(setup, model, config, log=lines.append)
    assert [r.epoch for r in result.history] == [1, 2, 3, 4] and not result.stopped_early
    assert len(lines) == 4 and lines[0].startswith("epoch 1/4 ")  # one line per epoch
    for record in result.history:
        assert (
            record.epoch_s > 0
            and record.model_s > 0
            and record.ratio == pytest.approx(record.epoch_s / record.model_s)
        )
        assert 0 <= record.train_acc <= 1 and record.loss > 0
    assert result.history[-1].lr == pytest.approx(0.0, abs=1e-12)  # cosine reaches 0
    best = max(result.history, key=lambda r: r.val_acc)
    assert result.best_val_acc == best.val_acc
    probabilities, labels = train.predict(
        model, samples, pipeline, val_idx, device=CPU, batch_size=5
    )
    assert np.allclose(probabilities.sum(1), 1.0)
    assert np.array_equal(labels, reader.labels[val_idx])
    assert (probabilities.argmax(1) == labels).mean() == pytest.approx(result.best_val_acc)
    assert result.to_dict()["history"][0]["epoch"] == 1


def test_fit_is_deterministic_and_stops_early(setup) -> None:
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = _tiny(4, 3)
        config = train.TrainConfig(
            epochs=6, batch_size=4, lr=1e-9, patience=1, quiet=False, timing_batches=1
        )
        lines = []
        runs.append(_fit(setup, model, config, log=lines.append))
    first, second = runs
    assert [r.loss for r in first.history] == [r.loss for r in second.history]
    assert first.stopped_early and len(first.history) == 2 and first.best_epoch == 1
    assert lines[0].startswith("epoch 1/6 loss ") and "ratio" in lines[0]


def test_bad_configuration(setup) -> None:
    _, samples, pipeline, train_idx, _ = setup
    with pytest.raises(ValueError, match="epochs must be a positive integer; got 0"):
        train.TrainConfig(epochs=0)
    with pytest.raises(ValueError, match=r"label_smoothing must lie in \[0, 1\); got 1.0"):
        train.TrainConfig(label_smoothing=1.0)
    with pytest.raises(ValueError, match="fit needs training and validation samples; got 9 and 0"):
        train.fit(
            _tiny(4, 3),
            samples,
            pipeline,
            train_rows=train_idx,
            val_rows=train_idx[:0],
            config=train.TrainConfig(),
            device=CPU,
        )


def _bn_net(channels: int, classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, classes),
    )


def test_precise_batchnorm_makes_eval_agree_with_train_mode(setup) -> None:
    """Stale running statistics (here: never updated) give eval-mode outputs far from the
    train-mode ones; after the recompute over the training batches they agree."""
    _, samples, pipeline, train_idx, _ = setup
    torch.manual_seed(1)
    model = _bn_net(4, 3)
    with torch.no_grad():
        model[0].weight.mul_(40.0)  # activations far from the initial statistics (0, 1)
    (stored, _), *_ = samples.batches([train_idx])  # the whole training set: one batch
    x = pipeline(stored, train=False)
    with torch.no_grad():
        model.train()
        reference = model(x)
        model[1].reset_running_stats()
        model.eval()
        stale = model(x)
        assert not torch.allclose(stale, reference, atol=1e-2)
        count = train.recompute_batchnorm(
            model, samples, pipeline, train_idx, batch_size=len(train_idx)
        )
        model.eval()
        precise = model(x)
    assert count == 1
    # one batch: the running mean is the batch mean; the running variance is unbiased
    # (n / (n − 1) times the batch variance), hence a tolerance
    torch.testing.assert_close(precise, reference, atol=0.05, rtol=0.05)
    assert (precise.argmax(1) == reference.argmax(1)).all()


def test_frozen_batchnorm_is_left_alone(setup) -> None:
    _, samples, pipeline, train_idx, _ = setup
    model = _bn_net(4, 3)
    model[1].eval()  # as a frozen backbone in mode="linear"
    model[1].train = lambda mode=True: model[1]  # stays in eval mode
    before = model[1].running_mean.clone()
    assert train.recompute_batchnorm(model, samples, pipeline, train_idx, batch_size=4) == 0
    assert torch.equal(model[1].running_mean, before)


@pytest.mark.parametrize(
    "options",
    [
        {"precision": "bf16"},
        {"channels_last": True},
        {"fused": True},
        {"precision": "bf16", "channels_last": True, "fused": True},
    ],
)
def test_cuda_branches_run_on_the_cpu(setup, options) -> None:
    """bf16 autocast, channels_last and the fused AdamW — CUDA's defaults — forced on the
    CPU; evaluation stays float32."""
    _, samples, pipeline, _, val_idx = setup
    torch.manual_seed(0)
    model = _bn_net(4, 3)
    config = train.TrainConfig(epochs=2, batch_size=4, quiet=True, timing_batches=1, **options)
    result = _fit(setup, model, config)
    assert result.precision == ("bf16" if options.get("precision") == "bf16" else "fp32")
    assert all(np.isfinite(r.loss) for r in result.history)
    if options.get("channels_last"):
        assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    probabilities, _ = train.predict(model, samples, pipeline, val_idx, device=CPU, batch_size=4)
    (stored, _), *_ = samples.batches([val_idx])
    model.eval()
    with torch.no_grad():
        fp32 = torch.softmax(model(pipeline(stored, train=False)).double(), dim=1)
    np.testing.assert_allclose(probabilities, fp32.numpy(), atol=1e-6)


def test_the_model_is_timed_once_per_run(setup, monkeypatch) -> None:
    calls = []
    timed = train.time_model
    monkeypatch.setattr(train, "time_model", lambda *a, **k: calls.append(1) or timed(*a, **k))
    config = train.TrainConfig(epochs=3, batch_size=4, quiet=True, timing_batches=2)
    result = _fit(setup, _tiny(4, 3), config)
    assert calls == [1] and len(result.history) == 3
    assert len({r.model_s for r in result.history}) == 1  # the same model time every epoch


def test_batchnorm_is_recomputed_over_shuffled_training_samples(setup, monkeypatch) -> None:
    """The training rows of a cache come class by class; batches of consecutive rows would
    each hold one class and underestimate every variance (eval-mode accuracy on the
    training set fell to 78 % for a model at 100 % in training mode)."""
    reader, _, _, train_idx, _ = setup
    seen = []
    recompute = train.recompute_batchnorm
    monkeypatch.setattr(
        train,
        "recompute_batchnorm",
        lambda m, s, p, rows, **k: seen.append(rows) or recompute(m, s, p, rows, **k),
    )
    config = train.TrainConfig(epochs=1, batch_size=4, quiet=True, timing_batches=1, precise_bn=8)
    _fit(setup, _bn_net(4, 3), config)
    (rows,) = seen
    assert len(rows) == 8 and set(rows) <= set(train_idx.tolist())
    labels = reader.labels[rows]
    assert np.any(np.diff(labels) < 0)  # not class by class


def test_fit_history_is_pinned(setup) -> None:
    """The composed loop (train_one_epoch, precise BatchNorm, evaluate, BestCheckpoint)
    reproduces the figures of the single-function loop it replaced, for the same seed."""
    torch.manual_seed(0)
    model = _bn_net(4, 3)
    config = train.TrainConfig(
        epochs=4, batch_size=4, lr=0.02, patience=2, quiet=True, timing_batches=1, precise_bn=8
    )
    result = _fit(setup, model, config)
    got = [(r.loss, r.train_acc, r.val_acc, r.val_loss, r.lr) for r in result.history]
    pinned = [
        (1.0820291638374329, 0.375, 1.0, 0.8609421849250793, 0.02),
        (0.8203395307064056, 1.0, 1.0, 0.6784287691116333, 0.015),
        (0.8092545866966248, 0.625, 1.0, 0.6078853607177734, 0.005),
        (0.7204050421714783, 1.0, 1.0, 0.5930531024932861, 0.0),
    ]
    assert np.allclose(got, pinned, rtol=1e-5, atol=1e-9)
    # equal accuracies: the lowest validation loss wins
    assert result.best_epoch == 4 and not result.stopped_early
    assert float(model[0].weight.detach().sum()) == pytest.approx(-5.901254653930664, rel=1e-5)


def test_best_checkpoint_keeps_the_best_and_stops() -> None:
    from classifiers.checkpoint import BestCheckpoint

    net = nn.Linear(2, 1)
    keeper = BestCheckpoint(patience=2)
    results = [(0.5, 1.0), (0.7, 2.0), (0.7, 1.5), (0.6, 0.1), (0.7, 1.5)]
    for epoch, (acc, loss) in enumerate(results, start=1):
        with torch.no_grad():
            net.weight.fill_(epoch)
        keeper.update(net, epoch=epoch, val_acc=acc, val_loss=loss)
        if keeper.should_stop:
            break
    assert (keeper.epoch, keeper.val_acc, keeper.val_loss, epoch) == (3, 0.7, 1.5, 5)
    keeper.restore(net)
    assert torch.all(net.weight == 3.0)
    with pytest.raises(ValueError, match="patience must be an integer ≥ 0; got -1"):
        BestCheckpoint(patience=-1)
    with pytest.raises(RuntimeError, match="nothing to restore"):
        BestCheckpoint(patience=0).restore(net)


def test_threads_are_recorded_and_the_wait_policy_is_passive(setup) -> None:
    import os
    import subprocess
    import sys

    before = torch.get_num_threads()
    try:
        config = train.TrainConfig(epochs=1, batch_size=4, quiet=True, timing_batches=1, threads=1)
        result = _fit(setup, _tiny(4, 3), config)
        assert result.threads == 1 == torch.get_num_threads()
        assert result.to_dict()["threads"] == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="threads must be a positive integer or None; got 0"):
        train.TrainConfig(threads=0)
    code = "import os, classifiers; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "PASSIVE", run.stderr
    env["OMP_WAIT_POLICY"] = "ACTIVE"  # the user's choice is kept
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stdout.strip() == "ACTIVE", run.stderr


def test_use_threads_leaves_cpus_to_the_loading_workers(monkeypatch) -> None:
    import dataclasses

    from classifiers import runtime
    from rawspace import cpus

    budget = dataclasses.replace(cpus.cpu_budget(), cpus=3)
    monkeypatch.setattr(cpus, "cpu_budget", lambda: budget)
    before = torch.get_num_threads()
    try:
        monkeypatch.setattr(runtime, "user_set_threads", lambda: False)
        assert runtime.use_threads(workers=2) == 1 == torch.get_num_threads()
        assert runtime.use_threads() == 3 == torch.get_num_threads()
        assert runtime.use_threads(2, workers=5) == 2
        monkeypatch.setattr(runtime, "user_set_threads", lambda: True)  # the user's count
        assert runtime.use_threads(workers=2) == 2 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
