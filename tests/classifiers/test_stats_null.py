"""The verdict rule under a true null and under a true difference, simulated at the
study's scale (1,836 test images, 96.6 % accuracy, 5 runs) through the project's own
two-way interval and verdict rule."""

from __future__ import annotations

import numpy as np
import pytest

scipy_stats = pytest.importorskip("scipy.stats")
pytest.importorskip("torch")  # classifiers/__init__ imports torch

from classifiers import stats  # noqa: E402

STUDIES, RUNS, N_TEST, ACCURACY = 1_000, 5, 1_836, 0.966
#: Fewer resamples than a report's 10,000, the same rule (two_way_mean_batch's argument).
RESAMPLES = 1_000
#: Share of the latent per-image variance shared by every run and space (hard images).
IMAGE_SHARE = 0.5


def _studies(seed: int, *, run_sd: float, difference: float, studies: int = STUDIES) -> np.ndarray:
    """(studies, runs, n) per-image correctness differences other − baseline, in {−1, 0, 1}.

    Image i of space s in run r is right when η_i + ε_sri > τ_sr: η_i ~ N(0, ρ) is the
    image's easiness shared by every run and both spaces, ε_sri ~ N(0, 1 − ρ) the trained
    model's own noise, and τ_sr sets the run's expected accuracy to 96.6 % (+ the true
    difference for the other space) plus a run effect; the run effects of the two spaces
    are independent N(0, run_sd² / 2), so the true per-run difference has SD ``run_sd``.
    """
    rng = np.random.default_rng(seed)
    easiness = rng.standard_normal((studies, 1, 1, N_TEST)) * np.sqrt(IMAGE_SHARE)
    noise = rng.standard_normal((studies, 2, RUNS, N_TEST), dtype=np.float32)
    noise *= np.float32(np.sqrt(1 - IMAGE_SHARE))
    run_effect = rng.standard_normal((studies, 2, RUNS, 1)) * run_sd / np.sqrt(2)
    expected = ACCURACY + run_effect + np.array([0.0, difference])[None, :, None, None]
    threshold = scipy_stats.norm.ppf(1 - np.clip(expected, 1e-4, 1 - 1e-4))
    correct = (easiness + noise) > threshold
    return correct[:, 1].astype(np.int8) - correct[:, 0].astype(np.int8)


def _evidence_rate(tables: np.ndarray) -> tuple[float, float]:
    """Share of studies with an "evidence" verdict: the project's rule, and for contrast
    the plain two-way percentile interval."""
    batch = stats.two_way_mean_batch(tables, n_resamples=RESAMPLES, seed=0)
    rule = stats.evidence(batch.low, batch.high, RUNS).mean()
    plain = stats.evidence(batch.percentile_low, batch.percentile_high, RUNS).mean()
    return float(rule), float(plain)


@pytest.mark.parametrize(("run_sd", "seed"), [(0.004, 1), (0.008, 2), (0.016, 3)])
def test_false_positive_rate_under_a_true_null(run_sd: float, seed: int) -> None:
    rule, plain = _evidence_rate(_studies(seed, run_sd=run_sd, difference=0.0))
    assert rule <= 0.065
    if run_sd == 0.016:  # the simulation can tell: the plain percentile interval cannot
        assert plain > 0.065


def test_power_at_a_true_difference_of_two_points() -> None:
    rule, _ = _evidence_rate(_studies(4, run_sd=0.004, difference=0.02))
    assert rule >= 0.80


def test_the_simulated_rule_is_the_one_compare_paired_reads() -> None:
    """compare_paired's interval and verdict of one simulated study equal the batch's."""
    table = _studies(5, run_sd=0.008, difference=0.02, studies=2)
    batch = stats.two_way_mean_batch(table, n_resamples=RESAMPLES, seed=0)
    labels = np.arange(N_TEST) % 2
    for s in range(2):
        # Baseline right except where the other space gains, the other space right except
        # where it loses: the same correctness differences, as probabilities.
        base_right, other_right = table[s] != 1, table[s] != -1
        base = np.eye(2)[np.where(base_right, labels, 1 - labels)]
        other = np.eye(2)[np.where(other_right, labels, 1 - labels)]
        result = stats.compare_paired(
            labels, base, other, names=("a", "b"), n_resamples=RESAMPLES, seed=0
        )
        assert result.accuracy_ci == pytest.approx((batch.low[s], batch.high[s]), abs=1e-12)
        expected = bool(stats.evidence(batch.low[s], batch.high[s], RUNS))
        assert (result.verdict() in ("higher", "lower")) == expected
