"""Real catalogue cameras: caches from training cameras, then the held-out camera test.

Run:  python examples/05_catalogue_cameras.py SOURCE_FOLDER [OUT_FOLDER] [--cameras K]
      [--per-class N] [--size S] [--epochs E] [--no-compare]

Each camera is a real sensor of the catalogue (``rawspace.catalogue``: LibRaw's table of
Adobe DNG Converter matrices); the training cameras come from the catalogue's training
part, the test cameras from its held-out part, so no test camera's colour matrix was
seen in training. One cache per camera is written to ``OUT_FOLDER/train/`` and
``OUT_FOLDER/held-out/``, and the cameras of each side are printed. With
``--per-class N`` only the first N images of each class are used; the PBC cells in
``$DATA/pbc`` are such a folder.

Then the held-out test: the held-out cameras are written as camera JSON files
(``OUT_FOLDER/held-out/*.json``) and the script runs, and prints, ::

    rawspace compare OUT_FOLDER/train/FIRST.h5 --models mobilenet_v3_small \\
        --spaces rgb,raw_packed,raw_packed_cam --test-camera OUT_FOLDER/held-out/A.json ... \\
        --input-size S --epochs E --folds 2 --workers 0 --out OUT_FOLDER/results

so the models trained on the first training camera's raw (``raw_packed``) and on a
pool of training-part cameras (``raw_packed_cam``) are tested on cameras no training
side has seen. The camera-shift section of results.md is printed at the end.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
import tempfile
from pathlib import Path

import rawspace.cache
from rawspace.cameras import CameraSource, sample_camera
from rawspace.catalogue import CATALOGUE_SOURCE, catalogue, find_camera, held_out_cameras
from rawspace.cli import main as rawspace_main
from rawspace.files import IMAGE_SUFFIXES
from rawspace.params import CameraParams


def listing(source: Path, per_class: int, csv_path: Path) -> Path:
    """A ``path,label`` CSV with the first ``per_class`` images of every class folder."""
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for folder in sorted(p for p in source.iterdir() if p.is_dir()):
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            for path in files[:per_class]:
                writer.writerow([str(path.resolve()), folder.name])
    return csv_path


def distinct_cameras(source: CameraSource, count: int) -> list[CameraParams]:
    """``count`` different cameras of one part of the catalogue, drawn from seeds 0, 1, ..."""
    cameras: dict[str, CameraParams] = {}
    seed = 0
    while len(cameras) < count:
        camera = sample_camera(seed, source=source, black_level=64, white_level=4095)
        cameras.setdefault(str(camera.name), camera)
        seed += 1
    return list(cameras.values())


def run(args: list[str]) -> None:
    """Run one ``rawspace`` command as the shell would, stopping on failure."""
    print("$ rawspace " + shlex.join(args), flush=True)
    status = rawspace_main(args)
    if status != 0:
        sys.exit(status)


def held_out_test(cache: Path, cameras: list[Path], out: Path, size: int, epochs: int) -> None:
    """Compare RGB and raw on ``cache``, every raw model also tested on ``cameras``."""
    args = ["compare", str(cache), "--models", "mobilenet_v3_small",
            "--spaces", "rgb,raw_packed,raw_packed_cam", "--input-size", str(size),
            "--epochs", str(epochs), "--folds", "2", "--workers", "0",
            "--out", str(out), "-q"]  # fmt: skip
    for camera in cameras:
        args += ["--test-camera", str(camera)]
    run(args)
    report = (out / "results.md").read_text(encoding="utf-8")
    start = report.index("## Camera shift")
    end = report.find("\n## ", start + 1)
    print(report[start : None if end < 0 else end].strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path, nargs="?", default=Path("catalogue-caches"))
    parser.add_argument("--cameras", type=int, default=2, help="cameras on each side")
    parser.add_argument("--per-class", type=int, default=0)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the held-out test")
    parser.add_argument(
        "--no-compare", action="store_true", help="build the caches only, skip the test"
    )
    args = parser.parse_args()

    print(f"catalogue: {len(catalogue())} cameras, {len(held_out_cameras())} held out")
    print(f"source: {CATALOGUE_SOURCE}")
    sides = {
        "train": distinct_cameras("training", args.cameras),
        "held-out": distinct_cameras("held-out", args.cameras),
    }
    names = {side: {str(c.name) for c in cameras} for side, cameras in sides.items()}
    assert names["train"].isdisjoint(names["held-out"])

    train_caches: list[Path] = []
    camera_files: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source
        if args.per_class:
            source = listing(args.source, args.per_class, Path(tmp) / "subset.csv")
        for side, cameras in sides.items():
            folder = args.out / side
            folder.mkdir(parents=True, exist_ok=True)
            for camera in cameras:
                entry = find_camera(str(camera.name))
                path = folder / f"{entry.maker}-{entry.model}.h5".replace(" ", "_")
                report = rawspace.cache.build(
                    source, path, camera=camera, layout="bayer", size=args.size, seed=0,
                    folds=2, test_fraction=0.25, overwrite=True,
                )  # fmt: skip
                print(
                    f"{side:8}  {camera.name:32}  ({entry.part}, {entry.source})  "
                    f"{report.built} images -> {path}"
                )
                if side == "held-out":
                    camera_file = path.with_suffix(".json")
                    camera_file.write_text(camera.to_json(), encoding="utf-8")
                    camera_files.append(camera_file)
                else:
                    train_caches.append(path)
    first = rawspace.cache.open(train_caches[0])
    print(f"{train_caches[0].name}: {len(first)} samples, layout {first.layout}")
    if not args.no_compare:
        held_out_test(train_caches[0], camera_files, args.out / "results", args.size, args.epochs)


if __name__ == "__main__":
    main()
