"""Claims on cells of a comparison, so that processes sharing an output folder never train
the same cell twice.

A claim is a small JSON file ``OUT/cells/KEY.claim`` (host, process id, start time and a
token of its own). It is written completely under a temporary name and then *linked* to
``KEY.claim`` — ``link`` fails when the name exists, atomically on local file systems
and on NFS — so of two processes claiming a cell at once exactly one succeeds, and a
claim file is never seen half written. The holder touches the file while it trains (a
heartbeat) and removes it when the cell is finished.

A claim is *stale* when its process is known to be dead (same host, no such process),
its heartbeat is older than a timeout, or it is empty or unreadable (a claim is never
written in place, so such a file is damage, taken over at once). A stale claim — or any
claim, with ``reclaim`` — is taken over under an exclusive ``flock`` on ``KEY.claim-lock``:
the process holding it reads the claim again, removes it only if it is still the stale
one, and links its own; a second process taking over waits for the lock, then finds a
fresh claim and leaves it. Exactly one process wins in any interleaving.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Claim", "claim", "describe"]


@dataclass(frozen=True)
class Claim:
    """A cell claimed by this process; :meth:`touch` while working, :meth:`release` when done.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> held = claim(folder / "cell.claim", timeout_s=60)
    >>> claim(folder / "cell.claim", timeout_s=60) is None  # a live claim is respected
    True
    >>> held.release()
    >>> claim(folder / "cell.claim", timeout_s=60) is not None
    True
    """

    path: Path
    token: str

    def touch(self) -> None:
        """Refresh the heartbeat (the file's modification time) while the claim is ours."""
        if _record(self.path).get("token") == self.token:
            with contextlib.suppress(FileNotFoundError):
                os.utime(self.path)

    def release(self) -> None:
        """Remove the claim (the cell is finished, or given up), if it is still ours."""
        with _guard(self.path):
            if _record(self.path).get("token") == self.token:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()


def _record(path: Path) -> dict[str, Any]:
    """The claim's content; {} when it is missing, empty or not a JSON object."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _dead(record: dict[str, Any]) -> bool:
    """Whether the claiming process is known to be gone (it ran on this host)."""
    if record.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(str(record.get("pid", -1))), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


@contextlib.contextmanager
def _guard(path: Path) -> Iterator[None]:
    """An exclusive flock on ``KEY.claim-lock`` for the duration of the block."""
    fd = os.open(path.with_name(f"{path.name}-lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _create(path: Path, record: dict[str, Any]) -> bool:
    """Link a completely written claim to ``path``; False when ``path`` exists."""
    temporary = path.with_name(f".{path.name}.{record['token']}")
    temporary.write_text(json.dumps(record), encoding="utf-8")
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink()
    return True


def describe(path: Path) -> str:
    """Who holds the claim at ``path``, for log lines."""
    record = _record(path)
    try:
        age = f"{time.time() - path.stat().st_mtime:.0f} s ago"
    except FileNotFoundError:
        age = "—"
    return (
        f"claimed by {record.get('host', '?')}:{record.get('pid', '?')} since "
        f"{record.get('started', '?')} (last heartbeat {age})"
    )


def _stale(path: Path, *, timeout_s: float, reclaim: bool) -> bool | None:
    """Whether the claim at ``path`` may be taken over; None when it is gone."""
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
    existing = _record(path)
    return reclaim or not existing or _dead(existing) or age > timeout_s


def claim(path: Path, *, timeout_s: float, reclaim: bool = False) -> Claim | None:
    """Claim the cell whose claim file is ``path``; None when another live process holds it.

    Parameters
    ----------
    path : pathlib.Path
        ``OUT/cells/KEY.claim``; its folder must exist.
    timeout_s : float
        A claim whose heartbeat is older than this is stale.
    reclaim : bool
        Take over any existing claim (its holders are known to be gone).
    """
    token = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"
    record = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "token": token,
    }
    if _create(path, record):
        return Claim(path, token)
    with _guard(path):
        stale = _stale(path, timeout_s=timeout_s, reclaim=reclaim)
        if stale is False:
            return None
        if stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return Claim(path, token) if _create(path, record) else None
