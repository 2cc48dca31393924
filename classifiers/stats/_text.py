"""Sentences and number formats of the statistics records."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .comparison import Metric, PairedComparison


def points(fraction: float) -> str:
    """Signed percentage points with two decimals and a true minus sign: +0.27, −0.41."""
    value = round(fraction * 100, 2)
    if value == 0:
        return "0.00"
    return f"{'+' if value > 0 else '−'}{abs(value):.2f}"


def format_p(p: float) -> str:
    """1, 0.52, 0.0496, 1.2e-14, 0 (three significant digits near the usual levels)."""
    if p == 1 or p == 0:
        return f"{p:g}"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.2g}" if p >= 0.1 else f"{p:.3g}"


def runs_text(n: int) -> str:
    """The run count in words: 1 run, 5 runs."""
    return "1 run" if n == 1 else f"{n} runs"


def comparison_sentence(c: PairedComparison, metric: Metric) -> str:
    """The sentence of :meth:`PairedComparison.sentence` (see there)."""
    interval = c.accuracy if metric == "accuracy" else c.macro_f1
    head = f"{c.other} − {c.baseline}" + (" macro F1" if metric == "macro_f1" else "")
    conf = f"{c.confidence * 100:g} %"
    where = "over runs and test images" + (", by class" if metric == "macro_f1" else "")
    text = (
        f"{head}: {points(interval.estimate)} points (mean over {runs_text(c.n_runs)}), "
        f"{conf} CI [{points(interval.low)}, {points(interval.high)}] {where}, "
        f"p = {format_p(interval.p_value)}"
    )
    if metric == "accuracy" and c.p_holm is not None:
        text += (
            f", Holm-adjusted p = {format_p(c.p_holm)} over "
            f"{plural(c.family_size, 'secondary comparison')}"
        )
    elif metric == "accuracy" and c.primary:
        text += " (primary comparison)"
    text += ": " + _conclusion(c, metric)
    if c.verdict(metric) not in ("too_few_runs", "near_chance"):
        text += _power(c, metric)
    if metric == "accuracy":
        text += "; " + _descriptions(c)
    else:
        text += " (a secondary metric, not adjusted for multiplicity)"
    return text + "."


def _conclusion(c: PairedComparison, metric: Metric) -> str:
    verdict = c.verdict(metric)
    level = f"at α = {c.alpha:g}"
    if verdict == "near_chance":
        spaces = " and ".join(c.near_chance)
        rate = f"{c.baseline_row.majority_rate * 100:.1f} %"
        verb = "are" if len(c.near_chance) > 1 else "is"
        return (
            f"{spaces} {verb} near chance (accuracy CI reaches the majority-class rate "
            f"{rate}), so this comparison tells nothing about the spaces"
        )
    if verdict == "too_few_runs":
        return (
            f"with {runs_text(c.n_runs)} this describes these trained models only, not the "
            "spaces (a verdict needs at least 3 runs)"
        )
    if verdict == "none":
        return f"no evidence of a difference {level}"
    what = "more accurate than" if metric == "accuracy" else "a higher macro F1 than"
    if verdict == "lower":
        what = "less accurate than" if metric == "accuracy" else "a lower macro F1 than"
    verb = "is" if metric == "accuracy" else "has"
    after = " after Holm adjustment" if metric == "accuracy" and c.p_holm is not None else ""
    return f"evidence that {c.other} {verb} {what} {c.baseline} {level}{after}"


def _power(c: PairedComparison, metric: Metric) -> str:
    mdd = c.mdd(metric)
    interval = c.accuracy if metric == "accuracy" else c.macro_f1
    text = f"; these runs detect a true difference of {abs(mdd) * 100:.2f} points with 80 % power"
    if c.verdict(metric) == "none" and abs(interval.estimate) < mdd:
        observed = points(interval.estimate)
        text += f", so a difference the size of the observed {observed} cannot be resolved"
    verdict = c.non_inferior(metric)
    if verdict is not None:
        bound = f"CI lower end {points(interval.low)}"
        margin = plural(c.margin, "point")
        text += (
            f"; non-inferior within {margin} ({bound} > −{c.margin:g})"
            if verdict
            else f"; non-inferiority within {margin} not shown ({bound} ≤ −{c.margin:g})"
        )
    return text


def _descriptions(c: PairedComparison) -> str:
    low, high = min(c.mcnemar_p), max(c.mcnemar_p)
    spread = format_p(low) if low == high else f"{format_p(low)}–{format_p(high)}"
    text = (
        f"with the trained models held fixed, image-level sign-flip p = "
        f"{format_p(c.image_test.p_value)} and McNemar p {spread}"
        + ("" if c.n_runs == 1 else " per run")
    )
    over = []
    if c.ttest_p is not None:
        over.append(f"corrected t-test p = {format_p(c.ttest_p)}")
    if c.wilcoxon_p is not None:
        over.append(f"Wilcoxon p = {format_p(c.wilcoxon_p)} (descriptive)")
    if over:
        text += "; over runs, " + ", ".join(over)
    return text


def plural(count: float | None, word: str) -> str:
    """The count with its word: 1 point, 2 points, 1.5 points."""
    return f"{count:g} {word}" if count == 1 else f"{count:g} {word}s"
