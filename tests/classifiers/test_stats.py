"""classifiers.stats against hand formulas, scipy called directly and slow reference loops."""

from __future__ import annotations

import dataclasses
import json
import math

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
        (np.ones((2, 3), bool), np.ones((2, 3), bool), "correct_a must be a 1-D"),
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
def test_paired_bootstrap_rejects_bad_input(change: dict, match: str) -> None:
    arguments = {
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
    k, runs, n_resamples = 3, 5, 600
    labels, base, other = _random_runs(12, runs=runs, n=150, num_classes=k, error=(0.3, 0.25))
    result = stats.compare_paired(
        labels,
        list(_probabilities(base, k)),  # a sequence of (n, K), one per run
        _probabilities(other, k),  # stacked (runs, n, K)
        names=("rgb", "raw_packed"),
        run_names=[f"fold{r}" for r in range(runs)],
        n_resamples=n_resamples,
        seed=5,
    )
    assert (result.baseline, result.other, result.n_test, result.num_classes) == (
        "rgb",
        "raw_packed",
        150,
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
    pooled = scipy_stats.binomtest(min(sum(b), sum(c)), sum(b) + sum(c), 0.5).pvalue
    assert result.pooled_p == pytest.approx(pooled, rel=1e-12)

    differences = np.round((acc_other - acc_base) * 150).astype(int)
    assert len(set(differences)) == runs and 0 not in differences  # no ties: scipy alike
    assert result.ttest_p == pytest.approx(scipy_stats.ttest_rel(acc_other, acc_base).pvalue)
    assert result.wilcoxon_p == pytest.approx(scipy_stats.wilcoxon(acc_other, acc_base).pvalue)

    indices = stats.bootstrap_indices(150, n_resamples=n_resamples, seed=5)
    accuracy, macro_f1 = _slow_bootstrap(labels, base, other, indices, k)
    assert result.accuracy_ci == pytest.approx(_interval(accuracy), abs=1e-12)
    assert result.macro_f1_ci == pytest.approx(_interval(macro_f1), abs=1e-12)
    assert (result.n_resamples, result.seed, result.alpha) == (n_resamples, 5, 0.05)


def test_identical_spaces_show_zero_difference_and_p_one() -> None:
    labels, base, _ = _random_runs(4, runs=5, n=80, num_classes=3, error=(0.3, 0.3))
    p = _probabilities(base, 3)
    result = stats.compare_paired(labels, p, p.copy(), names=("rgb", "rgb2"), n_resamples=500)
    assert result.delta_accuracy == (0.0,) * 5 and result.delta_macro_f1 == (0.0,) * 5
    assert result.accuracy_ci == (0.0, 0.0) and result.macro_f1_ci == (0.0, 0.0)
    assert result.mcnemar_b == result.mcnemar_c == (0,) * 5
    assert result.mcnemar_p == (1.0,) * 5 and result.pooled_p == 1.0
    assert result.ttest_p == 1.0 and result.wilcoxon_p == 1.0  # documented, not NaN
    assert result.verdict() == "none" and result.verdict("macro_f1") == "none"
    sentence = result.sentence()
    assert sentence.startswith("rgb2 − rgb: 0.00 points, 95 % CI [0.00, 0.00], McNemar p = 1 ")
    assert "no evidence of a difference at α = 0.05" in sentence
    assert "t-test p = 1, Wilcoxon p = 1" in sentence


def test_ties_in_run_differences_are_ranked_as_ties() -> None:
    """Equal count differences give bit-identical Δs, so Wilcoxon sees the ties."""
    n, k = 300, 3
    labels = np.arange(n) % k
    wrong_base = [np.arange(n) < w for w in (30, 31, 32, 33, 34)]
    wrong_other = [np.arange(n) < w for w in (27, 28, 29, 25, 24)]  # c − b = 3, 3, 3, 8, 10
    base = np.stack([_wrong_at(labels, w, k) for w in wrong_base])
    other = np.stack([_wrong_at(labels, w, k) for w in wrong_other])
    result = stats.compare_paired(
        labels,
        _probabilities(base, k),
        _probabilities(other, k),
        names=("a", "b"),
        n_resamples=200,
    )
    expected = scipy_stats.wilcoxon(np.array([3, 3, 3, 8, 10]) / n).pvalue
    assert result.wilcoxon_p == pytest.approx(expected)


def test_clear_difference_is_reported_as_evidence() -> None:
    n, k, runs = 500, 4, 5
    labels = np.arange(n) % k
    base_wrong = np.arange(n) < 100  # 400 right
    other_wrong = np.arange(n) < 40  # the same 400 right and 60 more
    base = np.stack([_wrong_at(labels, np.roll(base_wrong, 7 * r), k) for r in range(runs)])
    other = np.stack([_wrong_at(labels, np.roll(other_wrong, 7 * r), k) for r in range(runs)])
    result = stats.compare_paired(
        labels, _probabilities(base, k), _probabilities(other, k), names=("rgb", "raw_packed")
    )
    assert result.delta_accuracy == pytest.approx((0.12,) * runs)
    assert result.mcnemar_b == (0,) * runs and result.mcnemar_c == (60,) * runs
    assert result.mcnemar_p[0] == pytest.approx(2 * 0.5**60, rel=1e-9)
    assert (result.pooled_b, result.pooled_c) == (0, 300)
    assert result.pooled_p == pytest.approx(2 * 0.5**300, rel=1e-9)
    low, high = result.accuracy_ci
    assert 0 < low < 0.12 < high
    assert result.macro_f1_ci[0] > 0
    # Every run +60: Wilcoxon's exact minimum 2/2⁵; the t statistic is infinite.
    assert result.wilcoxon_p == pytest.approx(scipy_stats.wilcoxon([0.12] * 5).pvalue)
    assert result.wilcoxon_p == pytest.approx(0.0625)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        assert (
            result.ttest_p
            == scipy_stats.ttest_rel(result.other_accuracy, result.baseline_accuracy).pvalue
        )
    assert result.verdict() == "higher" and result.verdict("macro_f1") == "higher"
    sentence = result.sentence()
    assert sentence.startswith("raw_packed − rgb: +12.00 points, 95 % CI [+")
    assert "McNemar p = 9.8e-91 (pooled over 5 runs)" in sentence  # 2·2⁻³⁰⁰
    assert "evidence that raw_packed is more accurate than rgb at α = 0.05" in sentence
    assert "paired t-test p = 0 (every run has the same difference), Wilcoxon p = 0.0625" in (
        sentence
    )
    assert "evidence that raw_packed has a higher macro F1 than rgb" in result.sentence("macro_f1")

    swapped = stats.compare_paired(
        labels,
        _probabilities(other, k),
        _probabilities(base, k),
        names=("raw_packed", "rgb"),
        n_resamples=1000,
    )
    assert swapped.verdict() == "lower" and swapped.mcnemar_b == (60,) * runs
    assert swapped.sentence().startswith("rgb − raw_packed: −12.00 points, 95 % CI [−")
    assert "evidence that rgb is less accurate than raw_packed" in swapped.sentence()


@pytest.mark.parametrize("runs", [1, 4])
def test_fewer_than_five_runs_have_no_over_run_tests(runs: int) -> None:
    labels, base, other = _random_runs(5, runs=runs, n=60, num_classes=3, error=(0.3, 0.3))
    probabilities = _probabilities(base, 3)
    if runs == 1:
        probabilities = probabilities[0]  # a single (n, K) array is one run
    result = stats.compare_paired(
        labels, probabilities, _probabilities(other, 3), names=("a", "b"), n_resamples=200
    )
    assert result.n_runs == runs
    assert result.ttest_p is None and result.wilcoxon_p is None
    suffix = "1 run" if runs == 1 else "4 runs"
    assert f"no t-test or Wilcoxon test over runs ({suffix}, at least 5 needed)." in (
        result.sentence()
    )
    pooled = "(1 run)" if runs == 1 else "(pooled over 4 runs)"
    assert pooled in result.sentence()
    data = json.loads(json.dumps(result.to_dict()))
    assert data["ttest_p"] is None and data["wilcoxon_p"] is None


def test_sentence_wording_and_inconclusive_cases() -> None:
    labels, base, other = _random_runs(6, runs=5, n=60, num_classes=3, error=(0.3, 0.3))
    result = stats.compare_paired(
        labels,
        _probabilities(base, 3),
        _probabilities(other, 3),
        names=("rgb", "raw_packed"),
        n_resamples=100,
    )
    example = dataclasses.replace(
        result,
        mean_delta_accuracy=0.0027,
        accuracy_ci=(-0.0041, 0.0095),
        pooled_p=0.52,
        ttest_p=0.41,
        wilcoxon_p=0.4375,
    )
    assert example.sentence() == (
        "raw_packed − rgb: +0.27 points, 95 % CI [−0.41, +0.95], McNemar p = 0.52 "
        "(pooled over 5 runs): no evidence of a difference at α = 0.05; over the 5 runs, "
        "paired t-test p = 0.41, Wilcoxon p = 0.44."
    )
    excludes = dataclasses.replace(example, accuracy_ci=(0.001, 0.0095))
    assert excludes.verdict() == "inconclusive"
    assert "inconclusive at α = 0.05 (the CI excludes 0 but McNemar p ≥ 0.05)" in (
        excludes.sentence()
    )
    significant = dataclasses.replace(example, pooled_p=0.0496)
    assert significant.verdict() == "inconclusive"
    assert "McNemar p = 0.0496" in significant.sentence()
    assert "(McNemar p < 0.05 but the CI includes 0)" in significant.sentence()
    for text in (example.sentence(), excludes.sentence(), significant.sentence()):
        assert "no difference" not in text.replace("no evidence of a difference", "")
    with pytest.raises(ValueError, match="metric must be 'accuracy' or 'macro_f1'"):
        example.sentence("f1")  # type: ignore[arg-type]


def test_to_dict_is_json_and_round_trips() -> None:
    labels, base, other = _random_runs(8, runs=5, n=50, num_classes=3, error=(0.3, 0.2))
    result = stats.compare_paired(
        labels,
        _probabilities(base, 3),
        _probabilities(other, 3),
        names=("rgb", "raw"),
        n_resamples=100,
    )
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["sentence_accuracy"] == result.sentence()
    assert data["sentence_macro_f1"] == result.sentence("macro_f1")
    assert data["verdict_accuracy"] == result.verdict()
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
    ],
)
def test_compare_paired_rejects_bad_input(change: dict, match: str) -> None:
    arguments = {
        "labels": np.zeros(10, int),
        "base": np.full((4, 10, 3), 1 / 3),
        "other": np.full((4, 10, 3), 1 / 3),
        "names": ("rgb", "raw"),
    }
    arguments |= change
    labels, base, other = (arguments.pop(k) for k in ("labels", "base", "other"))
    with pytest.raises(ValueError, match=match):
        stats.compare_paired(labels, base, other, **arguments)
