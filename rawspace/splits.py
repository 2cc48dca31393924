"""Train/test splits and cross-validation folds: stratified, group-aware, seeded.

:func:`assign_splits` puts every sample either in the test set or in the
training set, and every training sample in one of ``folds`` folds, so that

- each class is represented in the test set and in every fold in proportion to
  its size;
- when groups are given (for instance patients), all samples of a group land in
  the same place: no group is in two folds, or in both the training and the
  test set;
- the result is a pure function of the labels, the groups, the options and the
  seed (NumPy's ``default_rng`` seeded with ``stable_seed(seed, "splits")``).

Without groups the assignment is exact: a class of ``n`` samples gets
``floor(test_fraction * n + 0.5)`` test samples (so its test share is within
half a sample of the fraction), chosen at random; its training samples are
dealt, in random order, round-robin over the folds, the deal continuing from
class to class so that fold sizes differ by at most one, per class and overall.

With groups it is a greedy balance (as scikit-learn's ``StratifiedGroupKFold``):
groups are visited from the largest to the smallest (ties in random order) and
each goes to the place whose per-class counts it brings closest, in least
squares, to that place's share of each class. The test set is chosen first,
then the folds among the training groups. Shares are then only as exact as the
group sizes allow.

A *pinned* split (``test=``, for instance a published split) fixes which samples
are in the test set; only the folds are drawn, by the same rules, over the
training samples (a group must then lie wholly in one set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .cameras import stable_seed

__all__ = ["MAX_FOLDS", "Splits", "assign_splits"]

#: Folds are stored as int8.
MAX_FOLDS = 127

TRAIN = 0
TEST = 1


@dataclass(frozen=True)
class Splits:
    """Where each sample goes.

    Attributes
    ----------
    split : numpy.ndarray, shape (N,), int8
        0 for training, 1 for test.
    fold : numpy.ndarray, shape (N,), int8
        Cross-validation fold of each training sample, in ``[0, folds)``; -1 for test
        samples, and for every sample when ``folds == 0``.
    """

    split: np.ndarray
    fold: np.ndarray


def _check_options(test_fraction: float, folds: int, seed: int) -> None:
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float, np.number)):
        raise TypeError(f"test_fraction must be a number, got {type(test_fraction).__name__}")
    if not 0.0 <= float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)):
        raise TypeError(f"folds must be an int, got {type(folds).__name__}")
    if folds == 1 or not 0 <= folds <= MAX_FOLDS:
        raise ValueError(f"folds must be 0 (no folds) or between 2 and {MAX_FOLDS}, got {folds}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")


def _stratified(
    labels: np.ndarray,
    test_fraction: float,
    folds: int,
    rng: np.random.Generator,
    pinned: np.ndarray | None,
) -> Splits:
    split = np.zeros(len(labels), dtype=np.int8)
    fold = np.full(len(labels), -1, dtype=np.int8)
    dealt = 0
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        if pinned is None:
            n_test = int(np.floor(test_fraction * len(members) + 0.5))
            test, train = members[:n_test], members[n_test:]
        else:
            test, train = members[pinned[members]], members[~pinned[members]]
        split[test] = TEST
        if folds:
            fold[train] = (dealt + np.arange(len(train))) % folds
            dealt += len(train)
    return Splits(split, fold)


def _balance_groups(counts: np.ndarray, shares: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Greedy least-squares assignment of groups to places.

    Parameters
    ----------
    counts : numpy.ndarray, shape (G, C)
        Samples of each class in each group.
    shares : numpy.ndarray, shape (P,)
        Target share of each place (sums to 1).
    order : numpy.ndarray, shape (G,)
        Order in which the groups are placed.

    Returns
    -------
    numpy.ndarray, shape (G,), int64
        The place of each group.
    """
    targets = shares[:, None] * counts.sum(axis=0)[None, :]
    placed = np.zeros_like(targets)
    place = np.zeros(len(counts), dtype=np.int64)
    for g in order:
        # Adding counts[g] to place p changes the squared error by
        # sum_c counts[g, c] * (2 * (placed[p, c] - targets[p, c]) + counts[g, c]).
        cost = (placed - targets) @ counts[g]
        fill = placed.sum(axis=1) / shares
        best = np.lexsort((np.arange(len(shares)), fill, cost))[0]
        place[g] = best
        placed[best] += counts[g]
    return place


