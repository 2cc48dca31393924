"""Shards: splitting a batch of work over processes that share nothing but a folder.

A shard is named ``K/N`` (1 ≤ K ≤ N): the K-th of N parts. :func:`parse_shard` reads
that, or ``auto`` inside a SLURM array job, where K is the task's place in the array
and N the array's size; ``rawspace build --shard`` and ``rawspace compare --shard``
both take it. :func:`shard_of` says which shard an image of a dataset belongs to.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping

from .files import name_bytes

__all__ = ["SLURM_ARRAY", "parse_shard", "shard_of"]

#: The environment variables of a SLURM array task that ``auto`` reads.
SLURM_ARRAY = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT")


def parse_shard(text: str, environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``"K/N"`` (1 ≤ K ≤ N) or ``"auto"`` → ``(K, N)``.

    ``auto`` reads SLURM's array variables: K = ``SLURM_ARRAY_TASK_ID`` −
    ``SLURM_ARRAY_TASK_MIN`` + 1 and N = ``SLURM_ARRAY_TASK_COUNT``.

    Parameters
    ----------
    text : str
        The shard, as given on the command line.
    environ : mapping, optional
        Where to read SLURM's variables (default: ``os.environ``).

    Raises
    ------
    ValueError
        ``text`` is neither form, K is outside 1..N, or ``auto`` outside a SLURM
        array job; the message says which.

    Examples
    --------
    >>> parse_shard("2/8")
    (2, 8)
    >>> parse_shard("auto", {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1",
    ...                      "SLURM_ARRAY_TASK_COUNT": "8"})
    (5, 8)
    """
    environ = os.environ if environ is None else environ
    if text == "auto":
        missing = [name for name in SLURM_ARRAY if name not in environ]
        if missing:
            raise ValueError(
                f"--shard auto needs a SLURM array job; {', '.join(missing)} not set "
                "(use --shard K/N outside SLURM)"
            )
        try:
            task, first, count = (int(environ[name]) for name in SLURM_ARRAY)
        except ValueError:
            raise ValueError("--shard auto: SLURM's array variables are not integers") from None
        k, n = task - first + 1, count
    else:
        match = re.fullmatch(r"(\d+)/(\d+)", text.strip()) if isinstance(text, str) else None
        if not match:
            raise ValueError(f"--shard must be K/N (e.g. 2/8) or auto; got {text!r}")
        k, n = int(match[1]), int(match[2])
    if not 1 <= k <= n:
        raise ValueError(f"--shard K/N needs 1 ≤ K ≤ N; got {k}/{n}")
    return k, n


def shard_of(relpath: str, shards: int) -> int:
    """The shard (1 to ``shards``) of an image: a stable hash of its relative path.

    SHA-256 of the UTF-8 path (a file name's bytes that are not UTF-8 as they are,
    see :func:`rawspace.files.name_bytes`), its first 8 bytes as a big-endian
    integer, modulo ``shards``, plus 1. The same everywhere and independent of the
    seed.

    Examples
    --------
    >>> [shard_of(name, 3) for name in ("a/1.png", "a/2.png", "b/3.png")]
    [1, 1, 2]
    """
    digest = hashlib.sha256(name_bytes(relpath)).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1
