"""classifiers.data: the two ways of batching a cache's samples, read through rawspace.cache."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rawspace.cache  # noqa: E402
from classifiers import data, spaces  # noqa: E402

CPU = torch.device("cpu")


def test_the_cache_reader_gives_what_training_needs(make_cache) -> None:
    reader = rawspace.cache.open(make_cache(layout="packed", rgb=False))
    assert reader.class_names == ("BAS", "EOS", "LYT")
    assert (reader.size, reader.has_rgb) == (32, False)
    fmt = spaces.RawFormat.of(reader)
    assert (fmt.layout, fmt.cfa, fmt.black_level, fmt.white_level) == ("packed", "RGGB", 64, 1023)
    assert reader.n_folds == 2
    assert len(reader.test) == 6 and len(reader.train) == 18
    train, val = reader.fold(1)
    assert len(train) + len(val) == 18 and not set(train.rows) & set(val.rows)
    rows = np.array([5, 2, 3, 17])
    stacked = reader.read("raw", rows)
    assert stacked.shape == (4, 16, 16, 4) and stacked.dtype == np.uint16
    for got, row in zip(stacked, rows, strict=True):
        np.testing.assert_array_equal(got, reader[int(row)].raw)


@pytest.mark.parametrize("space", ["rgb", "raw_packed"])
def test_resident_and_streamed_batches_agree(make_cache, space: str) -> None:
    reader = rawspace.cache.open(make_cache())
    chosen = spaces.get(space)
    rows = np.concatenate([reader.train.rows, reader.test.rows])
    resident = data.load(reader, chosen, rows=rows, device=CPU, input_size=16)
    streamed = data.load(
        reader, chosen, rows=rows, device=CPU, input_size=16, resident=False, workers=2
    )
    assert resident.resident and not streamed.resident
    assert (
        resident.nbytes == rows.size * resident.stored[0].numel() * resident.stored.element_size()
    )
    train = reader.train.rows
    batches = data.batch_rows(train, batch_size=5, shuffle=True, seed=7, drop_last=True)
    pairs = list(zip(resident.batches(batches), streamed.batches(batches), strict=True))
    assert len(pairs) == 18 // 5
    for (x1, y1), (x2, y2) in pairs:
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    order = np.random.default_rng(7).permutation(train)[:5]
    assert torch.equal(pairs[0][0][1], torch.as_tensor(reader.labels[order]))


def test_rows_dataset_pickles_to_workers(make_cache) -> None:
    reader = rawspace.cache.open(make_cache())
    rows = data._CacheRows(reader, spaces.get("raw_bayer"), None)
    stored, label = rows[3]
    assert stored.shape == (1, 32, 32) and label == int(reader.labels[3])
    copy = pickle.loads(pickle.dumps(rows))
    assert torch.equal(copy[3][0], stored)


def test_memory_check_and_bad_requests(make_cache) -> None:
    assert data.fits_in_memory(1024, CPU)
    assert not data.fits_in_memory(1 << 60, CPU)
    reader = rawspace.cache.open(make_cache(rgb=False))
    train, test = reader.train.rows, reader.test.rows
    with pytest.raises(ValueError, match="needs the cache's rgb dataset"):
        data.load(reader, spaces.get("rgb"), rows=train, device=CPU, input_size=None)
    samples = data.load(reader, spaces.get("raw_bayer"), rows=train, device=CPU, input_size=None)
    with pytest.raises(ValueError, match="not loaded"):
        next(samples.batches([test[:2]]))
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        data.batch_rows(train, batch_size=0)


def test_batch_rows() -> None:
    rows = np.arange(10, 21)
    assert [b.tolist() for b in data.batch_rows(rows, batch_size=4)] == [
        [10, 11, 12, 13], [14, 15, 16, 17], [18, 19, 20]
    ]  # fmt: skip
    assert len(data.batch_rows(rows, batch_size=4, drop_last=True)) == 2
    assert len(data.batch_rows(rows[:3], batch_size=4, drop_last=True)) == 1  # the only batch
    shuffled = np.concatenate(data.batch_rows(rows, batch_size=4, shuffle=True, seed=3))
    np.testing.assert_array_equal(shuffled, np.random.default_rng(3).permutation(rows))
