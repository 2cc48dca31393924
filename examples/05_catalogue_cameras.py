"""Build raw caches with real catalogue cameras: K training cameras and K held-out ones.

Run:  python examples/05_catalogue_cameras.py SOURCE_FOLDER [OUT_FOLDER] [--cameras K]
      [--per-class N] [--size S]

Each camera is a real sensor of the catalogue (``rawspace.catalogue``: LibRaw's table of
Adobe DNG Converter matrices); the training cameras come from the catalogue's training
part, the test cameras from its held-out part, so no test camera's colour matrix was
seen in training. One cache per camera is written to ``OUT_FOLDER/train/`` and
``OUT_FOLDER/held-out/``, and the cameras of each side are printed. With
``--per-class N`` only the first N images of each class are used; the PBC cells in
``../shared/data/pbc`` are such a folder.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import rawspace.cache
from rawspace.cameras import CameraSource, sample_camera
from rawspace.catalogue import CATALOGUE_SOURCE, catalogue, find_camera, held_out_cameras
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path, nargs="?", default=Path("catalogue-caches"))
    parser.add_argument("--cameras", type=int, default=2, help="cameras on each side")
    parser.add_argument("--per-class", type=int, default=0)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()

    print(f"catalogue: {len(catalogue())} cameras, {len(held_out_cameras())} held out")
    print(f"source: {CATALOGUE_SOURCE}")
    sides = {
        "train": distinct_cameras("training", args.cameras),
        "held-out": distinct_cameras("held-out", args.cameras),
    }
    names = {side: {str(c.name) for c in cameras} for side, cameras in sides.items()}
    assert names["train"].isdisjoint(names["held-out"])

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
                    folds=2, overwrite=True,
                )  # fmt: skip
                print(
                    f"{side:8}  {camera.name:32}  ({entry.part}, {entry.source})  "
                    f"{report.built} images -> {path}"
                )
    first = rawspace.cache.open(path)
    print(f"{path.name}: {len(first)} samples, layout {first.layout}")


if __name__ == "__main__":
    main()
