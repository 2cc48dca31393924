"""The report's family of comparisons: one declared primary comparison per (cache, model),
every other comparison Holm-adjusted over the family of all the others (SPEC §8)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Family", "default_primary", "family_statement", "parse_primary"]


@dataclass(frozen=True)
class Family:
    """How the report's comparisons were adjusted for multiplicity.

    Attributes
    ----------
    primary : tuple of (str, str, str, str)
        ``(cache, model, baseline, other)`` of each declared primary comparison (at most
        one per cache and model), reported as is.
    size : int
        Number of non-primary comparisons, Holm-adjusted together over the whole report.
    statement : str
        The sentence the report prints about it.
    choice : str or None
        The user's ``A-B`` choice, or None for the default (``rgb`` against the first raw
        space named).
    """

    primary: tuple[tuple[str, str, str, str], ...]
    size: int
    statement: str
    choice: str | None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dictionary."""
        return {
            "primary": [list(p) for p in self.primary],
            "size": self.size,
            "statement": self.statement,
            "choice": self.choice,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Family:
        """Rebuild from :meth:`to_dict`'s output."""
        primary = data["primary"]
        assert isinstance(primary, list)
        size = data["size"]
        assert isinstance(size, int)
        choice = data["choice"]
        return cls(
            primary=tuple((str(a), str(b), str(c), str(d)) for a, b, c, d in primary),
            size=size,
            statement=str(data["statement"]),
            choice=None if choice is None else str(choice),
        )


def parse_primary(text: str, spaces: Sequence[str]) -> tuple[str, str]:
    """The ``(baseline, other)`` of a ``--primary A-B`` choice, checked against ``spaces``.

    Space names never contain ``-``, so ``A-B`` splits at its one hyphen. The order of A
    and B does not matter: a pair of spaces is compared in one direction only
    (:func:`~classifiers.report.comparisons`), and the pair is matched in either order.

    Parameters
    ----------
    text : str
        ``"A-B"``, e.g. ``"rgb-raw_packed"``.
    spaces : sequence of str
        The spaces of the comparison.

    Raises
    ------
    ValueError
        If ``text`` is not two names joined by ``-``, or a name is not in ``spaces``.

    Examples
    --------
    >>> parse_primary("rgb-raw_packed", ["rgb", "raw_packed"])
    ('rgb', 'raw_packed')
    >>> parse_primary("rgb-raw_bayer", ["rgb", "raw_packed"])
    Traceback (most recent call last):
    ...
    ValueError: primary: 'raw_bayer' is not one of the spaces rgb, raw_packed; got 'rgb-raw_bayer'
    """
    parts = text.split("-")
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise ValueError(f"primary must be two different spaces as A-B; got {text!r}")
    for name in parts:
        if name not in spaces:
            raise ValueError(
                f"primary: {name!r} is not one of the spaces {', '.join(spaces)}; got {text!r}"
            )
    return parts[0], parts[1]


def default_primary(spaces: Sequence[str]) -> tuple[str, str] | None:
    """``("rgb", first raw space named)``, or None without ``rgb`` or a raw space.

    Examples
    --------
    >>> default_primary(["raw_packed_aug", "rgb", "raw_bayer"])
    ('rgb', 'raw_packed_aug')
    >>> default_primary(["rgb", "rgb_aug"]) is None
    True
    """
    raw = [s for s in spaces if s.startswith("raw_")]
    return ("rgb", raw[0]) if "rgb" in spaces and raw else None


def family_statement(primary: Sequence[tuple[str, str, str, str]], size: int) -> str:
    """The report's sentence about its family of comparisons.

    Examples
    --------
    >>> family_statement([("c", "m", "rgb", "raw_packed")], 2)  # doctest: +NORMALIZE_WHITESPACE
    'Primary comparison (reported as is): c · m: raw_packed − rgb.
     Holm over 2 non-primary comparisons of the report (both p-values shown).'
    """
    if primary:
        named = "; ".join(f"{c} · {m}: {o} − {b}" for c, m, b, o in primary)
        head = f"Primary comparison{'s' * (len(primary) > 1)} (reported as is): {named}. "
    else:
        head = "No primary comparison was declared. "
    noun = "comparison" if size == 1 else "comparisons"
    return head + f"Holm over {size} non-primary {noun} of the report (both p-values shown)."
