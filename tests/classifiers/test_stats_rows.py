"""Row uncertainty, calibration, power, the corrected t-test and camera shift, against
statsmodels, scipy and hand formulas."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

scipy_stats = pytest.importorskip("scipy.stats")
proportion = pytest.importorskip("statsmodels.stats.proportion")
pytest.importorskip("torch")  # classifiers/__init__ imports torch

from classifiers import stats  # noqa: E402


def _round_trip(record: object) -> object:
    data = json.loads(json.dumps(record.to_dict(), allow_nan=False))  # type: ignore[attr-defined]
    return type(record).from_dict(data)  # type: ignore[attr-defined]


# ------------------------------------------------------------------------ row intervals


@pytest.mark.parametrize(("count", "trials"), [(0, 5), (2, 3), (5, 5), (1774, 1836), (17, 40)])
@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_wilson_matches_statsmodels(count: int, trials: int, confidence: float) -> None:
    expected = proportion.proportion_confint(count, trials, alpha=1 - confidence, method="wilson")
    got = stats.wilson_interval(count, trials, confidence=confidence)
    assert got == pytest.approx(expected, abs=1e-12)


def test_wilson_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"successes must lie in 0\.\.3"):
        stats.wilson_interval(4, 3)
    with pytest.raises(ValueError, match="trials must be an integer ≥ 1"):
        stats.wilson_interval(0, 0)


def test_row_accuracy_single_run_is_wilson_and_runs_are_two_way() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 200)
    predicted = np.where(rng.random((3, 200)) < 0.8, labels, (labels + 1) % 4)
    one = stats.row_accuracy(labels, predicted[0])
    right = int(np.sum(predicted[0] == labels))
    assert one.method == "Wilson" and one.accuracy == right / 200
    assert (one.low, one.high) == pytest.approx(
        proportion.proportion_confint(right, 200, method="wilson"), abs=1e-12
    )
    three = stats.row_accuracy(labels, predicted, n_resamples=500, seed=2)
    interval = stats.two_way_mean(predicted == labels, n_resamples=500, seed=2)
    assert three.method == "two-way bootstrap" and three.n_runs == 3
    assert (three.low, three.high) == (interval.low, interval.high)
    assert three.majority_rate == np.bincount(labels).max() / 200 and not three.near_chance
    assert _round_trip(three) == three


def test_near_chance_when_the_interval_reaches_the_majority_rate() -> None:
    labels = np.array([0] * 30 + [1] * 10)  # majority 75 %
    predicted = np.zeros((1, 40), dtype=np.int64)  # always the majority class: 75 %
    row = stats.row_accuracy(labels, predicted)
    assert row.accuracy == 0.75 and row.majority_rate == 0.75 and row.near_chance
    perfect = stats.row_accuracy(labels, labels)
    assert not perfect.near_chance and perfect.low > 0.75


def test_per_class_sensitivity_with_wilson_and_counts() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
    predicted = np.array([[0, 0, 1, 1, 1, 2, 2, 2, 0, 0], [0, 1, 1, 1, 0, 2, 2, 2, 2, 0]])
    rows = stats.per_class_sensitivity(labels, predicted, num_classes=4)
    assert [r.n_test for r in rows] == [3, 2, 5, 0]
    hits = [(2 + 1) / 2, (2 + 1) / 2, (3 + 4) / 2]  # mean correct count over runs
    for row, h, n in zip(rows[:3], hits, (3, 2, 5), strict=True):
        assert row.sensitivity == pytest.approx(h / n)
        assert (row.low, row.high) == pytest.approx(stats.wilson_interval(h, n), abs=1e-12)
    for row, right, n in zip(
        stats.per_class_sensitivity(labels, predicted[1]), (1, 1, 4), (3, 2, 5), strict=True
    ):
        expected = proportion.proportion_confint(right, n, method="wilson")
        assert (row.low, row.high) == pytest.approx(expected, abs=1e-12)
    assert (rows[3].sensitivity, rows[3].low, rows[3].high) == (0.0, 0.0, 1.0)
    assert _round_trip(rows[0]) == rows[0]


# ------------------------------------------------------------------------- calibration


def test_ece_and_reliability_against_a_hand_loop() -> None:
    rng = np.random.default_rng(4)
    runs, n, k = 3, 300, 5
    logits = rng.normal(size=(runs, n, k)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, k, n)
    result = stats.calibration(labels, probs)
    assert len(result.bin_count) == stats.ECE_BINS == 15 and sum(result.bin_count) == runs * n

    def hand(p: np.ndarray, y: np.ndarray) -> float:
        conf, right = p.max(-1), p.argmax(-1) == y
        total = 0.0
        for b in range(15):
            inside = (conf > b / 15) & (conf <= (b + 1) / 15)
            if inside.any():
                total += inside.sum() / conf.size * abs(right[inside].mean() - conf[inside].mean())
        return total

    pooled_y = np.tile(labels, runs)
    assert result.ece == pytest.approx(hand(probs.reshape(-1, k), pooled_y), abs=1e-12)
    for r in range(runs):
        assert result.ece_per_run[r] == pytest.approx(hand(probs[r], labels), abs=1e-12)
    conf = probs.max(-1).ravel()
    inside = (conf > 6 / 15) & (conf <= 7 / 15)
    assert result.bin_count[6] == inside.sum()
    assert result.bin_confidence[6] == pytest.approx(conf[inside].mean())
    right = (probs.argmax(-1) == labels).ravel()
    assert result.bin_accuracy[6] == pytest.approx(right[inside].mean())
    assert result.bin_edges[0] == 0.0 and result.bin_edges[-1] == 1.0
    assert _round_trip(result) == result


def test_a_perfectly_calibrated_one_hot_row_has_zero_ece() -> None:
    labels = np.array([0, 1, 2, 1])
    result = stats.calibration(labels, np.eye(3)[labels])
    assert result.ece == 0.0 and result.bin_count[-1] == 4
    assert result.bin_accuracy[0] is None and result.bin_accuracy[-1] == 1.0


# -------------------------------------------------------------------- power, over runs


def test_minimum_detectable_difference_and_non_inferiority() -> None:
    z = scipy_stats.norm.ppf
    assert stats.minimum_detectable_difference(0.0042) == pytest.approx(
        (z(0.975) + z(0.8)) * 0.0042, rel=1e-12
    )
    assert stats.minimum_detectable_difference(0.01, alpha=0.01, power=0.9) == pytest.approx(
        (z(0.995) + z(0.9)) * 0.01
    )
    assert stats.non_inferior(-0.009, 1.0) and not stats.non_inferior(-0.01, 1.0)
    with pytest.raises(ValueError, match="se must be ≥ 0"):
        stats.minimum_detectable_difference(-1.0)
    with pytest.raises(ValueError, match="margin_points must be > 0"):
        stats.non_inferior(0.0, 0.0)


def test_corrected_ttest_against_the_formula_and_scipy() -> None:
    d = np.array([0.004, -0.002, 0.011, 0.003, 0.006])
    result = stats.corrected_ttest(d, n_train=1468, n_test=367)
    assert result is not None
    t, p, df = result
    expected_t = d.mean() / math.sqrt((1 / 5 + 367 / 1468) * d.var(ddof=1))
    assert (t, df) == (pytest.approx(expected_t, rel=1e-12), 4)
    assert p == pytest.approx(2 * scipy_stats.t.sf(abs(expected_t), 4), rel=1e-12)
    # Without the correction term it is scipy's one-sample t-test, and more confident.
    plain = scipy_stats.ttest_1samp(d, 0.0)
    uncorrected = stats.corrected_ttest(d, n_train=10**12, n_test=1)
    assert uncorrected is not None and uncorrected[1] == pytest.approx(plain.pvalue)
    assert p > plain.pvalue
    assert stats.corrected_ttest(np.zeros(4), n_train=10, n_test=2) == (0.0, 1.0, 3)
    # equal nonzero differences: zero variance, the test is undefined (not p = 0)
    assert stats.corrected_ttest(np.full(4, 0.01), n_train=10, n_test=2) is None
    with pytest.raises(ValueError, match="differences must be ≥ 2 finite"):
        stats.corrected_ttest(np.array([0.1]), n_train=10, n_test=2)


def test_wilcoxon_over_runs_is_scipy_with_five_runs_or_more() -> None:
    d = np.array([3, -1, 4, 8, 10, 2]) / 300
    assert stats.wilcoxon_over_runs(d) == pytest.approx(scipy_stats.wilcoxon(d).pvalue)
    assert stats.wilcoxon_over_runs(d[:4]) is None
    assert stats.wilcoxon_over_runs(np.zeros(5)) == 1.0


# ------------------------------------------------------------------------ camera shift


def _camera_setup(runs: int = 5, cameras: int = 3, n: int = 120, k: int = 4):
    rng = np.random.default_rng(9)
    labels = rng.integers(0, k, n)

    def probs(error: float, shape: tuple[int, ...]) -> np.ndarray:
        wrong = rng.random((*shape, n)) < error
        return np.eye(k)[np.where(wrong, (labels + 1) % k, labels)]

    return labels, probs(0.2, (runs,)), probs(0.1, (runs, cameras)), probs(0.15, (runs, cameras))


def test_camera_shift_has_one_paired_value_per_run_and_rgb_once() -> None:
    labels, rgb, raw_cams, _ = _camera_setup()
    names = [f"cam{c}" for c in range(3)]
    shift = stats.compare_camera_shift(
        labels, rgb, raw_cams, names=("rgb", "raw_cam"), cameras=names, n_train=480,
        n_resamples=400, seed=1,
    )  # fmt: skip
    assert shift.n_runs == 5 and len(shift.delta_accuracy) == 5 and shift.cameras == tuple(names)
    rgb_correct = (rgb.argmax(-1) == labels).astype(float)  # (R, n): once per run
    raw_correct = (raw_cams.argmax(-1) == labels).mean(axis=1)  # (R, n): mean over cameras
    np.testing.assert_allclose(shift.baseline_accuracy, rgb_correct.mean(1), atol=1e-15)
    np.testing.assert_allclose(shift.other_accuracy, raw_correct.mean(1), atol=1e-15)
    np.testing.assert_allclose(
        shift.other_per_camera, (raw_cams.argmax(-1) == labels).mean(axis=(0, 2)), atol=1e-15
    )
    assert shift.baseline_per_camera is None
    assert shift.accuracy == stats.two_way_difference(
        rgb_correct, raw_correct, n_resamples=400, seed=1
    )
    assert shift.image_test == stats.sign_flip_test(
        rgb_correct, raw_correct, n_resamples=400, seed=1
    )
    d = raw_correct.mean(1) - rgb_correct.mean(1)
    t = d.mean() / math.sqrt((1 / 5 + 120 / 480) * d.var(ddof=1))
    assert shift.ttest_t == pytest.approx(t)
    assert shift.verdict() == "higher"
    assert shift.sentence().startswith("On 3 unseen cameras, raw_cam − rgb: +")
    assert "mean over 5 runs of the mean over cameras" in shift.sentence()
    assert _round_trip(shift) == shift


def test_camera_shift_with_a_camera_dependent_baseline() -> None:
    labels, _, raw_cams, raw_base_cams = _camera_setup(runs=2)
    shift = stats.compare_camera_shift(
        labels, raw_base_cams, raw_cams, names=("raw", "raw_cam"), cameras=["a", "b", "c"],
        n_resamples=200,
    )  # fmt: skip
    base = (raw_base_cams.argmax(-1) == labels).mean(axis=1)
    np.testing.assert_allclose(shift.baseline_accuracy, base.mean(1), atol=1e-15)
    assert shift.baseline_per_camera is not None and len(shift.baseline_per_camera) == 3
    assert shift.verdict() == "too_few_runs"
    assert "describes these trained models only" in shift.sentence()
    with pytest.raises(ValueError, match=r"baseline_probabilities must be \(2, 120, 4\)"):
        stats.compare_camera_shift(
            labels, raw_base_cams[:, :2], raw_cams, names=("a", "b"), cameras=["a", "b", "c"]
        )
    with pytest.raises(ValueError, match="cameras must be 3 names"):
        stats.compare_camera_shift(labels, raw_base_cams, raw_cams, names=("a", "b"), cameras=["a"])


def test_a_holm_adjusted_camera_shift_reads_its_adjusted_p() -> None:
    """In the report's family the verdict and sentence follow the Holm-adjusted p."""
    import dataclasses

    labels, rgb, raw_cams, _ = _camera_setup()
    shift = stats.compare_camera_shift(
        labels, rgb, raw_cams, names=("rgb", "raw_cam"), cameras=["a", "b", "c"],
        n_train=480, n_resamples=400, seed=1,
    )  # fmt: skip
    assert shift.p_holm is None and "Holm" not in shift.sentence()
    adjusted = dataclasses.replace(shift, p_holm=1.0)
    assert adjusted.verdict() == "none"
    assert "Holm-adjusted p = 1 over the camera-shift comparisons" in adjusted.sentence()
    assert "evidence that" not in adjusted.sentence()
    assert stats.CameraShift.from_dict(adjusted.to_dict()) == adjusted
    old = {k: v for k, v in shift.to_dict().items() if k != "p_holm"}
    assert stats.CameraShift.from_dict(old) == shift


def test_runs_that_all_differ_by_the_same_amount_have_no_t_test() -> None:
    """Five runs, each with other = baseline + the same 2 images right: zero run variance."""
    labels = np.zeros(40, dtype=np.int64)
    base = np.zeros((5, 40, 2))
    base[:, :30, 0] = 1.0  # 30 of 40 right in every run
    base[:, 30:, 1] = 1.0
    other = base.copy()
    other[:, 30:32] = [1.0, 0.0]  # two more right, in every run
    result = stats.compare_paired(
        labels, base, other, names=("rgb", "raw"), n_train=160, n_resamples=200
    )
    assert result.delta_accuracy == (0.05,) * 5
    assert result.ttest_t is None and result.ttest_p is None
    assert "corrected t-test undefined" in result.sentence()
    assert "t-test p = 0" not in result.sentence()
