"""The report's statistics from saved cells: the Holm family and the primary comparison,
row intervals and the near-chance flag, per-class Wilson intervals, calibration, the
camera-shift table with one paired run per run, the cost conventions and the figures —
each recomputed here with numpy, scipy and statsmodels from the stored predictions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from classifiers import report
from classifiers.grid import record
from classifiers.grid.plan import read_plan
from classifiers.grid.store import stored_costs
from classifiers.stats import INTERVAL_RULE

FAST = ["--batch-size", "8", "--input-size", "32", "--device", "cpu", "-q", "--epochs", "1"]
SPACES = ("rgb", "raw_packed", "raw_packed_aug")
RESAMPLES = 2000


def _cells(out: Path) -> list[record.CellRecord]:
    names = sorted(p.stem for p in (out / "cells").glob("*.json") if "__fold" in p.stem)
    return [record.read_cell(out / "cells", name) for name in names]


def _rewrite(out: Path, cells: list[record.CellRecord]) -> dict[str, np.ndarray]:
    """Replace every cell's predictions with chosen ones: rgb always guesses class 0 (near
    chance), raw_packed is right on all but one image per run, raw_packed_aug is
    raw_packed; on the unseen cameras the raw models lose a run-dependent set of images.
    Returns the correctness (runs, [cameras,] n) of each space."""
    correct: dict[str, list[np.ndarray]] = {}
    for cell in sorted(cells, key=lambda c: (c.key.space, c.key.run)):
        stored = record.read_predictions(out / "cells", cell)
        labels, k = stored.labels, stored.probabilities.shape[1]
        n, run = labels.size, cell.key.fold
        if cell.key.space == "rgb":
            predicted = np.zeros(n, dtype=np.int64)
        else:
            predicted = labels.copy()
            predicted[run % n] = (labels[run % n] + 1) % k
        probabilities = np.full((n, k), 0.1 / (k - 1), np.float32)
        probabilities[np.arange(n), predicted] = 0.9
        shifted = None
        if stored.camera_probabilities is not None:
            shifted = np.repeat(probabilities[None], stored.camera_probabilities.shape[0], 0)
            for cam in range(shifted.shape[0]):
                wrong = (run + cam + 1) % n
                shifted[cam, wrong] = np.roll(shifted[cam, wrong], 1)
            correct.setdefault(f"{cell.key.space}@cams", []).append(shifted.argmax(-1) == labels)
        record.write_cell(out / "cells", cell, record.Predictions(labels, probabilities, shifted))
        correct.setdefault(cell.key.space, []).append(predicted == labels)
    return {space: np.stack(v) for space, v in correct.items()}


def _tiny_create(name: str, *, num_classes: int, in_channels: int = 3, **options: object):
    """A four-filter network in place of any model."""
    from torch import nn

    layers = [nn.Conv2d(in_channels, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1)]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(4, num_classes))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """One finished three-fold comparison of three spaces with two unseen cameras (a tiny
    network on a 27-image cache of three tinted classes), made once for the module."""
    import argparse

    import rawspace.cache
    from classifiers import compare
    from rawspace.cli import compare as command
    from rawspace.images import write_png

    root = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(0)
    tints = np.array([[0.9, 0.4, 0.5], [0.5, 0.8, 0.4], [0.4, 0.5, 0.9]])
    for k, name in enumerate(("BAS", "EOS", "LYT")):
        (root / "images" / name).mkdir(parents=True)
        for i in range(9):
            image = np.clip(rng.uniform(0.2, 0.8, (32, 32, 1)) * tints[k], 0, 1)
            write_png(root / "images" / name / f"{i}.png", np.round(image * 255).astype(np.uint8))
    cache = root / "rep.h5"
    rawspace.cache.build(root / "images", cache, layout="bayer", seed=0, size=32,
                         test_fraction=2 / 9, folds=3)  # fmt: skip
    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    argv = [str(cache), "--spaces", ",".join(SPACES), "--folds", "3", "--test-cameras", "2"]
    args = parser.parse_args(["compare", *argv, *FAST, "--out", str(root / "out")])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compare.models, "create", _tiny_create)
        assert args.func(args) == 0
    return root / "out"


@pytest.fixture
def saved(finished, tmp_path):
    """A copy of the finished comparison, its predictions replaced by chosen ones."""
    out = tmp_path / "out"
    shutil.copytree(finished, out)
    cells = _cells(out)
    correct = _rewrite(out, cells)
    labels = record.read_predictions(out / "cells", cells[0]).labels
    return out, cells, correct, labels


def _assemble(out: Path, cells: list[record.CellRecord], **options: object) -> report.Results:
    return report.assemble(
        out, config=read_plan(out).config, cells=cells,
        costs=stored_costs(out / "cells", lambda line: None), n_resamples=RESAMPLES,
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_report_shows_every_new_figure_from_the_saved_cells(saved) -> None:
    out, cells, correct, labels = saved
    results = _assemble(out, cells, margin=1.0)
    report.write(out, results)
    data = json.loads((out / "results.json").read_text())
    assert data["schema_version"] == report.RESULTS_SCHEMA_VERSION == 2
    rows = {r["space"]: r for r in data["rows"]}
    n, k = labels.size, int(labels.max()) + 1
    majority = np.bincount(labels).max() / n
    for space, row in rows.items():
        ci = row["accuracy_ci"]
        assert ci["accuracy"] == pytest.approx(correct[space].mean())
        assert ci["method"] == "two-way bootstrap" and ci["n_runs"] == 3
        assert ci["majority_rate"] == pytest.approx(majority)
        assert ci["near_chance"] == (ci["low"] <= majority)
        for s in row["sensitivity"]:  # Wilson over the class's images, runs averaged
            members = labels == s["label"]
            hits = correct[space][:, members].mean(0).sum()
            assert s["n_test"] == members.sum() and s["name"] == row["class_names"][s["label"]]
            low, high = proportion_confint(hits, members.sum(), alpha=0.05, method="wilson")
            assert (s["low"], s["high"]) == pytest.approx((low, high))
        # every prediction has confidence 0.9: one bin, ECE = |accuracy − 0.9|
        assert row["calibration"]["ece"] == pytest.approx(abs(correct[space].mean() - 0.9))
        assert sum(row["calibration"]["bin_count"]) == 3 * n
        assert len(row["calibration"]["bin_count"]) == 15
    assert rows["rgb"]["accuracy_ci"]["near_chance"]  # always class 0: a third right
    assert not rows["raw_packed"]["accuracy_ci"]["near_chance"]
    assert k == 3
    markdown = (out / "results.md").read_text()
    assert "**near chance**" in markdown and INTERVAL_RULE in markdown
    for c in data["comparisons"]:
        assert c["sentence_accuracy"] in markdown and c["sentence_macro_f1"] in markdown
        if "rgb" in (c["baseline"], c["other"]):
            assert (
                c["verdict_accuracy"] == "near_chance"
                and "tells nothing" in (c["sentence_accuracy"])
            )
    same = next(c for c in data["comparisons"] if c["other"] == "raw_packed_aug"
                and c["baseline"] == "raw_packed")  # fmt: skip
    assert same["accuracy"]["estimate"] == 0 and same["p_value"] == 1.0
    assert same["accuracy"]["low"] <= 0 <= same["accuracy"]["high"]
    assert same["non_inferior_accuracy"] is True  # CI [0, 0] > −1 point
    assert (
        "non-inferior (1)" in markdown and "## Per-class sensitivity (95 % Wilson CI)" in markdown
    )
    for figure in [*data["figures"].values(), *(f for r in data["rows"] for f in
                                                r["figures"].values())]:  # fmt: skip
        assert (out / figure).read_bytes()[:4] == b"\x89PNG"
    assert set(data["figures"]) == {"forest", "camera_shift"}
    train = cells[0].fingerprint["train"]
    assert (
        f"- Weights and recipe of resnet50: weights none (random initialisation); AdamW, peak "
        f"learning rate {train['lr']:g}, weight decay {train['weight_decay']:g}"
    ) in markdown


def test_one_primary_per_model_and_holm_over_the_others(saved) -> None:
    out, cells, _, _ = saved
    results = _assemble(out, cells)
    found = {(c.result.baseline, c.result.other): c.result for c in results.comparisons}
    assert set(found) == {("rgb", "raw_packed"), ("raw_packed", "raw_packed_aug"),
                          ("rgb", "raw_packed_aug")}  # fmt: skip
    assert found["rgb", "raw_packed"].primary and found["rgb", "raw_packed"].p_holm is None
    others = [c for c in found.values() if not c.primary]
    expected = multipletests([c.p_value for c in others], method="holm")[1]
    assert [c.p_holm for c in others] == pytest.approx(expected)
    assert {c.family_size for c in found.values()} == {2} and results.family.size == 2
    assert "Holm over 2 non-primary comparisons" in results.family.statement
    assert results.family.statement in "\n".join(results.method)
    chosen = _assemble(out, cells, primary="raw_packed_aug-raw_packed")
    primary = [c.result for c in chosen.comparisons if c.result.primary]
    assert [(c.baseline, c.other) for c in primary] == [("raw_packed", "raw_packed_aug")]
    assert chosen.family.primary == (("rep", "resnet50", "raw_packed", "raw_packed_aug"),)
    with pytest.raises(ValueError, match="primary: 'raw_bayer' is not one of the spaces"):
        _assemble(out, cells, primary="rgb-raw_bayer")
    with pytest.raises(ValueError, match="margin must be > 0"):
        _assemble(out, cells, margin=-1.0)


def test_the_camera_shift_table_has_one_paired_run_per_run(saved) -> None:
    out, cells, correct, _ = saved
    results = _assemble(out, cells)
    shift = results.camera_shift
    raw_cell = next(c for c in cells if c.key.space == "raw_packed")
    assert shift is not None and shift.cameras == raw_cell.test_cameras
    assert len(shift.cameras) == 2
    found = {(c.result.baseline, c.result.other): c for c in shift.comparisons}
    against_rgb = found["rgb", "raw_packed"]
    assert against_rgb.result.n_runs == 3  # three runs, not three runs × two cameras
    expected = correct["raw_packed@cams"].mean(axis=(1, 2)) - correct["rgb"].mean(axis=1)
    assert against_rgb.result.delta_accuracy == pytest.approx(expected)
    assert "sRGB" in against_rgb.baseline_cameras and shift.cameras[1] in against_rgb.other_cameras
    raw_raw = found["raw_packed", "raw_packed_aug"].result
    assert raw_raw.n_runs == 3 and raw_raw.accuracy.estimate == 0
    expected_holm = multipletests(
        [c.result.accuracy.p_value for c in shift.comparisons], method="holm"
    )[1]
    assert [c.p_holm for c in shift.comparisons] == pytest.approx(expected_holm)
    rows = {e.space: e for e in shift.rows}
    assert rows["rgb"].unseen_cameras == ()
    assert rows["raw_packed"].unseen_cameras == shift.cameras
    report.write(out, results)
    markdown = (out / "results.md").read_text()
    assert "| paired runs |" in markdown.replace("paired runs | Δ Acc", "paired runs |")
    assert against_rgb.result.sentence() in markdown


def test_the_cost_table_names_each_convention(saved) -> None:
    out, cells, _, _ = saved
    results = _assemble(out, cells)
    report.write(out, results)
    markdown = (out / "results.md").read_text()
    for column in ("GMACs", "FLOPs G (ptflops)", "params M (1000-class head)",
                   "params M (1000-class head kept)", "GPU MiB (no weights)",
                   "GPU MiB (with weights)"):  # fmt: skip
        assert f" {column} |" in markdown
    cost = results.cost[0].report
    line = next(
        x for x in markdown.splitlines() if x.startswith(f"| resnet50 | {results.cost[0].space} |")
    )
    assert f"| {cost.gmacs:.3f} |" in line and f"| {cost.params_m:.2f} |" in line
    assert f"| {cost.flops_g:.3f} |" in line and f"| {cost.params_1000_m:.2f} |" in line
    assert f"| {cost.params_1000_m:.2f} | {cost.params_kept_m:.2f} |" in line
    csv_head = (out / "results.csv").read_text().splitlines()[0].split(",")
    assert {
        "flops_g",
        "params_1000_m",
        "params_kept_m",
        "peak_mem_with_weights_mb",
        "ece",
        "near_chance",
    } <= set(csv_head)


def test_one_run_gives_wilson_rows_and_no_verdict_about_the_spaces(saved) -> None:
    out, cells, correct, labels = saved
    results = _assemble(out, [c for c in cells if c.key.fold == 0])
    rows = {r.space: r for r in results.rows}
    ci = rows["raw_packed"].accuracy_ci
    assert ci is not None and ci.method == "Wilson" and ci.n_runs == 1
    hits = int(correct["raw_packed"][0].sum())
    assert (ci.low, ci.high) == pytest.approx(
        proportion_confint(hits, labels.size, alpha=0.05, method="wilson")
    )
    same = next(c.result for c in results.comparisons if c.result.baseline == "raw_packed")
    assert same.verdict() == "too_few_runs" and "these trained models only" in same.sentence()
    assert results.camera_shift is not None
    assert {c.result.n_runs for c in results.camera_shift.comparisons} == {1}
