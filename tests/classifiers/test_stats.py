"""classifiers.stats: McNemar, the images-only bootstrap and compare_paired against hand
formulas, scipy and scikit-learn called directly, and slow reference loops."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np
import pytest

scipy_stats = pytest.importorskip("scipy.stats")
pytest.importorskip("torch")  # classifiers/__init__ imports torch
sklearn_metrics = pytest.importorskip("sklearn.metrics")

from classifiers import stats  # noqa: E402

# ------------------------------------------------------------------------------ helpers


def _probabilities(predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """(..., n) predicted classes → (..., n, K) rows summing to 1 with that argmax."""
    p = np.full((*predictions.shape, num_classes), 0.1 / (num_classes - 1))
    np.put_along_axis(p, predictions[..., None], 0.9, axis=-1)
    return p


def _wrong_at(labels: np.ndarray, wrong: np.ndarray, num_classes: int) -> np.ndarray:
    """Predictions equal to ``labels`` except at the boolean mask ``wrong`` (label + 1)."""
    return np.where(wrong, (labels + 1) % num_classes, labels)


def _random_runs(
    seed: int, *, runs: int, n: int, num_classes: int, error: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """labels (n,), baseline and other predictions (runs, n) with given error rates; the
    rarest class (the last) has only two images, so resamples often miss it."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes - 1, size=n)
    labels[:2] = num_classes - 1
    base = np.where(
        rng.random((runs, n)) < error[0], rng.integers(0, num_classes, (runs, n)), labels
    )
    other = np.where(
        rng.random((runs, n)) < error[1], rng.integers(0, num_classes, (runs, n)), labels
    )
    return labels, base, other


