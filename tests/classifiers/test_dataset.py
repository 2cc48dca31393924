"""classifiers.CacheDataset: the project's training inputs through a plain DataLoader."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

import rawspace.cache  # noqa: E402
from classifiers import CacheDataset, data, spaces  # noqa: E402

CPU = torch.device("cpu")


def _tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(4, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3))  # fmt: skip


def test_two_epochs_through_a_dataloader_match_the_training_path(make_cache) -> None:
    """DataLoader(CacheDataset(...), num_workers=2) gives the batches of data.load +
    InputPipeline for the same rows, and a tiny model trained on either ends the same."""
    reader = rawspace.cache.open(make_cache())
    space = spaces.get("raw_packed")
    fmt = spaces.RawFormat.of(reader)
    training, _ = reader.fold(1)
    rows = training.rows
    samples = data.load(reader, space, rows=reader.rows, device=CPU, input_size=16)
    norm = spaces.fit_normalization(
        space.to_unit(s, fmt=fmt) for s, _ in samples.batches(data.batch_rows(rows, batch_size=8))
    )
    pipeline = spaces.InputPipeline(space, fmt, norm)
    dataset = CacheDataset(training, space, input_size=16, normalization=norm)
    fitted = CacheDataset(training, "raw_packed", input_size=16).normalisation
    np.testing.assert_allclose(fitted.mean, norm.mean, rtol=1e-9)
    np.testing.assert_allclose(fitted.std, norm.std, rtol=1e-9)
    position = {int(r): i for i, r in enumerate(dataset.rows)}
    ours, theirs = _tiny(), _tiny()
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.1) for m in (ours, theirs)]
    seen = 0
    for epoch in (1, 2):
        batches = data.batch_rows(rows, batch_size=4, shuffle=True, seed=epoch, drop_last=True)
        sampler = [[position[int(r)] for r in b] for b in batches]
        loader = DataLoader(dataset, batch_sampler=sampler, num_workers=2)
        for (x, y), (stored, labels), b in zip(
            loader, samples.batches(batches), batches, strict=True
        ):
            expected = pipeline(stored, train=True, rows=b, epoch=epoch)
            assert x.dtype == torch.float32 and torch.equal(x, expected)
            assert torch.equal(y, labels)
            for model, optimizer, inputs in zip(
                (ours, theirs), optimizers, (x, expected), strict=True
            ):
                loss = nn.functional.cross_entropy(model(inputs), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            seen += 1
    assert seen == 2 * (len(rows) // 4)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)


def test_spawned_workers_give_the_same_samples(make_cache) -> None:
    reader = rawspace.cache.open(make_cache())
    dataset = CacheDataset(reader.test, "rgb")
    loader = DataLoader(dataset, batch_size=4, num_workers=2, multiprocessing_context="spawn")
    xs, ys = zip(*loader, strict=True)
    direct = [dataset[i] for i in range(len(dataset))]
    assert torch.equal(torch.cat(xs), torch.stack([x for x, _ in direct]))
    assert torch.cat(ys).tolist() == [y for _, y in direct] == reader.test.labels.tolist()
    copy = pickle.loads(pickle.dumps(dataset))
    assert torch.equal(copy[1][0], direct[1][0])


def test_scaling_normalisation_rows_and_transform(make_cache) -> None:
    reader = rawspace.cache.open(make_cache())
    identity = spaces.Normalization.identity(3)
    dataset = CacheDataset(reader, "rgb", normalization=identity)
    x, label = dataset[-1]
    row = int(reader.rows[-1])
    expected = torch.from_numpy(reader.read("rgb", np.array([row]))[0]).permute(2, 0, 1) / 255
    assert torch.equal(x, expected) and label == int(reader.labels[row])
    chosen = reader.test.rows[[2, 0]]
    subset = CacheDataset(reader.test, "rgb", rows=chosen, normalization=identity)
    assert subset.rows.tolist() == chosen.tolist() and len(subset) == 2
    flipped = CacheDataset(reader, "rgb", normalization=identity, transform=lambda t: 1 - t)
    assert torch.equal(flipped[0][0], 1 - dataset[0][0])
    normalised = CacheDataset(reader.train, "rgb")
    stacked = torch.stack([normalised[i][0] for i in range(len(normalised))])
    np.testing.assert_allclose(stacked.mean(dim=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(stacked.std(dim=(0, 2, 3), unbiased=False), 1.0, atol=1e-4)


def test_bad_requests(make_cache) -> None:
    reader = rawspace.cache.open(make_cache(rgb=False))
    with pytest.raises(ValueError, match="unprocesses with a camera per sample"):
        CacheDataset(reader, "raw_packed_cam")
    with pytest.raises(ValueError, match="rgb"):
        CacheDataset(reader, "rgb")
    with pytest.raises(ValueError, match=r"rows \[.*\] are not in the view"):
        CacheDataset(reader.train, "raw_bayer", rows=reader.test.rows[:1])
    dataset = CacheDataset(reader.test, "raw_bayer")
    with pytest.raises(IndexError, match="out of range"):
        dataset[len(dataset)]
