"""rawspace.shards: K/N or a SLURM array task, and which shard an image belongs to."""

from __future__ import annotations

import re

import pytest

from rawspace.shards import parse_shard, shard_of

SLURM = {"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_COUNT": "4"}


def test_parse_shard() -> None:
    assert parse_shard("3/8", {}) == (3, 8)
    assert parse_shard(" 1/1 ", {}) == (1, 1)
    assert parse_shard("auto", SLURM) == (3, 4)  # the third task of the array 10-13


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("0/2", {}, "needs 1 ≤ K ≤ N; got 0/2"),
        ("3/2", {}, "needs 1 ≤ K ≤ N; got 3/2"),
        ("1/0", {}, "needs 1 ≤ K ≤ N; got 1/0"),
        ("2", {}, "must be K/N (e.g. 2/8) or auto; got '2'"),
        ("auto", {}, "--shard auto needs a SLURM array job; SLURM_ARRAY_TASK_ID"),
        ("auto", {**SLURM, "SLURM_ARRAY_TASK_ID": "x"}, "are not integers"),
    ],
)
def test_bad_shards(text, environ, message) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_shard(text, environ)


def test_shard_of_is_stable_and_spreads_images() -> None:
    assert shard_of("basophil/BA_100102.jpg", 4) == shard_of("basophil/BA_100102.jpg", 4)
    counts = [0] * 4
    for k in range(400):
        counts[shard_of(f"cls/{k:04d}.png", 4) - 1] += 1
    assert min(counts) > 60  # about 100 each