def _macro_f1_by_hand(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> float:
    """Mean over classes of 2·TP / (2·TP + FP + FN), 0 where that denominator is 0."""
    values = []
    for k in range(num_classes):
        tp = np.sum((labels == k) & (predictions == k))
        fp = np.sum((labels != k) & (predictions == k))
        fn = np.sum((labels == k) & (predictions != k))
        values.append(0.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(values))


def _slow_bootstrap(
    labels: np.ndarray, base: np.ndarray, other: np.ndarray, indices: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """One resample at a time, one run at a time: mean over runs of other − baseline."""
    accuracy, f1 = [], []
    for idx in indices:
        y = labels[idx]
        accuracy.append(
            np.mean(
                [
                    np.mean(o[idx] == y) - np.mean(b[idx] == y)
                    for b, o in zip(base, other, strict=True)
                ]
            )
        )
        f1.append(
            np.mean(
                [
                    _macro_f1_by_hand(y, o[idx], k) - _macro_f1_by_hand(y, b[idx], k)
                    for b, o in zip(base, other, strict=True)
                ]
            )
        )
    return np.array(accuracy), np.array(f1)


def _interval(values: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


# ------------------------------------------------------------------------------ McNemar


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (1, 6, 2 * (1 + 7) / 128),  # 2·P[X ≤ 1], X ~ Bin(7, ½)
        (6, 1, 2 * (1 + 7) / 128),
        (0, 0, 1.0),
        (3, 3, 1.0),  # 2·P[X ≤ 3] > 1 for Bin(6, ½) → capped
        (0, 5, 2 / 32),
        (2, 10, 2 * (1 + 12 + 66) / 4096),
    ],
)
def test_mcnemar_matches_hand_formula_and_binomtest(b: int, c: int, expected: float) -> None:
    both_right, both_wrong = 7, 4
    correct_a = np.array([True] * b + [False] * c + [True] * both_right + [False] * both_wrong)
    correct_b = np.array([False] * b + [True] * c + [True] * both_right + [False] * both_wrong)
    got = stats.mcnemar_exact(correct_a, correct_b)
    assert got[:2] == (b, c)
    assert got[2] == pytest.approx(expected, rel=1e-12)
    if b + c:
        assert got[2] == pytest.approx(scipy_stats.binomtest(min(b, c), b + c, 0.5).pvalue)


def test_mcnemar_random_against_binomtest_and_accepts_01_integers() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.random(300) < 0.8, rng.random(300) < 0.7
    n_b, n_c = int(np.sum(a & ~b)), int(np.sum(~a & b))
    expected = scipy_stats.binomtest(min(n_b, n_c), n_b + n_c, 0.5).pvalue
    assert stats.mcnemar_exact(a, b) == (n_b, n_c, pytest.approx(expected))
    assert stats.mcnemar_exact(a.astype(np.int64), b.astype(np.uint8)) == stats.mcnemar_exact(a, b)


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        (np.ones(3, bool), np.ones(4, bool), "same shape"),
        (np.ones((2, 3), bool), np.ones((2, 3), bool), "correct_a must be a non-empty 1-D"),
        (np.ones(3, bool), np.array([0, 1, 2]), "correct_b must be bool or 0/1"),
        (np.ones(3, bool), np.array([0.0, 1.0, 1.0]), "correct_b must be bool or 0/1"),
    ],
)
def test_mcnemar_rejects_bad_input(a: np.ndarray, b: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        stats.mcnemar_exact(a, b)


# ---------------------------------------------------------------------------- bootstrap


def test_bootstrap_indices_are_the_documented_rng_calls() -> None:
    n, n_resamples, seed = 13, 2 * stats.RESAMPLE_BLOCK + 7, 42
    rng = np.random.default_rng(seed)
    blocks, left = [], n_resamples
    while left:
        rows = min(stats.RESAMPLE_BLOCK, left)
        blocks.append(rng.integers(0, n, size=(rows, n)))
        left -= rows
    got = stats.bootstrap_indices(n, n_resamples=n_resamples, seed=seed)
    assert got.shape == (n_resamples, n) and got.dtype == np.int64
    np.testing.assert_array_equal(got, np.concatenate(blocks))
    assert not np.array_equal(got, stats.bootstrap_indices(n, n_resamples=n_resamples, seed=1))


def test_paired_bootstrap_equals_slow_loop_per_resample() -> None:
    k = 4
    labels, base, other = _random_runs(0, runs=3, n=40, num_classes=k, error=(0.3, 0.2))
    n_resamples = stats.RESAMPLE_BLOCK + 50  # crosses a block boundary
    result = stats.paired_bootstrap(
        labels, base, other, num_classes=k, n_resamples=n_resamples, seed=7
    )
    indices = stats.bootstrap_indices(labels.size, n_resamples=n_resamples, seed=7)
    accuracy, f1 = _slow_bootstrap(labels, base, other, indices, k)
    np.testing.assert_allclose(result.delta_accuracy, accuracy, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.delta_macro_f1, f1, rtol=0, atol=1e-12)
    assert result.accuracy_ci == pytest.approx(_interval(accuracy), abs=1e-12)
    assert result.macro_f1_ci == pytest.approx(_interval(f1), abs=1e-12)
    assert (result.n_resamples, result.seed, result.confidence) == (n_resamples, 7, 0.95)
    # The hand macro F1 of the loop is scikit-learn's, also when a class is missing.
    missing = next(i for i in indices if k - 1 not in labels[i] and k - 1 not in base[0, i])
    assert _macro_f1_by_hand(labels[missing], base[0, missing], k) == pytest.approx(
        sklearn_metrics.f1_score(
            labels[missing], base[0, missing], labels=range(k), average="macro", zero_division=0
        )
    )


def test_paired_bootstrap_with_given_indices_and_confidence() -> None:
    labels, base, other = _random_runs(1, runs=2, n=30, num_classes=3, error=(0.4, 0.3))
    indices = np.random.default_rng(99).integers(0, 30, size=(200, 30))
    result = stats.paired_bootstrap(labels, base, other, indices=indices, confidence=0.8)
    accuracy, f1 = _slow_bootstrap(labels, base, other, indices, 3)
    np.testing.assert_allclose(result.delta_accuracy, accuracy, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.delta_macro_f1, f1, rtol=0, atol=1e-12)
    expected = tuple(float(q) for q in np.percentile(accuracy, [10, 90]))
    assert result.accuracy_ci == pytest.approx(expected, abs=1e-12)
    assert result.seed is None and result.n_resamples == 200


def test_paired_bootstrap_single_run_1d_predictions() -> None:
    labels, base, other = _random_runs(2, runs=1, n=25, num_classes=3, error=(0.3, 0.3))
    one = stats.paired_bootstrap(labels, base[0], other[0], n_resamples=100, seed=3)
    two = stats.paired_bootstrap(labels, base, other, n_resamples=100, seed=3)
    np.testing.assert_array_equal(one.delta_accuracy, two.delta_accuracy)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"labels": np.zeros((2, 5), int)}, "labels must be a non-empty 1-D integer"),
        ({"labels": np.zeros(5)}, "labels must be a non-empty 1-D integer"),
        ({"other_predictions": np.zeros((3, 5), int)}, "other_predictions must have the shape"),
        ({"baseline_predictions": np.zeros((2, 4), int)}, r"baseline_predictions must be \("),
        ({"baseline_predictions": np.zeros((2, 5))}, "baseline_predictions must be non-neg"),
        ({"num_classes": 1}, r"must lie in 0\.\.0"),
        ({"n_resamples": 0}, "n_resamples must be an integer ≥ 1"),
        ({"seed": -1}, "seed must be an integer ≥ 0"),
        ({"confidence": 1.0}, "confidence must lie strictly between 0 and 1"),
        ({"indices": np.zeros((3, 4), int)}, r"indices must have shape \(n_resamples, 5\)"),
        ({"indices": np.full((3, 5), 5)}, r"indices must be integers in 0\.\.4"),
    ],
)
def test_paired_bootstrap_rejects_bad_input(change: dict[str, Any], match: str) -> None:
    arguments: dict[str, Any] = {
        "labels": np.array([0, 1, 0, 1, 1]),
        "baseline_predictions": np.zeros((2, 5), int),
        "other_predictions": np.ones((2, 5), int),
    }
    arguments |= change
    options = {
        k: arguments.pop(k) for k in list(arguments) if k not in ("labels",) and "pred" not in k
    }
    with pytest.raises(ValueError, match=match):
        stats.paired_bootstrap(
            arguments["labels"],
            arguments["baseline_predictions"],
            arguments["other_predictions"],
            **options,
        )