def _grouped(
    labels: np.ndarray,
    groups: np.ndarray,
    test_fraction: float,
    folds: int,
    rng: np.random.Generator,
    pinned: np.ndarray | None,
) -> Splits:
    names, group_of = np.unique(groups, return_inverse=True)
    classes, class_of = np.unique(labels, return_inverse=True)
    counts = np.zeros((len(names), len(classes)), dtype=np.float64)
    np.add.at(counts, (group_of, class_of), 1.0)
    shuffled = rng.permutation(len(names))
    order = shuffled[np.argsort(-counts[shuffled].sum(axis=1), kind="stable")]

    group_split = np.zeros(len(names), dtype=np.int8)
    if pinned is not None:
        tested = np.zeros(len(names), dtype=np.int64)
        np.add.at(tested, group_of, pinned)
        sizes = np.bincount(group_of, minlength=len(names))
        mixed = np.flatnonzero((tested > 0) & (tested < sizes))
        if len(mixed):
            raise ValueError(
                f"the pinned test set separates group {str(names[mixed[0]])!r} "
                f"({tested[mixed[0]]} of its {sizes[mixed[0]]} samples in test); "
                f"{len(mixed)} group(s) are split"
            )
        group_split = (tested > 0).astype(np.int8)
    elif test_fraction > 0:
        shares = np.array([1.0 - test_fraction, test_fraction])
        group_split = _balance_groups(counts, shares, order).astype(np.int8)
    group_fold = np.full(len(names), -1, dtype=np.int8)
    if folds:
        train_order = order[group_split[order] == TRAIN]
        train_counts = np.where((group_split == TRAIN)[:, None], counts, 0.0)
        place = _balance_groups(train_counts, np.full(folds, 1.0 / folds), train_order)
        group_fold[train_order] = place[train_order]
    return Splits(group_split[group_of], group_fold[group_of])


def assign_splits(
    labels: Sequence[int] | np.ndarray,
    *,
    groups: Sequence[str] | None = None,
    test_fraction: float = 0.1,
    folds: int = 5,
    seed: int = 0,
    test: Sequence[bool] | np.ndarray | None = None,
) -> Splits:
    """Assign samples to the training or test set and to cross-validation folds.

    Parameters
    ----------
    labels : array_like of int, shape (N,)
        Class of each sample.
    groups : sequence of str, shape (N,), optional
        Group of each sample; samples of a group are never separated.
    test_fraction : float, default 0.1
        Share of each class in the test set, in [0, 1).
    folds : int, default 5
        Number of cross-validation folds over the training samples: 0 for none, or
        2 to :data:`MAX_FOLDS`.
    seed : int, default 0
        Global seed, a non-negative integer; the splits use the stream
        ``stable_seed(seed, "splits")``.
    test : sequence of bool, shape (N,), optional
        A pinned split: True for the samples of the test set (``test_fraction`` is
        then not used); only the folds are drawn. With ``groups``, every group must
        lie wholly in the test or the training set.

    Returns
    -------
    Splits
        ``split`` (int8, 0 train / 1 test) and ``fold`` (int8, -1 outside the folds).

    Raises
    ------
    TypeError, ValueError
        An argument has the wrong type, shape or value (the message names it), or
        the pinned test set separates a group.

    Notes
    -----
    See the module notes for the algorithms and their guarantees.

    Examples
    --------
    >>> splits = assign_splits([0] * 10 + [1] * 10, test_fraction=0.2, folds=2, seed=1)
    >>> int((splits.split == 1).sum()), sorted(set(splits.fold.tolist()))
    (4, [-1, 0, 1])
    >>> pinned = assign_splits([0, 0, 1, 1], folds=0, test=[True, False, False, True])
    >>> pinned.split.tolist()
    [1, 0, 0, 1]
    """
    _check_options(test_fraction, folds, seed)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    group_array = None if groups is None else np.asarray(groups, dtype=object)
    if group_array is not None:
        if group_array.shape != labels.shape:
            raise ValueError(
                f"groups must have one entry per label ({labels.shape[0]}), got shape "
                f"{group_array.shape}"
            )
        if not all(isinstance(g, str) for g in group_array):
            raise TypeError("groups must be strings")
    if labels.size == 0:
        if test is not None and len(test):
            raise ValueError(f"test must have one entry per label (0), got {len(test)}")
        return Splits(np.zeros(0, dtype=np.int8), np.zeros(0, dtype=np.int8))
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    pinned = None if test is None else _check_pinned(test, labels.shape)
    rng = np.random.default_rng(stable_seed(int(seed), "splits"))
    if group_array is None:
        return _stratified(labels, float(test_fraction), int(folds), rng, pinned)
    return _grouped(labels, group_array.astype(str), float(test_fraction), int(folds), rng, pinned)


def _check_pinned(test: Sequence[bool] | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    pinned = np.asarray(test)
    if pinned.shape != shape:
        raise ValueError(
            f"test must have one entry per label ({shape[0]}), got shape {pinned.shape}"
        )
    if pinned.dtype != np.bool_:
        raise TypeError(f"test must be booleans, got dtype {pinned.dtype}")
    return pinned
