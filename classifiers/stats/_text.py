"""Sentences and number formats of the statistics records."""

from __future__ import annotations


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
