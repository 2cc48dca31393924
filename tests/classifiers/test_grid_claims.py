"""Claims on cells: one holder in any interleaving of two take-overs, and damaged claims."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from classifiers.grid import claims


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


DEAD = _dead_pid()


def _stale_claim(path: Path) -> None:
    path.write_text(json.dumps({"host": socket.gethostname(), "pid": DEAD, "started": "then"}))


def _race(path: Path, monkeypatch, *, interrupted: str, inner: str) -> dict:
    """Two take-overs of the stale claim at ``path``: the contender reaching the removal
    first is held there while the other runs, before or after the removal (``inner``)."""
    real = {"unlink": os.unlink, "rename": os.rename}
    results: dict[str, claims.Claim | None] = {}
    state = {"armed": True}
    threads: list[threading.Thread] = []

    def contender(name: str) -> None:
        results[name] = claims.claim(path, timeout_s=3600)

    def intercept(kind: str):
        def removal(source, *args, **kwargs):
            if state["armed"] and Path(source) == path:
                state["armed"] = False
                other = threading.Thread(target=contender, args=("inner",))
                threads.append(other)
                if inner == "after":
                    real[kind](source, *args, **kwargs)
                other.start()
                other.join(timeout=0.05)  # runs to its end, or waits for the lock
                if inner == "after":
                    return None
            return real[kind](source, *args, **kwargs)

        return removal

    monkeypatch.setattr(claims.os, "unlink", intercept("unlink"))
    monkeypatch.setattr(claims.os, "rename", intercept("rename"))
    if interrupted == "first":
        contender("outer")
    else:  # the second process started is the one that reaches the removal first
        first = threading.Thread(target=contender, args=("outer",))
        first.start()
        first.join()
    for thread in threads:
        thread.join(timeout=10)
    monkeypatch.undo()
    return results


@pytest.mark.parametrize("inner", ["before", "after"])
@pytest.mark.parametrize("interrupted", ["first", "second"])
def test_two_take_overs_of_one_stale_claim_have_one_winner(
    tmp_path, monkeypatch, interrupted, inner
) -> None:
    """Contender X reaches the removal of the stale claim (``os.unlink`` now, ``os.rename``
    before) and is held there while contender Y runs — before or after the removal —
    then both finish: exactly one holds the cell, and the claim file is the winner's.
    The contender interrupted is the first or the second one started; 100 times each."""
    for attempt in range(100):
        path = tmp_path / f"cell{attempt}.claim"
        _stale_claim(path)
        results = _race(path, monkeypatch, interrupted=interrupted, inner=inner)
        winners = [k for k, v in results.items() if v is not None]
        assert len(winners) == 1, (attempt, results)
        held = results[winners[0]]
        assert held is not None
        assert json.loads(path.read_text())["token"] == held.token


def test_an_empty_or_unreadable_claim_is_taken_over_at_once(tmp_path) -> None:
    empty = tmp_path / "empty.claim"
    empty.touch()
    assert claims.claim(empty, timeout_s=3600) is not None
    garbage = tmp_path / "garbage.claim"
    garbage.write_bytes(b"\xff\x00[")
    assert claims.claim(garbage, timeout_s=3600) is not None
    assert "claimed by" in claims.describe(garbage)


def test_a_live_claim_is_kept_and_a_release_removes_only_its_own(tmp_path) -> None:
    path = tmp_path / "cell.claim"
    first = claims.claim(path, timeout_s=3600)
    assert first is not None and claims.claim(path, timeout_s=3600) is None
    second = claims.claim(path, timeout_s=3600, reclaim=True)
    assert second is not None and second.token != first.token
    first.release()  # taken over: the new holder's claim stays
    assert json.loads(path.read_text())["token"] == second.token
    second.release()
    assert not path.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def test_a_claim_is_never_seen_half_written(tmp_path, monkeypatch) -> None:
    """The claim's name appears only once its content is complete (link, not write)."""
    seen = []
    real_link = os.link

    def link(source, target, *args, **kwargs):
        seen.append(json.loads(Path(source).read_text()))
        return real_link(source, target, *args, **kwargs)

    monkeypatch.setattr(claims.os, "link", link)
    held = claims.claim(tmp_path / "cell.claim", timeout_s=60)
    assert held is not None and seen[0]["token"] == held.token and seen[0]["pid"] == os.getpid()
