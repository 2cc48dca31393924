"""The two-way interval, the image-level test and Holm's adjustment recomputed
independently (numpy loops, scipy, statsmodels, scikit-learn) from saved per-image
correctness, following the documented random draws."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

scipy_stats = pytest.importorskip("scipy.stats")
multitest = pytest.importorskip("statsmodels.stats.multitest")
sklearn_metrics = pytest.importorskip("sklearn.metrics")
pytest.importorskip("torch")  # classifiers/__init__ imports torch

from classifiers import stats  # noqa: E402

RESAMPLES, SEED = 700, 11  # crosses a block of RESAMPLE_BLOCK draws


@pytest.fixture
def saved(tmp_path: Path) -> dict[str, np.ndarray]:
    """Labels and predictions of 4 runs of two spaces, written and read back as cells."""
    rng = np.random.default_rng(21)
    runs, n, k = 4, 90, 3
    labels = rng.integers(0, k, n)
    hard = rng.random(n) < 0.2  # images hard for every run and space

    def predict(error: float) -> np.ndarray:
        wrong = rng.random((runs, n)) < np.where(hard, 0.6, error)
        return np.where(wrong, (labels + rng.integers(1, k, (runs, n))) % k, labels)

    path = tmp_path / "cells.npz"
    np.savez(path, labels=labels, rgb=predict(0.1), raw=predict(0.06))
    with np.load(path) as stored:
        return {name: stored[name] for name in stored.files}


def _draws(runs: int, n: int, groups: list[np.ndarray] | None = None):
    """The documented draws of two_way_indices, block by block, one resample at a time."""
    rng = np.random.default_rng(SEED)
    for start in range(0, RESAMPLES, stats.RESAMPLE_BLOCK):
        rows = min(stats.RESAMPLE_BLOCK, RESAMPLES - start)
        run_idx = rng.integers(0, runs, size=(rows, runs))
        if groups is None:
            image_idx = rng.integers(0, n, size=(rows, n))
        else:
            image_idx = np.empty((rows, n), dtype=np.int64)
            for where in groups:
                image_idx[:, where] = where[rng.integers(0, where.size, (rows, where.size))]
        yield from zip(run_idx, image_idx, strict=True)


def _interval(estimate: float, resampled: np.ndarray, per_run: np.ndarray, n: int):
    """The documented rule, written out with scipy."""
    r = per_run.size
    v_runs = np.sum((per_run - per_run.mean()) ** 2) / r**2
    variance = np.var(resampled, ddof=1) + v_runs / (r - 1)
    share = min(1.0, v_runs * r / (r - 1) / variance) if variance > 0 else 0.0
    df = 1 / (share**2 / (r - 1) + (1 - share) ** 2 / (n - 1))
    se = math.sqrt(variance)
    half = scipy_stats.t.ppf(0.975, df) * se
    p = 1.0 if se == 0 else 2 * scipy_stats.t.sf(abs(estimate) / se, df)
    return estimate - half, estimate + half, se, df, p


def test_two_way_accuracy_interval_recomputed(saved: dict[str, np.ndarray]) -> None:
    labels, rgb, raw = (
        saved["labels"],
        saved["rgb"] == saved["labels"],
        saved["raw"] == saved["labels"],
    )
    runs, n = rgb.shape
    d = raw.astype(float) - rgb
    resampled = np.array([d[ri][:, ii].mean() for ri, ii in _draws(runs, n)])
    low, high, se, df, p = _interval(d.mean(), resampled, d.mean(axis=1), n)
    got = stats.two_way_difference(rgb, raw, n_resamples=RESAMPLES, seed=SEED)
    assert got.estimate == pytest.approx(d.mean(), abs=1e-15)
    assert (got.low, got.high) == pytest.approx((low, high), abs=1e-12)
    assert (got.se, got.df, got.p_value) == pytest.approx((se, df, p), rel=1e-9)
    assert got.bootstrap_se == pytest.approx(np.std(resampled, ddof=1), rel=1e-9)
    assert got.percentile == pytest.approx(tuple(np.percentile(resampled, [2.5, 97.5])), abs=1e-12)
    assert got.low < got.estimate < got.high and (got.low > 0) == (got.p_value < 0.05)
    assert labels.size == n


def test_two_way_macro_f1_resamples_within_classes(saved: dict[str, np.ndarray]) -> None:
    labels, rgb, raw = saved["labels"], saved["rgb"], saved["raw"]
    runs, n = rgb.shape
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]

    def f1(y: np.ndarray, p: np.ndarray) -> float:
        """Macro F1 from the confusion matrix: 2·TP / (support + predicted), 0 if 0."""
        confusion = np.bincount(3 * y + p, minlength=9).reshape(3, 3)
        tp, denominator = np.diag(confusion), confusion.sum(0) + confusion.sum(1)
        return float(np.mean(np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0)))

    for r in range(runs):  # the hand F1 is scikit-learn's
        assert f1(labels, raw[r]) == pytest.approx(
            sklearn_metrics.f1_score(labels, raw[r], labels=range(3), average="macro"), abs=1e-12
        )
    per_run = np.array([f1(labels, raw[r]) - f1(labels, rgb[r]) for r in range(runs)])
    resampled = []
    for ri, ii in _draws(runs, n, groups):
        assert np.array_equal(np.bincount(labels[ii], minlength=3), np.bincount(labels))
        resampled.append(
            np.mean([f1(labels[ii], raw[r, ii]) - f1(labels[ii], rgb[r, ii]) for r in ri])
        )
    low, high, se, _, p = _interval(per_run.mean(), np.array(resampled), per_run, n)
    got = stats.two_way_macro_f1(labels, rgb, raw, n_resamples=RESAMPLES, seed=SEED)
    assert got.stratified and got.estimate == pytest.approx(per_run.mean(), abs=1e-12)
    assert (got.low, got.high, got.se, got.p_value) == pytest.approx((low, high, se, p), rel=1e-9)


def test_sign_flip_test_recomputed(saved: dict[str, np.ndarray]) -> None:
    rgb, raw = saved["rgb"] == saved["labels"], saved["raw"] == saved["labels"]
    per_image = raw.sum(axis=0).astype(int) - rgb.sum(axis=0)
    rng = np.random.default_rng(SEED)
    flipped: list[int] = []
    for start in range(0, RESAMPLES, stats.RESAMPLE_BLOCK):
        rows = min(stats.RESAMPLE_BLOCK, RESAMPLES - start)
        signs = 2 * rng.integers(0, 2, size=(rows, per_image.size)) - 1
        flipped.extend(int(s @ per_image) for s in signs)
    statistic = int(per_image.sum())
    expected = (1 + sum(abs(f) >= abs(statistic) for f in flipped)) / (1 + RESAMPLES)
    got = stats.sign_flip_test(rgb, raw, n_resamples=RESAMPLES, seed=SEED)
    assert got.statistic == statistic and got.p_value == pytest.approx(expected, abs=1e-15)
    assert got.n_images == np.count_nonzero(per_image)
    # Pooled McNemar over runs would count each image once per run; the image-level p is
    # larger here, as the images that differ recur in every run.
    b, c = int(np.sum(rgb & ~raw)), int(np.sum(~rgb & raw))
    assert got.p_value > scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue


def test_holm_against_statsmodels() -> None:
    rng = np.random.default_rng(3)
    for m in (1, 2, 5, 17):
        p = rng.random(m) ** 3
        p[: m // 3] = p[0]  # ties
        expected = multitest.multipletests(p, alpha=0.05, method="holm")[1]
        np.testing.assert_allclose(stats.holm(p), expected, rtol=0, atol=1e-15)
    assert stats.holm([]).size == 0
    assert stats.holm([0.018, 0.2, 0.3, 0.01, 0.04]).round(3).tolist() == [
        0.072,
        0.4,
        0.4,
        0.05,
        0.12,
    ]
    with pytest.raises(ValueError, match="p_values must be a 1-D sequence in"):
        stats.holm([0.5, 1.5])


def test_family_of_comparisons_holm_adjusted_as_statsmodels(saved: dict[str, np.ndarray]) -> None:
    labels = saved["labels"]
    spaces = {name: np.eye(3)[saved[name]] for name in ("rgb", "raw")}
    spaces["raw_aug"] = np.eye(3)[np.roll(saved["raw"], 1, axis=0)]
    spaces["raw_cam"] = np.eye(3)[saved["rgb"][::-1]]
    found = [
        stats.compare_paired(labels, spaces["rgb"], spaces[o], names=("rgb", o), n_resamples=300)
        for o in ("raw", "raw_aug", "raw_cam")
    ]
    adjusted = stats.adjust_family(found, is_primary=lambda c: c.other == "raw")
    expected = multitest.multipletests([c.p_value for c in found[1:]], method="holm")[1]
    assert adjusted[0].p_holm is None and adjusted[0].p_value == found[0].p_value
    np.testing.assert_allclose([float(c.p_holm or 0) for c in adjusted[1:]], expected, atol=1e-15)
    assert all(c.p_holm is not None for c in adjusted[1:])
    assert [c.family_size for c in adjusted] == [2, 2, 2]
    assert [c.p_value for c in adjusted] == [c.p_value for c in found]  # both p kept


def test_identical_spaces_recomputed(saved: dict[str, np.ndarray]) -> None:
    correct = saved["rgb"] == saved["labels"]
    interval = stats.two_way_difference(correct, correct.copy(), n_resamples=RESAMPLES, seed=SEED)
    assert interval.estimate == 0 and interval.p_value == 1.0
    assert interval.low <= 0 <= interval.high and (interval.low, interval.high) == (0.0, 0.0)
    assert stats.sign_flip_test(correct, correct, n_resamples=RESAMPLES).p_value == 1.0
    f1 = stats.two_way_macro_f1(saved["labels"], saved["rgb"], saved["rgb"], n_resamples=100)
    assert (f1.estimate, f1.low, f1.high, f1.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert stats.holm([1.0, 1.0]).tolist() == [1.0, 1.0]
