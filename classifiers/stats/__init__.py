"""Paired statistics comparing input spaces tested on the same images (SPEC §8).

A result has two sources of variance, training (runs = folds × seeds) and test sampling
(images reused by every run); the verdict about two spaces reads the two-way interval
over both (:mod:`~classifiers.stats.two_way`). One module per concept:

* :mod:`~classifiers.stats.two_way` — two-way ("pigeonhole") bootstrap and its interval.
* :mod:`~classifiers.stats.image_level` — sign-flip test with the image as the unit.
* :mod:`~classifiers.stats.over_runs` — Nadeau–Bengio corrected t-test, Wilcoxon.
* :mod:`~classifiers.stats.mcnemar` — exact McNemar test of one run.
* :mod:`~classifiers.stats.multiplicity` — Holm adjustment over the report's family.
* :mod:`~classifiers.stats.power` — minimum detectable difference, non-inferiority.
* :mod:`~classifiers.stats.intervals` — row accuracy CI, near chance, per-class Wilson.
* :mod:`~classifiers.stats.calibration` — ECE and reliability-diagram data.
* :mod:`~classifiers.stats.comparison` — the record of a paired comparison, its verdict
  and sentence; :mod:`~classifiers.stats.paired` — :func:`compare_paired`, which fills it.
* :mod:`~classifiers.stats.camera` — camera-shift inference, one value per run.
* :mod:`~classifiers.stats.resample` — the seeded resamples, images-only bootstrap.
"""

from __future__ import annotations

from .calibration import ECE_BINS, Calibration, calibration
from .camera import CameraShift, compare_camera_shift
from .comparison import Metric, PairedComparison, Verdict
from .image_level import SignFlipTest, sign_flip_test
from .intervals import (
    ClassSensitivity,
    RowAccuracy,
    majority_rate,
    per_class_sensitivity,
    row_accuracy,
    wilson_interval,
)
from .mcnemar import mcnemar_exact
from .multiplicity import adjust_family, holm
from .over_runs import MIN_RUNS_OVER_RUNS, corrected_ttest, wilcoxon_over_runs
from .paired import compare_paired
from .power import minimum_detectable_difference, non_inferior
from .resample import (
    RESAMPLE_BLOCK,
    BootstrapResult,
    bootstrap_indices,
    paired_bootstrap,
    two_way_indices,
)
from .two_way import (
    INTERVAL_RULE,
    MIN_RUNS_POPULATION,
    TwoWayBatch,
    TwoWayInterval,
    evidence,
    two_way_difference,
    two_way_macro_f1,
    two_way_mean,
    two_way_mean_batch,
    two_way_means,
)

__all__ = [
    "ECE_BINS",
    "INTERVAL_RULE",
    "MIN_RUNS_OVER_RUNS",
    "MIN_RUNS_POPULATION",
    "RESAMPLE_BLOCK",
    "BootstrapResult",
    "Calibration",
    "CameraShift",
    "ClassSensitivity",
    "Metric",
    "PairedComparison",
    "RowAccuracy",
    "SignFlipTest",
    "TwoWayBatch",
    "TwoWayInterval",
    "Verdict",
    "adjust_family",
    "bootstrap_indices",
    "calibration",
    "compare_camera_shift",
    "compare_paired",
    "corrected_ttest",
    "evidence",
    "holm",
    "majority_rate",
    "mcnemar_exact",
    "minimum_detectable_difference",
    "non_inferior",
    "paired_bootstrap",
    "per_class_sensitivity",
    "row_accuracy",
    "sign_flip_test",
    "two_way_difference",
    "two_way_indices",
    "two_way_macro_f1",
    "two_way_mean",
    "two_way_mean_batch",
    "two_way_means",
    "wilcoxon_over_runs",
    "wilson_interval",
]
