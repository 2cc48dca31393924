"""classifiers.metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

from classifiers import metrics  # noqa: E402

NAMES = ("A", "B", "C")
Y_TRUE = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 0, 1, 1, 1, 2, 2, 0, 0])
# Scores of the true class, strictly ranked, so the ROC-AUCs can be counted by hand.
SCORE = np.array([0.9, 0.8, 0.7, 0.3, 0.6, 0.5, 0.2, 0.65, 0.1, 0.15])


def _probabilities() -> np.ndarray:
    """Rows summing to 1 whose argmax is Y_PRED (0.7 on the predicted class)."""
    p = np.full((10, 3), 0.15)
    p[np.arange(10), Y_PRED] = 0.7
    return p


def _pairs_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC as the fraction of (positive, negative) pairs ranked correctly (ties ½)."""
    pos, neg = score[positive], score[~positive]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (pos.size * neg.size)


def test_scores_equal_hand_computed_values() -> None:
    scores = metrics.evaluate(Y_TRUE, _probabilities(), class_names=NAMES)
    np.testing.assert_array_equal(scores.confusion, [[3, 1, 0], [0, 2, 1], [2, 0, 1]])
    # precision 3/5, 2/3, 1/2; recall 3/4, 2/3, 1/3; F1 2/3, 2/3, 2/5; support 4, 3, 3
    assert scores.accuracy == pytest.approx(0.6)
    assert scores.precision == pytest.approx((4 * 3 / 5 + 3 * 2 / 3 + 3 * 1 / 2) / 10)
    assert scores.sensitivity == pytest.approx(0.6)
    assert scores.f1 == pytest.approx((4 * 2 / 3 + 3 * 2 / 3 + 3 * 2 / 5) / 10)
    by_class = {c.name: c for c in scores.per_class}
    assert by_class["C"].precision == pytest.approx(0.5)
    assert by_class["C"].sensitivity == pytest.approx(1 / 3)
    assert by_class["C"].f1 == pytest.approx(0.4)
    assert by_class["A"].support == 4
    assert scores.absent_classes == ()


def test_scores_equal_scikit_learn() -> None:
    probabilities = _probabilities()
    scores = metrics.evaluate(Y_TRUE, probabilities, class_names=NAMES)
    p, r, f, _ = sklearn_metrics.precision_recall_fscore_support(
        Y_TRUE, Y_PRED, average="weighted", zero_division=0
    )
    assert (scores.precision, scores.sensitivity, scores.f1) == pytest.approx((p, r, f))
    assert scores.accuracy == pytest.approx(sklearn_metrics.accuracy_score(Y_TRUE, Y_PRED))
    expected = sklearn_metrics.roc_auc_score(
        Y_TRUE, probabilities, multi_class="ovr", average="weighted"
    )
    assert scores.wauc == pytest.approx(expected)


def test_aucs_by_counting_pairs() -> None:
    p = np.repeat(((1 - SCORE) / 2)[:, None], 3, axis=1)
    p[np.arange(10), Y_TRUE] = SCORE
    support = np.bincount(Y_TRUE)
    per_class = [_pairs_auc(Y_TRUE == k, p[:, k]) for k in range(3)]
    scores = metrics.evaluate(Y_TRUE, p, class_names=NAMES)
    assert scores.wauc == pytest.approx(sum(support * per_class) / 10)
    assert scores.macro_auc == pytest.approx(np.mean(per_class))
    assert [c.auc for c in scores.per_class] == pytest.approx(per_class)


def test_macro_metrics_and_balanced_accuracy_equal_scikit_learn() -> None:
    scores = metrics.evaluate(Y_TRUE, _probabilities(), class_names=NAMES)
    p, r, f, _ = sklearn_metrics.precision_recall_fscore_support(
        Y_TRUE, Y_PRED, average="macro", zero_division=0
    )
    assert (scores.macro_precision, scores.macro_sensitivity, scores.macro_f1) == pytest.approx(
        (p, r, f)
    )
    # recalls 3/4, 2/3, 1/3: every class counts the same, whatever its support
    assert scores.balanced_accuracy == pytest.approx((3 / 4 + 2 / 3 + 1 / 3) / 3)
    assert scores.balanced_accuracy == pytest.approx(scores.macro_sensitivity)
    assert scores.balanced_accuracy == pytest.approx(
        sklearn_metrics.balanced_accuracy_score(Y_TRUE, Y_PRED)
    )


def test_two_classes() -> None:
    """A two-class test set: the (n, 2) probabilities give the binary AUC (this crashed)."""
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    p1 = np.array([0.1, 0.6, 0.3, 0.8, 0.4, 0.9, 0.7])
    probabilities = np.stack([1 - p1, p1], axis=1)
    scores = metrics.evaluate(y, probabilities, class_names=("neg", "pos"))
    binary = sklearn_metrics.roc_auc_score(y, p1)
    assert scores.wauc == pytest.approx(binary) and scores.macro_auc == pytest.approx(binary)
    assert scores.accuracy == pytest.approx(5 / 7)


def test_absent_classes_have_weight_zero() -> None:
    names = (*NAMES, "D")
    p = np.hstack([_probabilities() * 0.9, np.full((10, 1), 0.1)])
    scores = metrics.evaluate(Y_TRUE, p, class_names=names)
    assert scores.absent_classes == ("D",)
    assert scores.confusion.shape == (4, 4)
    three = metrics.evaluate(Y_TRUE, _probabilities(), class_names=NAMES)
    assert (scores.precision, scores.f1) == pytest.approx((three.precision, three.f1))
    support = np.bincount(Y_TRUE)
    expected = (
        sum(support[k] * sklearn_metrics.roc_auc_score(Y_TRUE == k, p[:, k]) for k in range(3)) / 10
    )
    assert scores.wauc == pytest.approx(expected)
    assert scores.macro_f1 == pytest.approx(three.macro_f1)  # the absent class is left out
    one_class = metrics.evaluate(np.zeros(4, dtype=int), np.full((4, 2), 0.5), class_names="ab")
    assert math.isnan(one_class.wauc) and math.isnan(one_class.macro_auc)


def test_summary_is_mean_and_sample_std() -> None:
    good = metrics.evaluate(Y_TRUE, _probabilities(), class_names=NAMES)
    perfect = metrics.evaluate(Y_TRUE, np.eye(3)[Y_TRUE], class_names=NAMES)
    summary = metrics.summarize([good, perfect])
    assert summary["accuracy"] == pytest.approx((0.8, np.std([0.6, 1.0], ddof=1)))
    assert summary["wauc"][0] == pytest.approx((good.wauc + 1.0) / 2)
    assert metrics.summarize([good])["f1"] == (good.f1, 0.0)
    assert metrics.Scores.from_dict(good.to_dict()).to_dict() == good.to_dict()


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"probabilities must have shape \(n, 3\)"):
        metrics.evaluate(Y_TRUE, np.ones((10, 2)) / 2, class_names=NAMES)
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.2"):
        metrics.evaluate(Y_TRUE + 1, _probabilities(), class_names=NAMES)
    with pytest.raises(ValueError, match="summarize needs at least one run"):
        metrics.summarize([])
