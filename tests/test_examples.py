"""Every example runs and does what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from rawspace.catalogue import held_out_cameras
from rawspace.params import CameraParams

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return result.stdout


def test_invert_and_develop(tmp_path):
    out = tmp_path / "strip.png"
    stdout = run("01_invert_and_develop.py", str(out))
    assert "bit-exact = True" in stdout
    strip = cv2.imread(str(out))
    assert strip.shape == (300, 900, 3)


def test_real_camera_profile(shared_dir, tmp_path):
    out = tmp_path / "profile.dng"
    stdout = run("02_real_camera_profile.py", str(shared_dir / "data/raw/Blackmagic.dng"), str(out))
    assert "RGGB" in stdout and "black 512" in stdout
    assert out.stat().st_size > 0


def test_build_cache(shared_dir, tmp_path):
    cache = tmp_path / "pbc.h5"
    stdout = run("03_build_cache.py", str(shared_dir / "data/pbc"), str(cache), "--per-class", "3")
    assert "built" in stdout and "24 images, 0 failed" in stdout
    assert "classes ('basophil'," in stdout


def test_catalogue_cameras(shared_dir, tmp_path):
    stdout = run(
        "05_catalogue_cameras.py", str(shared_dir / "data/pbc"), str(tmp_path / "out"),
        "--per-class", "4", "--cameras", "1", "--size", "64", "--epochs", "1",
    )  # fmt: skip
    assert "held-out" in stdout and "training" in stdout
    assert len(list((tmp_path / "out" / "train").glob("*.h5"))) == 1
    (camera_file,) = (tmp_path / "out" / "held-out").glob("*.json")
    held_out = CameraParams.from_json(camera_file.read_text())
    assert held_out.name is not None and held_out.name in {c.name for c in held_out_cameras()}
    # the held-out test ran and its camera-shift section names the held-out camera
    assert "--test-camera" in stdout
    shift = stdout[stdout.index("## Camera shift") :]
    assert f"{held_out.name} ({camera_file.name})" in shift


def matek_root(root: Path) -> Path:
    """A miniature Matek-19 download: a few small TIFFs per class and annotations.dat."""
    rng = np.random.default_rng(0)
    lines = []
    for label in ("LYT", "MON", "NGS"):
        (root / label).mkdir(parents=True)
        for k in range(10):
            name = f"{label}/{label}_{k:04d}.tiff"
            image = rng.integers(0, 256, (80, 80, 3), dtype=np.uint8)
            image[..., ("LYT", "MON", "NGS").index(label)] = 255
            tifffile.imwrite(root / name, image)
            lines.append(f"{name} {label} nan nan")
    (root / "annotations.dat").write_text("\n".join(lines) + "\n")
    return root


def test_compare_spaces_on_a_miniature_matek19(tmp_path):
    pytest.importorskip("torch")
    root = matek_root(tmp_path / "AML-Cytomorphology_LMU")
    stdout = run(
        "04_compare_spaces.py", str(root), str(tmp_path / "out"), "--epochs", "1",
        "--folds", "2", "--device", "cpu", "--weights", "none", "--size", "64",
        "--input-size", "32", "--subset", "10", "--models", "mobilenet_v3_small",
    )  # fmt: skip
    assert "$ rawspace build" in stdout and "$ rawspace compare" in stdout
    assert (tmp_path / "out" / "results" / "results.md").exists()


def slurm(script: str, environment: dict[str, str], *, task: int | None = None) -> None:
    """Run an sbatch script as SLURM would, as array task ``task`` of 2."""
    env = {**os.environ, **environment}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `rawspace`
    if task is not None:
        env |= {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": "1",
                "SLURM_ARRAY_TASK_COUNT": "2"}  # fmt: skip
    subprocess.run(
        ["bash", str(EXAMPLES / "slurm" / script)], env=env, check=True, timeout=900,
        capture_output=True,
    )  # fmt: skip


def test_slurm_scripts_build_merge_compare_and_report(tmp_path):
    """The array jobs of examples/slurm, each task run in turn with SLURM's variables."""
    pytest.importorskip("torch")
    root = matek_root(tmp_path / "AML-Cytomorphology_LMU")
    work = tmp_path / "work"
    environment = {
        "SOURCE": str(root),
        "WORK": str(work),
        "BUILD_OPTIONS": "--size 32 --test-fraction 0.2 --folds 2",
        "COMPARE_OPTIONS": "--models mobilenet_v3_small --spaces rgb,raw_packed --folds 2 "
        "--epochs 1 --batch-size 8 --input-size 32",
        "DEVICE": "cpu",
    }
    for task in (1, 2):
        slurm("build.sbatch", environment, task=task)
    slurm("merge.sbatch", environment)
    assert (work / "cache.h5").exists() and len(list((work / "shards").glob("*.h5"))) == 2
    for task in (1, 2):
        slurm("compare.sbatch", environment, task=task)
    assert len(list((work / "compare" / "cells").glob("cache__*.json"))) == 4
    slurm("report.sbatch", environment)
    results = (work / "compare" / "results.md").read_text()
    assert "## Paired comparisons of input spaces" in results and "Missing cells" not in results
    text = (EXAMPLES / "slurm" / "submit.sh").read_text()
    for script in ("build", "merge", "compare", "report"):
        assert f"{script}.sbatch" in text
