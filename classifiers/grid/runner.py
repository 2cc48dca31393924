"""The runner: drives the cells of a comparison through the store and the task, and the
log ``OUT/log.txt``.

A later run reuses a cell whose stored fingerprint matches the plan and retrains one
whose fingerprint differs or whose files are damaged, saying why. ``shard=(K, N)``
trains only shard K's cells; a cell is claimed before training
(:mod:`classifiers.grid.claims`), so two processes never train the same cell. Under
``torchrun`` (``WORLD_SIZE`` > 1) every cell trains over all the processes
(:mod:`classifiers.distributed`); rank 0 alone writes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rawspace import CameraParams
from rawspace.cache import CacheReader
from rawspace.files import WriteError

from .. import data, distributed, report
from ..spaces import Space
from ..train import DeviceUnavailableError, device_name, resolve_device
from . import claims, costs, shift, store
from .checks import check_config
from .config import CompareConfig, CompareError
from .plan import Cell, Plan, fingerprint, plan_cells, read_plan, shard_cells
from .record import write_cell
from .task import CellContext, train_cell

__all__ = ["run", "write_report"]

Log = Callable[[str], None]


def _logger(out: Path, log: Log | None, *, enabled: bool) -> Log:
    """Append lines to ``OUT/log.txt`` (names that are not UTF-8 written back as their
    bytes) and pass them to ``log``; :class:`~rawspace.files.WriteError` when it fails."""
    path = out / "log.txt"

    def say(line: str) -> None:
        if not enabled:
            return
        try:
            with open(path, "a", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(line + "\n")
        except OSError as error:
            raise WriteError(error.errno, error.strerror, str(path)) from None
        if log is not None:
            log(line)

    return say


def _check_writable(out: Path) -> None:
    """``OUT`` and ``OUT/cells`` exist and take new files, checked before any training;
    else :class:`~rawspace.files.WriteError` naming the folder."""
    for folder in (out, out / "cells"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise WriteError(error.errno, error.strerror, str(folder)) from None


def _device(name: str) -> torch.device:
    try:
        return resolve_device(name)
    except (ValueError, DeviceUnavailableError) as error:
        raise CompareError(str(error)) from error


def _claim(
    cells: Path, name: str, group: distributed.Group, *, reclaim: bool, timeout_s: float
) -> claims.Claim | bool | None:
    """Rank 0 claims the cell and tells the others: a Claim (rank 0), True (other ranks:
    train it) or None (another process holds it)."""
    held = None
    if group.is_main:
        held = claims.claim(store.claim_path(cells, name), timeout_s=timeout_s, reclaim=reclaim)
    if not group.parallel:
        return held
    granted = group.broadcast(held is not None)
    return held if group.is_main else (True if granted else None)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


@dataclass
class _Progress:
    """Which cell of this process's N comes next, the time spent and the time left,
    estimated from the expected costs of the cells trained so far."""

    cells: Sequence[Cell]
    start: float = field(default_factory=time.perf_counter)
    index: int = 0
    spent_cost: float = 0.0
    left_cost: float = 0.0

    def __post_init__(self) -> None:
        self.left_cost = sum(cell.cost for cell in self.cells)

    def begin(self, cell: Cell) -> str:
        """The log line of the next cell, ``cell i/N: KEY (elapsed …, ETA …)``."""
        self.index += 1
        elapsed = time.perf_counter() - self.start
        eta = _clock(elapsed / self.spent_cost * self.left_cost) if self.spent_cost else "—"
        return (
            f"cell {self.index}/{len(self.cells)}: {cell.key.name} "
            f"(elapsed {_clock(elapsed)}, ETA {eta})"
        )

    def end(self, cell: Cell, *, trained: bool) -> None:
        """``cell`` is done: trained here, or finished earlier or elsewhere."""
        self.left_cost -= cell.cost
        if trained:
            self.spent_cost += cell.cost


def _rescale_warnings(
    config: CompareConfig, chosen: Sequence[Space], readers: Mapping[str, CacheReader]
) -> list[str]:
    """A warning for each (cache, space) whose model input is the cache's images resized
    by more than 2× either way."""
    lines = []
    for name, reader in readers.items():
        for space in chosen:
            native = space.input_shape(height=reader.size, width=reader.size, input_size=None)
            shape = space.input_shape(
                height=reader.size, width=reader.size, input_size=config.input_size
            )
            factor = shape[1] / native[1]
            if factor > 2 or factor < 0.5:
                lines.append(
                    f"warning: --input-size {config.input_size} resizes {name}/{space.name} "
                    f"from {native[1]}×{native[2]} to {shape[1]}×{shape[2]} ({factor:.2g}×); "
                    "--input-size 0 keeps the cache's size"
                )
    return lines


def _by_data(cells: Sequence[Cell]) -> dict[tuple[str, str], list[Cell]]:
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.key.cache, cell.space.name), []).append(cell)
    return groups


def _train_group(
    members: Sequence[Cell],
    config: CompareConfig,
    reader: CacheReader,
    device: torch.device,
    group: distributed.Group,
    cameras: Sequence[tuple[str, CameraParams]],
    prints: Mapping[str, Mapping[str, Any]],
    say: Log,
    progress: _Progress,
    *,
    reclaim: bool,
    timeout_s: float,
) -> None:
    """Train the unfinished cells of one (cache, space), loading its samples once."""
    folder = Path(config.out) / "cells"
    samples: data.ResidentSamples | data.StreamedSamples | None = None
    for cell in members:
        name = cell.key.name
        say(progress.begin(cell))
        found = store.look_up(folder, name, prints[name])
        if found.state != "missing":
            say(found.log_line(name))
        if found.state == "finished":
            progress.end(cell, trained=False)
            continue
        held = _claim(folder, name, group, reclaim=reclaim, timeout_s=timeout_s)
        if held is None:
            say(f"{name}: {store.describe_claim(folder, name)}; skipped")
            progress.end(cell, trained=False)
            continue
        progress_done = False
        try:
            if samples is None:
                samples = data.load(
                    reader, cell.space,
                    rows=np.concatenate([reader.train.rows, reader.test.rows]),
                    device=device, input_size=config.input_size, workers=config.workers,
                )  # fmt: skip
                kind = "resident on the device" if samples.resident else "streamed (DataLoader)"
                say(f"{cell.key.cache}/{cell.space.name}: samples {kind}")
            context = CellContext(
                config, reader, samples, device, group, cameras, say,
                heartbeat=held.touch if isinstance(held, claims.Claim) else lambda: None,
            )  # fmt: skip
            record, predictions = train_cell(cell, context, prints[name])
            if group.is_main:
                write_cell(folder, record, predictions)
            progress_done = True
        finally:
            progress.end(cell, trained=progress_done)
            if isinstance(held, claims.Claim):
                held.release()


def run(
    config: CompareConfig,
    *,
    shard: tuple[int, int] | None = None,
    reclaim: bool = False,
    claim_timeout_s: float = 2 * 3600.0,
    log: Log | None = None,
) -> report.Results | None:
    """Train this process's cells of the grid; without ``shard``, then write the report.

    Parameters
    ----------
    shard : (int, int), optional
        Train only the cells of shard K of N (:func:`~classifiers.grid.shard_cells`); the
        report is left to :func:`write_report` (or a final run without ``shard``).
    reclaim : bool
        Take over the claims of other processes (they are known to be gone).
    claim_timeout_s : float
        A claim whose holder has not shown a sign of life for this long is taken over.
    log : callable, optional
        Receives progress lines (they also go to ``OUT/log.txt``).

    Returns
    -------
    classifiers.report.Results or None
        What ``results.json`` holds; None for a shard.

    Raises
    ------
    CompareError
        Bad input, detected before any training.
    rawspace.files.WriteError
        An output cannot be written (``OUT`` and ``OUT/cells`` are checked before any
        training).
    classifiers.models.WeightsUnavailableError
        ImageNet weights neither cached nor downloadable.
    """
    readers, chosen = check_config(config)
    cameras = {name: shift.test_cameras(config, reader) for name, reader in readers.items()}
    device = _device(config.device)
    group = distributed.from_environment(device)
    if group.parallel and device.type == "cuda":
        device = torch.device("cuda", torch.cuda.current_device())
    out = Path(config.out)
    cells = plan_cells(config, chosen, readers)
    contents = {name: reader.fingerprint() for name, reader in readers.items()}
    prints = {
        cell.key.name: fingerprint(config, cell, contents[cell.key.cache], cameras[cell.key.cache])
        for cell in cells
    }
    say = _logger(out, log, enabled=group.is_main)
    if group.is_main:
        _check_writable(out)
        Plan(config, prints).write(out)
    if shard is not None:
        assignment = shard_cells([cell.cost for cell in cells], shard[1])
        cells = [cell for cell, k in zip(cells, assignment, strict=True) if k == shard[0]]
    where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    processes = f" × {group.world_size} processes" if group.parallel else ""
    say(f"rawspace compare on {device_name(device)}{processes}: {len(cells)} cells{where}")
    for line in _rescale_warnings(config, chosen, readers):
        say(line)
    progress = _Progress(cells)
    for members in _by_data(cells).values():
        _train_group(members, config, readers[members[0].key.cache], device, group,
                     cameras[members[0].key.cache], prints, say, progress, reclaim=reclaim,
                     timeout_s=claim_timeout_s)  # fmt: skip
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if group.is_main:
        costs.profile_cells(config, cells, readers, device, say)
    group.wait()
    results = write_report(out, log=log) if shard is None and group.is_main else None
    group.close()
    return results


def write_report(
    out: str | os.PathLike[str],
    *,
    log: Log | None = None,
    primary: str | None = None,
    margin: float | None = None,
) -> report.Results:
    """Assemble ``results.json``, ``.csv``, ``.md`` and the figures from the finished cells.

    Reads ``OUT/plan.json`` (written by :func:`run`); a planned cell whose files are
    missing or damaged is listed as missing, and a cell whose fingerprint differs from the
    plan (made with other settings, or from another cache) is refused and listed.

    ``primary`` (``"A-B"``) and ``margin`` (points) override the plan's report options
    (:class:`~classifiers.grid.config.CompareConfig`); they retrain nothing.

    Returns
    -------
    classifiers.report.Results
        What ``results.json`` holds.

    Raises
    ------
    CompareError
        ``OUT/plan.json`` is missing or unreadable, or no planned cell is finished.
    """
    out = Path(out)
    say = _logger(out, log, enabled=True)
    plan = read_plan(out)
    finished, missing, refused = [], [], []
    for name, planned in plan.cells.items():
        found = store.look_up(out / "cells", name, planned)
        if found.state == "finished" and found.record is not None:
            finished.append(found.record)
        elif found.state == "changed":
            refused.append(name)
        else:
            if found.state == "damaged":
                say(f"{name}: counted as not finished: the stored result is damaged "
                    f"({found.reason})")  # fmt: skip
            missing.append(name)
    if not finished:
        raise CompareError(f"{out}: none of the {len(plan.cells)} planned cells is finished")
    if missing or refused:
        say(f"report: {len(missing)} cell(s) missing, {len(refused)} refused")
    results = report.assemble(
        out,
        config=plan.config,
        cells=finished,
        costs=store.stored_costs(out / "cells", say),
        missing=missing,
        refused=refused,
        primary=plan.config.primary if primary is None else primary,
        margin=plan.config.margin if margin is None else margin,
    )
    report.write(out, results)
    say(f"wrote {out / 'results.md'}")
    return results