# ------------------------------------------------------------------------ compare_paired


def test_compare_paired_numbers_match_independent_computations() -> None:
    k, runs, n, n_resamples = 3, 5, 150, 600
    labels, base, other = _random_runs(12, runs=runs, n=n, num_classes=k, error=(0.3, 0.25))
    result = stats.compare_paired(
        labels,
        list(_probabilities(base, k)),  # a sequence of (n, K), one per run
        _probabilities(other, k),  # stacked (runs, n, K)
        names=("rgb", "raw_packed"),
        run_names=[f"fold{r}" for r in range(runs)],
        n_train=600,
        n_resamples=n_resamples,
        seed=5,
    )
    assert (result.baseline, result.other, result.n_test, result.num_classes) == (
        "rgb",
        "raw_packed",
        n,
        k,
    )
    assert result.runs == tuple(f"fold{r}" for r in range(runs)) and result.n_runs == runs
    acc_base = np.array([np.mean(b == labels) for b in base])
    acc_other = np.array([np.mean(o == labels) for o in other])
    f1 = [
        [
            sklearn_metrics.f1_score(labels, p, labels=range(k), average="macro", zero_division=0)
            for p in space
        ]
        for space in (base, other)
    ]
    delta_f1 = np.array(f1[1]) - np.array(f1[0])
    np.testing.assert_allclose(result.baseline_accuracy, acc_base, atol=1e-15)
    np.testing.assert_allclose(result.other_accuracy, acc_other, atol=1e-15)
    np.testing.assert_allclose(result.delta_accuracy, acc_other - acc_base, atol=1e-15)
    np.testing.assert_allclose(result.delta_macro_f1, delta_f1, atol=1e-12)
    assert result.mean_delta_accuracy == pytest.approx(np.mean(acc_other - acc_base), abs=1e-15)
    assert result.mean_delta_macro_f1 == pytest.approx(np.mean(delta_f1), abs=1e-12)

    b = [int(np.sum((base[r] == labels) & (other[r] != labels))) for r in range(runs)]
    c = [int(np.sum((base[r] != labels) & (other[r] == labels))) for r in range(runs)]
    assert result.mcnemar_b == tuple(b) and result.mcnemar_c == tuple(c)
    for r in range(runs):
        expected = scipy_stats.binomtest(min(b[r], c[r]), b[r] + c[r], 0.5).pvalue
        assert result.mcnemar_p[r] == pytest.approx(expected, rel=1e-12)
    assert (result.pooled_b, result.pooled_c) == (sum(b), sum(c))

    d = acc_other - acc_base  # Nadeau–Bengio by hand: var × (1/J + n_test/n_train)
    t = d.mean() / math.sqrt((1 / runs + n / 600) * d.var(ddof=1))
    assert result.ttest_t == pytest.approx(t, rel=1e-12)
    assert result.ttest_p == pytest.approx(2 * scipy_stats.t.sf(abs(t), runs - 1), rel=1e-12)
    assert result.wilcoxon_p == pytest.approx(scipy_stats.wilcoxon(acc_other, acc_base).pvalue)

    correct_base, correct_other = base == labels, other == labels
    options = {"n_resamples": n_resamples, "seed": 5}
    assert result.accuracy == stats.two_way_difference(correct_base, correct_other, **options)
    assert result.macro_f1 == stats.two_way_macro_f1(labels, base, other, num_classes=k, **options)
    assert result.image_test == stats.sign_flip_test(correct_base, correct_other, **options)
    assert result.baseline_row == stats.row_accuracy(labels, base, **options)
    assert result.other_row == stats.row_accuracy(labels, other, **options)
    assert result.accuracy_ci == (result.accuracy.low, result.accuracy.high)
    assert result.p_value == result.accuracy.p_value
    assert result.mdd() == pytest.approx(2.801585218 * result.accuracy.se, rel=1e-8)
    assert (result.n_resamples, result.seed, result.alpha) == (n_resamples, 5, 0.05)


