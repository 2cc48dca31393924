"""Camera shift: paired inference on unseen cameras with the run as the unit.

Every run tests the same images on every unseen camera, so (run, camera) pairs are not
independent runs. Here each run contributes one value per image, its correctness
averaged over the unseen cameras; a camera-independent baseline (``rgb``) enters once
per run; the inference is the two-way interval of :mod:`classifiers.stats.two_way`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np

from ._checks import check_fraction, check_int, check_names, check_run_names, labels_1d
from ._text import format_p, points, runs_text
from .image_level import SignFlipTest, sign_flip_test
from .over_runs import corrected_ttest, wilcoxon_over_runs
from .power import minimum_detectable_difference
from .two_way import MIN_RUNS_POPULATION, TwoWayInterval, evidence, two_way_difference

__all__ = ["CameraShift", "compare_camera_shift"]


@dataclass(frozen=True)
class CameraShift:
    """Paired comparison on unseen cameras, one value per run.

    Attributes
    ----------
    baseline, other : str
        Space names (Δ = other − baseline, fractions).
    cameras, runs : tuple of str
        Unseen cameras and paired runs.
    n_test : int
    baseline_accuracy, other_accuracy, delta_accuracy : tuple of float
        Per run; each the mean over unseen cameras (a camera-independent baseline once).
    other_per_camera : tuple of float
        Other's accuracy on each camera, mean over runs.
    baseline_per_camera : tuple of float or None
        The same for a camera-dependent baseline; None when it ignores the camera.
    accuracy : TwoWayInterval
        Two-way interval of Δ over runs and test images.
    image_test : SignFlipTest
    ttest_t, ttest_p, wilcoxon_p : float or None
        Corrected t-test and descriptive Wilcoxon over the per-run Δs.
    alpha, confidence : float
    n_resamples, seed : int
    p_holm : float or None
        The two-way p Holm-adjusted over the report's camera-shift family (set by the
        report); when set, the verdict reads it.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1, 1, 0])
    >>> rgb = np.eye(2)[np.array([[0, 1, 1, 0]] * 3)]
    >>> shift = compare_camera_shift(labels, rgb, rgb[:, None], names=("rgb", "raw"),
    ...                              cameras=["cam"], n_resamples=20)
    >>> CameraShift.from_dict(shift.to_dict()) == shift
    True
    """

    baseline: str
    other: str
    cameras: tuple[str, ...]
    runs: tuple[str, ...]
    n_test: int
    baseline_accuracy: tuple[float, ...]
    other_accuracy: tuple[float, ...]
    delta_accuracy: tuple[float, ...]
    other_per_camera: tuple[float, ...]
    baseline_per_camera: tuple[float, ...] | None
    accuracy: TwoWayInterval
    image_test: SignFlipTest
    ttest_t: float | None
    ttest_p: float | None
    wilcoxon_p: float | None
    alpha: float
    confidence: float
    n_resamples: int
    seed: int
    p_holm: float | None = None

    @property
    def n_runs(self) -> int:
        """Paired runs (as many as there are runs, whatever the number of cameras)."""
        return len(self.runs)

    def verdict(self) -> str:
        """``"higher"``, ``"lower"``, ``"none"`` or ``"too_few_runs"`` (two-way interval)."""
        if self.n_runs < MIN_RUNS_POPULATION:
            return "too_few_runs"
        if self.p_holm is not None:
            significant = self.p_holm < self.alpha
        else:
            significant = bool(evidence(self.accuracy.low, self.accuracy.high, self.n_runs))
        if not significant:
            return "none"
        return "higher" if self.accuracy.estimate > 0 else "lower"

    def sentence(self) -> str:
        """One sentence, e.g. "On 2 unseen cameras, raw_packed_cam − rgb: +1.20 points …"."""
        a = self.accuracy
        text = (
            f"On {len(self.cameras)} unseen cameras, {self.other} − {self.baseline}: "
            f"{points(a.estimate)} points (mean over {runs_text(self.n_runs)} of the mean over "
            f"cameras), {a.confidence * 100:g} % CI [{points(a.low)}, {points(a.high)}] over runs "
            f"and test images, p = {format_p(a.p_value)}"
        )
        if self.p_holm is not None:
            text += f", Holm-adjusted p = {format_p(self.p_holm)} over the camera-shift comparisons"
        text += ": "
        verdict = self.verdict()
        if verdict == "too_few_runs":
            text += f"with {runs_text(self.n_runs)} this describes these trained models only"
        elif verdict == "none":
            text += f"no evidence of a difference at α = {self.alpha:g}"
        else:
            what = "more" if verdict == "higher" else "less"
            text += (
                f"evidence that {self.other} is {what} accurate than {self.baseline} on unseen "
                f"cameras at α = {self.alpha:g}"
            )
        mdd = minimum_detectable_difference(a.se)
        text += (
            f"; these runs detect {mdd * 100:.2f} points with 80 % power; image-level "
            f"sign-flip p = {format_p(self.image_test.p_value)}"
        )
        return text + "."

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary with verdict, sentence and MDD; inverse of
        :meth:`from_dict`."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (TwoWayInterval, SignFlipTest)):
                value = value.to_dict()
            out[f.name] = list(value) if isinstance(value, tuple) else value
        out["verdict"] = self.verdict()
        out["sentence"] = self.sentence()
        out["mdd_accuracy"] = minimum_detectable_difference(self.accuracy.se)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CameraShift:
        """Rebuild from :meth:`to_dict`'s output (extra keys are ignored)."""
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in data and f.name == "p_holm":
                continue  # written before the family was recorded
            value = data[f.name]
            if f.name == "accuracy":
                value = TwoWayInterval.from_dict(value)  # type: ignore[arg-type]
            elif f.name == "image_test":
                value = SignFlipTest.from_dict(value)  # type: ignore[arg-type]
            elif isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
        return cls(**values)  # type: ignore[arg-type]


