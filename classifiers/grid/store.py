"""The store of finished cells in ``OUT/cells``: which are finished with the planned
fingerprint, which are damaged, who holds a claim, and the stored cost profiles.

A cell counts as finished only when both its files load and check
(:func:`classifiers.grid.record.read_cell`) and its fingerprint equals the planned one;
a damaged or inconsistent cell counts as unfinished and is retrained, with a log line
saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from . import claims
from .record import CellRecord, CostRecord, RecordError, read_cell, read_cost

__all__ = ["Lookup", "claim_path", "cost_path", "describe_claim", "look_up", "stored_costs"]


@dataclass(frozen=True)
class Lookup:
    """What the store holds for one planned cell.

    ``state`` is ``"finished"`` (``record`` set), ``"missing"`` (no files),
    ``"damaged"`` (files that do not load or check; ``reason`` says why) or
    ``"changed"`` (made with another fingerprint; ``reason`` lists what differs).
    """

    state: Literal["finished", "missing", "damaged", "changed"]
    record: CellRecord | None = None
    reason: str = ""

    def log_line(self, name: str) -> str:
        """The log line of cell ``name`` for this state."""
        if self.state == "finished":
            return f"{name}: finished earlier, not retrained"
        if self.state == "damaged":
            return f"{name}: retrained: the stored result is damaged ({self.reason})"
        return f"{name}: retrained: the stored result was made with other {self.reason}"


def look_up(cells: Path, name: str, fingerprint: Mapping[str, Any]) -> Lookup:
    """Whether cell ``name`` is finished in ``cells`` with ``fingerprint``."""
    if not (cells / f"{name}.json").exists() and not (cells / f"{name}.npz").exists():
        return Lookup("missing")
    try:
        record = read_cell(cells, name)
    except RecordError as error:
        return Lookup("damaged", reason=str(error))
    old = record.fingerprint
    if old == fingerprint:
        return Lookup("finished", record)
    changed = sorted(k for k in set(old) | set(fingerprint) if old.get(k) != fingerprint.get(k))
    reasons = ["cache contents" if k == "cache" else k for k in changed]
    return Lookup("changed", record, ", ".join(reasons))


def claim_path(cells: Path, name: str) -> Path:
    """The claim file of cell ``name``."""
    return cells / f"{name}.claim"


def cost_path(cells: Path, stem: str) -> Path:
    """The cost profile file ``cost__STEM.json``."""
    return cells / f"cost__{stem}.json"


def stored_costs(cells: Path, say: Callable[[str], None]) -> list[CostRecord]:
    """Every readable cost profile in ``cells``; a damaged one is skipped with a log line
    (the next run profiles it again)."""
    found = []
    for path in sorted(cells.glob("cost__*.json")):
        try:
            found.append(read_cost(path))
        except RecordError as error:
            say(f"{path.name}: skipped: {error}")
    return found


def describe_claim(cells: Path, name: str) -> str:
    """Who holds the claim of cell ``name``, for log lines."""
    return claims.describe(claim_path(cells, name))