def test_identical_spaces_show_zero_difference_and_p_one() -> None:
    labels, base, _ = _random_runs(4, runs=5, n=80, num_classes=3, error=(0.3, 0.3))
    p = _probabilities(base, 3)
    result = stats.compare_paired(
        labels, p, p.copy(), names=("rgb", "rgb2"), n_train=320, n_resamples=500
    )
    assert result.delta_accuracy == (0.0,) * 5 and result.delta_macro_f1 == (0.0,) * 5
    assert result.accuracy_ci == (0.0, 0.0) and result.macro_f1_ci == (0.0, 0.0)
    assert result.p_value == 1.0 and result.macro_f1.p_value == 1.0
    assert result.image_test.p_value == 1.0 and result.image_test.statistic == 0
    assert result.mcnemar_b == result.mcnemar_c == (0,) * 5
    assert result.mcnemar_p == (1.0,) * 5
    assert result.ttest_p == 1.0 and result.wilcoxon_p == 1.0  # documented, not NaN
    assert result.verdict() == "none" and result.verdict("macro_f1") == "none"
    sentence = result.sentence()
    assert sentence.startswith(
        "rgb2 − rgb: 0.00 points (mean over 5 runs), 95 % CI [0.00, 0.00] over runs and test "
        "images, p = 1: no evidence of a difference at α = 0.05"
    )
    assert sentence.endswith(
        "with the trained models held fixed, image-level sign-flip p = 1 and McNemar p 1 per "
        "run; over runs, corrected t-test p = 1, Wilcoxon p = 1 (descriptive)."
    )


def test_ties_in_run_differences_are_ranked_as_ties() -> None:
    """Equal count differences give bit-identical Δs, so Wilcoxon sees the ties."""
    n, k = 300, 3
    labels = np.arange(n) % k
    wrong_base = [np.arange(n) < w for w in (30, 31, 32, 33, 34)]
    wrong_other = [np.arange(n) < w for w in (27, 28, 29, 25, 24)]  # c − b = 3, 3, 3, 8, 10
    base = np.stack([_wrong_at(labels, w, k) for w in wrong_base])
    other = np.stack([_wrong_at(labels, w, k) for w in wrong_other])
    result = stats.compare_paired(
        labels, _probabilities(base, k), _probabilities(other, k), names=("a", "b"), n_resamples=200
    )
    expected = scipy_stats.wilcoxon(np.array([3, 3, 3, 8, 10]) / n).pvalue
    assert result.wilcoxon_p == pytest.approx(expected)


def _clear_difference() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, k, runs = 500, 4, 5
    labels = np.arange(n) % k
    base_wrong = np.arange(n) < 100  # 400 right
    other_wrong = np.arange(n) < 40  # the same 400 right and 60 more
    base = np.stack([_wrong_at(labels, np.roll(base_wrong, 7 * r), k) for r in range(runs)])
    other = np.stack([_wrong_at(labels, np.roll(other_wrong, 7 * r), k) for r in range(runs)])
    return labels, _probabilities(base, k), _probabilities(other, k)


