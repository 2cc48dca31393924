"""``rawspace compare`` tells: every default in ``--help``, the model names, ``--out`` or
``--report`` required, a warning when the input is resized by more than 2×, and
``cell i/N`` with the elapsed time and an ETA in the log."""

from __future__ import annotations

import argparse
import re

import pytest

torch = pytest.importorskip("torch")

from classifiers import commands, models  # noqa: E402

FAST = ["--batch-size", "8", "--device", "cpu", "-q", "--epochs", "1"]


def _help() -> str:
    parser = argparse.ArgumentParser(prog="rawspace")
    commands.register_compare(parser.add_subparsers())
    return parser._subparsers._group_actions[0].choices["compare"].format_help()  # type: ignore[union-attr]


def test_help_shows_every_default_and_the_model_names() -> None:
    text = " ".join(_help().split())
    for option, default in [("--epochs", "30"), ("--batch-size", "64"),
                            ("--input-size", "224"), ("--patience", "10"), ("--mode", "full"),
                            ("--device", "auto"), ("--folds", "1"), ("--seeds", "1"),
                            ("--workers", "4"), ("--claim-timeout", "120.0"),
                            ("--models", "resnet50"), ("--weights", "none")]:  # fmt: skip
        part = text[text.index(f" {option} ", text.index("options:")) :]
        assert f"(default: {default})" in part[: part.index("(default:") + 40], option
    for option in ("--lr", "--warmup-epochs", "--layer-decay"):  # per model unless given
        part = text[text.index(f" {option} ", text.index("options:")) :]
        assert "(default: the model's recipe" in part[: part.index("(default:") + 40], option
    assert "(--out OUT | --report OUT)" in text
    assert set(commands.MODEL_NAMES) == {*models.MODELS, *models.DINOBLOOM}
    for name in commands.MODEL_NAMES:
        models.check_model(name)
        assert name in text
    assert "timm:NAME" in text


def test_the_log_warns_of_resizing_and_counts_cells_with_an_eta(
    make_cache, tmp_path, run_compare, tiny_models
) -> None:
    out = tmp_path / "out"
    argv = [str(make_cache("warn.h5")), *FAST, "--spaces", "rgb,raw_packed", "--seeds", "2"]
    assert run_compare([*argv, "--input-size", "96", "--out", str(out)]) == 0
    log = (out / "log.txt").read_text()
    assert "warning: --input-size 96 resizes warn/rgb from 32×32 to 96×96 (3×)" in log
    assert "warn/raw_packed from 16×16 to 96×96 (6×)" in log
    counted = re.findall(r"^cell (\d)/4: \S+ \(elapsed \d+:\d\d:\d\d, ETA ([-—:\d]+)\)$", log, re.M)
    assert [int(i) for i, _ in counted] == [1, 2, 3, 4]
    assert counted[0][1] == "—" and re.fullmatch(r"\d+:\d\d:\d\d", counted[1][1])
    assert run_compare([*argv, "--input-size", "32", "--out", str(tmp_path / "same")]) == 0
    assert "warning" not in (tmp_path / "same" / "log.txt").read_text()