def compare_camera_shift(
    labels: np.ndarray,
    baseline_probabilities: np.ndarray,
    other_camera_probabilities: np.ndarray,
    *,
    names: tuple[str, str],
    cameras: Sequence[str],
    run_names: Sequence[str] | None = None,
    n_train: int | None = None,
    n_resamples: int = 10_000,
    seed: int = 0,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> CameraShift:
    """Camera-shift comparison with one value per run and the same two-way inference.

    Parameters
    ----------
    labels : ndarray
        (n,) integer true classes of the test images.
    baseline_probabilities : ndarray
        (R, n, K) for a baseline that ignores the camera (``rgb``, once per run), or
        (R, C, n, K) for a camera-dependent one (averaged over cameras).
    other_camera_probabilities : ndarray
        (R, C, n, K) class probabilities of the other space on each unseen camera.
    names, cameras : tuple of str, sequence of str
        (baseline name, other name) and the C camera names.
    run_names, n_train, n_resamples, seed, alpha, confidence
        As in :func:`~classifiers.stats.compare_paired`.

    Returns
    -------
    CameraShift

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 1, 1, 0])
    >>> rgb = np.eye(2)[np.array([[0, 1, 1, 1]] * 3)]
    >>> raw = np.stack([rgb, rgb], axis=1)  # two unseen cameras, the same predictions
    >>> shift = compare_camera_shift(labels, rgb, raw, names=("rgb", "raw"),
    ...                              cameras=["cam a", "cam b"], n_resamples=50)
    >>> shift.n_runs, shift.accuracy.estimate, shift.verdict()
    (3, 0.0, 'none')
    """
    baseline, other = check_names(names)
    labels = labels_1d(labels, "labels")
    _check_options(alpha, n_train)
    base_correct, other_correct, cameras_ = _correctness(
        labels, baseline_probabilities, other_camera_probabilities, cameras
    )
    n = labels.size
    base_table = base_correct.mean(axis=1) if base_correct.ndim == 3 else base_correct
    other_table = other_correct.mean(axis=1)
    delta = other_table.mean(axis=1) - base_table.mean(axis=1)
    resampling = {"n_resamples": n_resamples, "seed": seed}
    ttest = _ttest(delta, n_train, n)
    return CameraShift(
        baseline=baseline,
        other=other,
        cameras=cameras_,
        runs=check_run_names(run_names, other_correct.shape[0]),
        n_test=n,
        baseline_accuracy=tuple(float(x) for x in base_table.mean(axis=1)),
        other_accuracy=tuple(float(x) for x in other_table.mean(axis=1)),
        delta_accuracy=tuple(float(x) for x in delta),
        other_per_camera=tuple(float(x) for x in other_correct.mean(axis=(0, 2))),
        baseline_per_camera=_per_camera(base_correct),
        accuracy=two_way_difference(base_table, other_table, confidence=confidence, **resampling),
        image_test=sign_flip_test(base_table, other_table, **resampling),
        ttest_t=None if ttest is None else ttest[0],
        ttest_p=None if ttest is None else ttest[1],
        wilcoxon_p=wilcoxon_over_runs(np.round(delta * n * len(cameras_)) / (n * len(cameras_))),
        alpha=float(alpha),
        confidence=float(confidence),
        n_resamples=int(n_resamples),
        seed=int(seed),
    )


def _correctness(
    labels: np.ndarray,
    baseline_probabilities: np.ndarray,
    other_camera_probabilities: np.ndarray,
    cameras: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Per-image correctness as float: baseline (R, n) or (R, C, n), other (R, C, n)."""
    shifted = np.asarray(other_camera_probabilities, dtype=np.float64)
    if shifted.ndim != 4 or 0 in shifted.shape or shifted.shape[2] != labels.size:
        raise ValueError(
            f"other_camera_probabilities must be (runs, cameras, {labels.size}, K); got "
            f"{shifted.shape}"
        )
    runs, n_cameras, n, k = shifted.shape
    base = np.asarray(baseline_probabilities, dtype=np.float64)
    if base.shape not in ((runs, n, k), (runs, n_cameras, n, k)):
        raise ValueError(
            f"baseline_probabilities must be ({runs}, {n}, {k}) or ({runs}, {n_cameras}, "
            f"{n}, {k}); got {base.shape}"
        )
    names = tuple(cameras)
    if len(names) != n_cameras or not all(isinstance(c, str) for c in names):
        raise ValueError(f"cameras must be {n_cameras} names; got {list(names)!r}")
    base_correct = (base.argmax(-1) == labels).astype(np.float64)
    return base_correct, (shifted.argmax(-1) == labels).astype(np.float64), names


def _check_options(alpha: float, n_train: int | None) -> None:
    check_fraction(alpha, "alpha")
    if n_train is not None:
        check_int(n_train, "n_train", minimum=1)


def _ttest(delta: np.ndarray, n_train: int | None, n: int) -> tuple[float, float, int] | None:
    if n_train is None or delta.size < MIN_RUNS_POPULATION:
        return None
    return corrected_ttest(delta, n_train=n_train, n_test=n)


def _per_camera(correct: np.ndarray) -> tuple[float, ...] | None:
    """(R, C, n) → per-camera accuracy (mean over runs); None for (R, n)."""
    if correct.ndim != 3:
        return None
    return tuple(float(x) for x in correct.mean(axis=(0, 2)))
