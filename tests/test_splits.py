"""Tests of rawspace.splits: stratified, group-aware, seeded train/test splits and folds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rawspace.splits import MAX_FOLDS, assign_splits


def _labels(counts: list[int], seed: int = 0) -> np.ndarray:
    labels = np.repeat(np.arange(len(counts)), counts)
    return np.random.default_rng(seed).permutation(labels)


def _check_stratified(labels: np.ndarray, split: np.ndarray, fold: np.ndarray, f: float, k: int):
    assert split.dtype == np.int8 and fold.dtype == np.int8
    assert set(np.unique(split)) <= {0, 1}
    np.testing.assert_array_equal(fold == -1, split == 1 if k else np.ones_like(split, bool))
    for label in np.unique(labels):
        mine = labels == label
        n = int(mine.sum())
        n_test = int(split[mine].sum())
        assert n_test == math.floor(f * n + 0.5)
        assert abs(n_test - f * n) <= 1
        if k:
            sizes = np.bincount(fold[mine & (split == 0)], minlength=k)
            assert sizes.max() - sizes.min() <= 1
    if k:
        sizes = np.bincount(fold[split == 0], minlength=k)
        assert sizes.max() - sizes.min() <= 1


@pytest.mark.parametrize("folds", [0, 2, 5])
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25])
def test_stratified_shares_and_balanced_folds(folds, fraction):
    labels = _labels([1, 7, 40, 133, 500])
    splits = assign_splits(labels, test_fraction=fraction, folds=folds, seed=3)
    _check_stratified(labels, splits.split, splits.fold, fraction, folds)


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 60), min_size=1, max_size=6),
    fraction=st.floats(0.0, 0.9),
    folds=st.sampled_from([0, 2, 3, 5, 10]),
    seed=st.integers(0, 2**32),
)
def test_stratified_invariants_hold_for_any_labels(counts, fraction, folds, seed):
    labels = _labels(counts, seed % 7)
    splits = assign_splits(labels, test_fraction=fraction, folds=folds, seed=seed)
    _check_stratified(labels, splits.split, splits.fold, fraction, folds)


def test_seeded_and_deterministic():
    labels = _labels([50, 60, 70])
    a = assign_splits(labels, seed=1)
    b = assign_splits(labels.copy(), seed=1)
    c = assign_splits(labels, seed=2)
    np.testing.assert_array_equal(a.split, b.split)
    np.testing.assert_array_equal(a.fold, b.fold)
    assert not np.array_equal(a.split, c.split)
    assert not np.array_equal(a.fold, c.fold)


def test_input_not_modified():
    labels = _labels([10, 20])
    before = labels.copy()
    groups = [f"g{i % 7}" for i in range(30)]
    assign_splits(labels, groups=groups, seed=0)
    np.testing.assert_array_equal(labels, before)
    assert groups == [f"g{i % 7}" for i in range(30)]


def _grouped_case(n_groups: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 30, n_groups)
    groups = np.repeat([f"patient{i:03d}" for i in range(n_groups)], sizes)
    # Each patient has a dominant class, as blood smears do.
    dominant = rng.integers(0, 4, n_groups)
    labels = np.where(rng.random(len(groups)) < 0.7, np.repeat(dominant, sizes), 0)
    labels = np.where(rng.random(len(groups)) < 0.2, rng.integers(0, 4, len(groups)), labels)
    return labels, groups


@pytest.mark.parametrize("folds", [0, 3, 5])
def test_groups_never_mix(folds):
    labels, groups = _grouped_case()
    splits = assign_splits(labels, groups=list(groups), test_fraction=0.2, folds=folds, seed=5)
    for name in np.unique(groups):
        mine = groups == name
        assert len(np.unique(splits.split[mine])) == 1, name
        assert len(np.unique(splits.fold[mine])) == 1, name
    np.testing.assert_array_equal(splits.fold == -1, (splits.split == 1) | (folds == 0))


def test_grouped_shares_are_close_to_the_targets():
    labels, groups = _grouped_case(n_groups=200, seed=1)
    splits = assign_splits(labels, groups=list(groups), test_fraction=0.2, folds=5, seed=0)
    assert abs(splits.split.mean() - 0.2) < 0.03
    for label in np.unique(labels):
        mine = labels == label
        assert abs(splits.split[mine].mean() - 0.2) < 0.06
    sizes = np.bincount(splits.fold[splits.split == 0], minlength=5)
    assert sizes.max() / sizes.min() < 1.15
    again = assign_splits(labels, groups=list(groups), test_fraction=0.2, folds=5, seed=0)
    np.testing.assert_array_equal(splits.fold, again.fold)


def test_one_sample_groups_still_stratify_roughly():
    labels = _labels([100, 300])
    groups = [f"s{i}" for i in range(len(labels))]
    splits = assign_splits(labels, groups=groups, test_fraction=0.1, folds=5, seed=0)
    for label in (0, 1):
        mine = labels == label
        assert abs(int(splits.split[mine].sum()) - 0.1 * mine.sum()) <= 1.5


def test_empty_labels():
    splits = assign_splits(np.array([], dtype=np.int64), seed=0)
    assert splits.split.shape == (0,) and splits.fold.shape == (0,)
    assert assign_splits([], groups=[], seed=0).split.shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"folds": 1}, ValueError, "folds"),
        ({"folds": MAX_FOLDS + 1}, ValueError, "folds"),
        ({"folds": -1}, ValueError, "folds"),
        ({"folds": 2.0}, TypeError, "folds"),
        ({"test_fraction": 1.0}, ValueError, "test_fraction"),
        ({"test_fraction": -0.1}, ValueError, "test_fraction"),
        ({"test_fraction": "0.1"}, TypeError, "test_fraction"),
        ({"seed": None}, TypeError, "seed"),
        ({"groups": ["a", "b"]}, ValueError, "groups"),
        ({"groups": [1, 2, 3, 4]}, TypeError, "groups"),
    ],
)
def test_invalid_options_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        assign_splits([0, 1, 0, 1], **kwargs)


def test_labels_must_be_integers_in_one_dimension():
    with pytest.raises(ValueError, match="1-D"):
        assign_splits(np.zeros((2, 2), dtype=int))
    with pytest.raises(TypeError, match="integers"):
        assign_splits(np.array([0.5, 1.0]))


# ------------------------------------------------------------------------ pinned splits
@pytest.mark.parametrize("folds", [0, 2, 5])
def test_pinned_split_keeps_the_drawn_folds(folds):
    labels = _labels([30, 17, 9])
    drawn = assign_splits(labels, test_fraction=0.2, folds=folds, seed=3)
    pinned = assign_splits(labels, test_fraction=0.0, folds=folds, seed=3, test=drawn.split == 1)
    np.testing.assert_array_equal(pinned.split, drawn.split)
    np.testing.assert_array_equal(pinned.fold, drawn.fold)


def test_pinned_split_is_exactly_the_given_test_set():
    labels = _labels([40, 25, 11], seed=1)
    test = np.random.default_rng(7).random(len(labels)) < 0.3  # not stratified at all
    splits = assign_splits(labels, folds=4, seed=0, test=test)
    np.testing.assert_array_equal(splits.split, test.astype(np.int8))
    np.testing.assert_array_equal(splits.fold == -1, test)
    for label in np.unique(labels):  # folds still balanced within each class
        sizes = np.bincount(splits.fold[(labels == label) & ~test], minlength=4)
        assert sizes.max() - sizes.min() <= 1


def test_pinned_split_with_groups():
    labels, groups = _grouped_case()
    names = np.unique(groups)
    test = np.isin(groups, names[::5])  # whole groups
    splits = assign_splits(labels, groups=list(groups), folds=3, seed=2, test=test)
    np.testing.assert_array_equal(splits.split, test.astype(np.int8))
    for name in names:  # no group in two folds
        assert len(np.unique(splits.fold[groups == name])) == 1
    mixed = test.copy()
    mixed[np.flatnonzero(groups == names[1])[0]] = True
    with pytest.raises(ValueError, match=f"separates group '{names[1]}'"):
        assign_splits(labels, groups=list(groups), folds=3, test=mixed)


@pytest.mark.parametrize(
    ("test", "error", "match"),
    [
        ([True, False], ValueError, r"test must have one entry per label \(3\)"),
        ([1, 0, 1], TypeError, "test must be booleans"),
    ],
)
def test_pinned_split_arguments_are_checked(test, error, match):
    with pytest.raises(error, match=match):
        assign_splits([0, 1, 1], folds=0, test=test)
