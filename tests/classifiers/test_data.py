"""classifiers.data: cache metadata and the two ways of batching samples."""

from __future__ import annotations

import pickle

import h5py
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from classifiers import data  # noqa: E402

CPU = torch.device("cpu")


def test_read_info(make_cache) -> None:
    info = data.read_info(make_cache(layout="packed", rgb=False))
    assert info.class_names == ("BAS", "EOS", "LYT")
    assert (info.height, info.width, info.has_rgb) == (32, 32, False)
    assert (info.fmt.layout, info.fmt.cfa, info.fmt.black_level) == ("packed", "RGGB", 64.0)
    assert info.n_folds == 2
    assert info.test_indices.size == 6 and info.train_indices.size == 18
    assert set(np.unique(info.fold[info.test_indices])) == {-1}


def test_read_info_errors(make_cache, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="cache file not found"):
        data.read_info(tmp_path / "absent.h5")
    text = tmp_path / "text.h5"
    text.write_text("not hdf5")
    with pytest.raises(ValueError, match=r"cannot open .*text\.h5 as an HDF5 cache"):
        data.read_info(text)
    path = make_cache()
    with h5py.File(path, "a") as handle:
        del handle.attrs["cfa"]
        del handle["fold"]
    with pytest.raises(ValueError, match="not a rawspace cache: missing fold, attribute cfa"):
        data.read_info(path)


@pytest.mark.parametrize("space", ["rgb", "raw_packed"])
def test_resident_and_streamed_batches_agree(make_cache, space: str) -> None:
    info = data.read_info(make_cache())
    indices = np.concatenate([info.train_indices, info.test_indices])
    resident = data.load(info, space, indices=indices, device=CPU, input_size=16)
    streamed = data.load(
        info, space, indices=indices, device=CPU, input_size=16, resident=False, workers=2
    )
    assert resident.resident and not streamed.resident
    assert (
        resident.nbytes
        == indices.size * resident.stored[0].numel() * resident.stored.element_size()
    )
    options = {"batch_size": 5, "shuffle": True, "seed": 7, "drop_last": True}
    pairs = list(
        zip(
            resident.batches(info.train_indices, **options),
            streamed.batches(info.train_indices, **options),
            strict=True,
        )
    )
    assert len(pairs) == 18 // 5
    for (x1, y1), (x2, y2) in pairs:
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    order = np.random.default_rng(7).permutation(info.train_indices)[:5]
    assert torch.equal(pairs[0][0][1], torch.as_tensor(info.labels[order]))


def test_rows_dataset_reopens_its_file_in_each_process(make_cache) -> None:
    info = data.read_info(make_cache())
    rows = data._CacheRows(info, "raw_bayer", None)
    stored, label = rows[3]
    assert stored.shape == (1, 32, 32) and label == int(info.labels[3])
    assert rows._handle is not None
    copy = pickle.loads(pickle.dumps(rows))
    assert copy._handle is None
    assert torch.equal(copy[3][0], stored)


def test_memory_check_and_bad_requests(make_cache) -> None:
    assert data.fits_in_memory(1024, CPU)
    assert not data.fits_in_memory(1 << 60, CPU)
    info = data.read_info(make_cache(rgb=False))
    with pytest.raises(ValueError, match="needs the cache's rgb dataset"):
        data.load(info, "rgb", indices=info.train_indices, device=CPU, input_size=None)
    samples = data.load(info, "raw_bayer", indices=info.train_indices, device=CPU, input_size=None)
    with pytest.raises(ValueError, match="not loaded"):
        next(samples.batches(info.test_indices, batch_size=2))
    with pytest.raises(ValueError, match="batch_size must be a positive integer; got 0"):
        next(samples.batches(info.train_indices, batch_size=0))
