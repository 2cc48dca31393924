"""Every ``rawspace`` command shown in README.md runs.

The commands are taken from the README's bash blocks and run in order in a
scratch folder that holds small stand-ins for the data they name: ``cells/``
and ``cells.csv`` (generated images), ``$DATA/pbc`` = ``../shared/data/pbc`` (ten PBC images
per class, or generated ones), the Blackmagic DNG (skipped when the shared
folder is absent) and a miniature Matek-19 download. To run in seconds on a
CPU, training options are scaled down: one epoch, two folds, one unseen camera,
32×32 inputs, the CPU, no pretrained weights and MobileNetV3-Small instead of the
large models. Install
and test commands (pip, venv, pytest) are what ``.ci/run`` runs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest

from rawspace.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
CLASSES = ("basophil", "eosinophil", "lymphocyte")
SCALE_DOWN = [
    (r"--epochs \d+", "--epochs 1"),
    (r"--device (cuda|auto)", "--device cpu"),
    (r"--weights imagenet", "--weights none"),
    (r"--models [\w,]+", "--models mobilenet_v3_small"),
    (r"--folds 5", "--folds 2"),
    (r"--test-cameras \d+", "--test-cameras 1"),
    (r"^(rawspace compare .*) --out ", r"\1 --input-size 32 --out "),
]


def readme_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        block = block.replace("\\\n", " ").replace("$DATA", "../shared/data")
        for line in block.splitlines():
            for part in line.split("#")[0].split("&&"):
                part = " ".join(part.split())
                if part.startswith("rawspace "):
                    commands.append(part)
    return commands


def write_cells(folder: Path, per_class: int, size: int) -> None:
    rng = np.random.default_rng(1)
    for k, name in enumerate(CLASSES):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = rng.integers(0, 200, (size, size + 6, 3), dtype=np.uint8)
            image[..., k] = 230
            cv2.imwrite(str(folder / name / f"{name}_{i:03d}.png"), image)


def write_matek(root: Path) -> None:
    rng = np.random.default_rng(2)
    lines = []
    for k, label in enumerate(("LYT", "MON", "NGS")):
        (root / label).mkdir(parents=True)
        for i in range(10):
            image = rng.integers(0, 200, (48, 48, 3), dtype=np.uint8)
            image[..., k] = 240
            name = f"{label}/{label}_{i:04d}.tiff"
            cv2.imwrite(str(root / name), image)
            lines.append(f"{name} {label} nan nan")
    (root / "annotations.dat").write_text("\n".join(lines) + "\n")


@pytest.fixture
def scratch(tmp_path, monkeypatch, request):
    work = tmp_path / "work"
    shared = tmp_path / "shared" / "data"
    write_cells(work / "cells", per_class=4, size=40)
    rows = ["path,label"] + [f"cells/{c}/{c}_{i:03d}.png,{c}" for c in CLASSES for i in range(4)]
    (work / "cells.csv").write_text("\n".join(rows) + "\n")
    write_cells(shared / "pbc", per_class=10, size=40)
    write_matek(work / "AML-Cytomorphology_LMU")
    try:
        real = request.getfixturevalue("shared_dir")
        (shared / "raw").mkdir(parents=True)
        (shared / "raw" / "Blackmagic.dng").symlink_to(real / "data/raw/Blackmagic.dng")
    except pytest.skip.Exception:
        pass
    monkeypatch.chdir(work)
    return work


def test_readme_shows_every_subcommand():
    shown = {command.split()[1] for command in readme_commands()}
    assert shown >= {"convert", "build", "merge", "develop", "info", "compare", "demo"}


def test_every_readme_command_runs(scratch, capsys):
    pytest.importorskip("torch")
    has_dng = Path("../shared/data/raw/Blackmagic.dng").exists()
    ran = 0
    for command in readme_commands():
        if "Blackmagic.dng" in command and not has_dng:
            continue
        for pattern, replacement in SCALE_DOWN:
            command = re.sub(pattern, replacement, command)
        status = main(shlex.split(command)[1:])
        assert status == 0, f"{command!r} exited {status}: {capsys.readouterr().err[-2000:]}"
        ran += 1
    assert ran >= 12
    assert Path("rawspace-demo/report.md").exists()
    assert Path("results/results.md").exists() and Path("matek19-results/results.md").exists()
    assert "camera_per_image" in Path("results-cameras/results.md").read_text()


def test_readme_python_blocks_run(tmp_path, monkeypatch, request):
    """The README's Python blocks run in order, as one script, from a folder beside shared/."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 2
    real = request.getfixturevalue("shared_dir")
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "shared").symlink_to(real)
    monkeypatch.chdir(work)
    namespace: dict = {}
    exec(compile("\n".join(blocks), str(README), "exec"), namespace)
    assert Path("sim.dng").stat().st_size > 0
    assert namespace["back"].shape == namespace["rgb"].shape
