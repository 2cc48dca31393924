"""Claims on cells of a comparison, so that processes sharing an output folder never train
the same cell twice.

A claim is a small JSON file ``OUT/cells/KEY.claim`` (host, process id, start time)
created with ``O_CREAT | O_EXCL``, which is atomic on local file systems and on NFS
(v3 and later): of two processes claiming a cell at once, exactly one succeeds. The
holder touches the file while it trains (a heartbeat) and removes it when the cell is
finished. A claim is *stale* when its process is known to be dead (same host, no such
process) or its heartbeat is older than a timeout; a stale claim — or any claim, with
``reclaim`` — is taken over by renaming it away first (only one process can rename a
file), then claiming afresh.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Claim", "claim", "describe"]


@dataclass(frozen=True)
class Claim:
    """A cell claimed by this process; :meth:`touch` while working, :meth:`release` when done."""

    path: Path

    def touch(self) -> None:
        """Refresh the heartbeat (the file's modification time)."""
        try:
            os.utime(self.path)
        except FileNotFoundError:
            pass  # taken over with reclaim: the new holder owns the cell now

    def release(self) -> None:
        """Remove the claim (the cell is finished, or given up)."""
        try:
            if json.loads(self.path.read_text(encoding="utf-8")).get("token") == self._token:
                self.path.unlink()
        except (FileNotFoundError, ValueError):
            pass

    @property
    def _token(self) -> str:
        return self.path.name + f"@{socket.gethostname()}:{os.getpid()}"


def _record(path: Path) -> dict[str, object]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _dead(record: dict[str, object]) -> bool:
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


def describe(path: Path) -> str:
    """Who holds the claim at ``path``, for log lines."""
    record = _record(path)
    age = time.time() - path.stat().st_mtime if path.exists() else float("nan")
    return (
        f"claimed by {record.get('host', '?')}:{record.get('pid', '?')} since "
        f"{record.get('started', '?')} (last heartbeat {age:.0f} s ago)"
    )


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
    token = path.name + f"@{socket.gethostname()}:{os.getpid()}"
    record = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "token": token,
    }
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            existing = _record(path)
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                continue  # released meanwhile: try again
            if not (reclaim or _dead(existing) or age > timeout_s):
                return None
            stale = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}")
            try:  # only one of several processes taking over can rename it away
                os.rename(path, stale)
            except FileNotFoundError:
                return None
            stale.unlink()
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f)
        return Claim(path)
    return None