def test_clear_difference_is_reported_as_evidence() -> None:
    labels, base, other = _clear_difference()
    result = stats.compare_paired(labels, base, other, names=("rgb", "raw_packed"))
    assert result.delta_accuracy == pytest.approx((0.12,) * 5)
    assert result.mcnemar_b == (0,) * 5 and result.mcnemar_c == (60,) * 5
    assert result.mcnemar_p[0] == pytest.approx(2 * 0.5**60, rel=1e-9)
    low, high = result.accuracy_ci
    assert 0 < low < 0.12 < high
    assert result.macro_f1_ci[0] > 0
    assert result.image_test.p_value == 1 / 10_001  # no sign flip reaches 300 images
    assert result.ttest_p is None  # no training-set size given
    assert result.verdict() == "higher" and result.verdict("macro_f1") == "higher"
    sentence = result.sentence()
    assert sentence.startswith("raw_packed − rgb: +12.00 points (mean over 5 runs), 95 % CI [+")
    assert "evidence that raw_packed is more accurate than rgb at α = 0.05" in sentence
    assert "McNemar p 1.7e-18 per run; over runs, Wilcoxon p = 0.0625 (descriptive)." in sentence
    assert "evidence that raw_packed has a higher macro F1 than rgb" in result.sentence("macro_f1")

    swapped = stats.compare_paired(
        labels, other, base, names=("raw_packed", "rgb"), n_resamples=1000
    )
    assert swapped.verdict() == "lower" and swapped.mcnemar_b == (60,) * 5
    assert swapped.sentence().startswith("rgb − raw_packed: −12.00 points (mean over 5 runs)")
    assert "evidence that rgb is less accurate than raw_packed" in swapped.sentence()


@pytest.mark.parametrize("runs", [1, 2])
def test_fewer_than_three_runs_describe_these_models_only(runs: int) -> None:
    labels, base, other = _clear_difference()
    base, other = base[:runs], other[:runs]
    if runs == 1:
        base = base[0]  # a single (n, K) array is one run
    result = stats.compare_paired(
        labels, base, other, names=("rgb", "raw"), n_train=2000, n_resamples=300
    )
    assert result.n_runs == runs and result.accuracy_ci[0] > 0
    assert result.verdict() == "too_few_runs" and result.verdict("macro_f1") == "too_few_runs"
    assert result.ttest_p is None and result.wilcoxon_p is None
    suffix = "1 run" if runs == 1 else "2 runs"
    assert f"with {suffix} this describes these trained models only, not the spaces" in (
        result.sentence()
    )
    assert "evidence" not in result.sentence()
    assert result.baseline_row.method == ("Wilson" if runs == 1 else "two-way bootstrap")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["ttest_p"] is None and data["verdict_accuracy"] == "too_few_runs"


def test_a_near_chance_row_makes_the_comparison_tell_nothing() -> None:
    """8 classes, one of them half the test set; both models near that majority rate."""
    rng = np.random.default_rng(2)
    n, k, runs = 200, 8, 5
    labels = np.where(rng.random(n) < 0.5, 0, rng.integers(1, k, n))
    base = np.where(rng.random((runs, n)) < 0.45, labels, rng.integers(0, k, (runs, n)))
    other = np.where(rng.random((runs, n)) < 0.9, labels, rng.integers(0, k, (runs, n)))
    result = stats.compare_paired(
        labels, _probabilities(base, k), _probabilities(other, k), names=("rgb", "raw"),
        n_resamples=500,
    )  # fmt: skip
    rate = np.bincount(labels).max() / n
    assert result.baseline_row.majority_rate == pytest.approx(rate)
    assert result.baseline_row.low <= rate < result.other_row.low
    assert result.near_chance == ("rgb",) and result.accuracy_ci[0] > 0
    assert result.verdict() == "near_chance"
    assert "rgb is near chance (accuracy CI reaches the majority-class rate" in result.sentence()
    assert "tells nothing about the spaces" in result.sentence()
    assert "evidence that" not in result.sentence()


