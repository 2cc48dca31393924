"""The camera-shift test's raw images equal what the core writes into a cache."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rawspace  # noqa: E402
import rawspace.cache  # noqa: E402
from classifiers.grid import shift  # noqa: E402


@pytest.mark.parametrize("layout", ["bayer", "packed", "linear"])
def test_shifted_raw_rows_equal_the_cores_invert(make_cache, layout) -> None:
    reader = rawspace.cache.open(make_cache(f"{layout}.h5", layout=layout))
    rows = reader.test.rows
    camera = reader.params(int(rows[0]))
    found = shift._raw_rows(reader, rows[:1], camera=camera, device=torch.device("cpu"))
    rgb = reader.read("rgb", rows[:1])[0]
    expected = rawspace.invert(rgb, camera, layout=layout).data
    assert found.dtype == np.uint16 and found[0].shape == expected.shape
    difference = np.abs(found[0].astype(np.int64) - expected.astype(np.int64))
    assert difference.max() <= 1 and (difference == 0).mean() > 0.99