def test_holm_family_and_margin_in_verdict_and_sentence() -> None:
    labels, base, other = _clear_difference()
    clear = stats.compare_paired(labels, base, other, names=("rgb", "raw"), n_resamples=300)
    same = stats.compare_paired(labels, base, base, names=("rgb", "raw_aug"), n_resamples=300)
    primary, secondary = stats.adjust_family([clear, same], is_primary=lambda c: c.other == "raw")
    assert primary.primary and primary.p_holm is None and primary.family_size == 1
    assert not secondary.primary and secondary.p_holm == 1.0
    assert "(primary comparison)" in primary.sentence()
    assert "Holm-adjusted p = 1 over 1 secondary comparison:" in secondary.sentence()
    # A Holm-adjusted verdict reads the adjusted p, not the interval.
    adjusted = dataclasses.replace(primary, primary=False, p_holm=0.09)
    assert primary.verdict() == "higher" and adjusted.verdict() == "none"

    with_margin = stats.compare_paired(
        labels, base, base, names=("rgb", "raw_aug"), n_resamples=300, margin=1.0
    )
    assert with_margin.non_inferior() is True
    assert "non-inferior within 1 point (CI lower end 0.00 > −1)" in with_margin.sentence()
    worse = stats.compare_paired(labels, other, base, names=("raw", "rgb"), margin=1.0)
    assert worse.non_inferior() is False
    assert "non-inferiority within 1 point not shown" in worse.sentence()
    assert clear.non_inferior() is None  # no margin asked


def test_to_dict_is_json_and_round_trips() -> None:
    labels, base, other = _random_runs(8, runs=5, n=50, num_classes=3, error=(0.3, 0.2))
    result = stats.compare_paired(
        labels,
        _probabilities(base, 3),
        _probabilities(other, 3),
        names=("rgb", "raw"),
        n_train=200,
        n_resamples=100,
        margin=2.0,
    )
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["sentence_accuracy"] == result.sentence()
    assert data["sentence_macro_f1"] == result.sentence("macro_f1")
    assert data["verdict_accuracy"] == result.verdict()
    assert data["mdd_accuracy"] == result.mdd()
    assert data["accuracy_ci"] == list(result.accuracy_ci)
    assert data["image_p"] == result.image_test.p_value
    assert data["convention"].startswith("raw − rgb")
    assert stats.PairedComparison.from_dict(data) == result
    assert all(math.isfinite(v) for v in data["delta_accuracy"] + data["accuracy_ci"])


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"other": np.zeros((5, 10, 3))}, "other_probabilities must have the shape"),
        ({"base": [np.zeros((10, 3)), np.zeros((9, 3))]}, "baseline_probabilities: every run"),
        ({"base": []}, "baseline_probabilities must hold at least one run"),
        ({"base": np.zeros((4, 10))[None, None]}, r"baseline_probabilities must be \(runs"),
        ({"base": np.full((4, 10, 3), np.nan)}, "baseline_probabilities must be finite"),
        ({"labels": np.zeros(9, int)}, "labels must have 10 entries"),
        ({"labels": np.full(10, 3)}, r"labels must lie in 0\.\.2"),
        ({"labels": np.zeros(10)}, "labels must be a non-empty 1-D integer"),
        ({"labels": np.zeros((3, 10), int)}, r"labels must be \(n,\)"),
        ({"labels": np.eye(4, 10, dtype=int)}, "labels: run 1 has other labels than run 0"),
        ({"names": ("rgb",)}, "names must be"),
        ({"names": ("rgb", "")}, "names must be"),
        ({"run_names": ["a"]}, "run_names must be 4 strings"),
        ({"alpha": 0}, "alpha must lie strictly between 0 and 1"),
        ({"n_resamples": 1.5}, "n_resamples must be an integer"),
        ({"seed": True}, "seed must be an integer"),
        ({"n_train": 0}, "n_train must be an integer ≥ 1"),
        ({"margin": -1.0}, "margin_points must be > 0"),
    ],
)
def test_compare_paired_rejects_bad_input(change: dict[str, Any], match: str) -> None:
    arguments: dict[str, Any] = {
        "labels": np.zeros(10, int),
        "base": np.full((4, 10, 3), 1 / 3),
        "other": np.full((4, 10, 3), 1 / 3),
        "names": ("rgb", "raw"),
    }
    arguments |= change
    labels, base, other = (arguments.pop(k) for k in ("labels", "base", "other"))
    with pytest.raises(ValueError, match=match):
        stats.compare_paired(labels, base, other, **arguments)
