"""Build an HDF5 raw cache from a folder with one subfolder per class, and read it.

Run:  python examples/03_build_cache.py SOURCE_FOLDER [CACHE.h5] [--per-class N]

With ``--per-class N`` only the first N images of each class are used (through
a CSV listing), which keeps a first try small; the PBC cells in
``../shared/data/pbc`` are such a folder.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import rawspace.cache
from rawspace.files import IMAGE_SUFFIXES


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("cache", type=Path, nargs="?", default=Path("cells.h5"))
    parser.add_argument("--per-class", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        source = args.source
        if args.per_class:
            source = listing(args.source, args.per_class, Path(tmp) / "subset.csv")
        report = rawspace.cache.build(
            source, args.cache, layout="bayer", size=400, seed=0, folds=5, overwrite=True
        )
    print(f"built {args.cache}: {report.built} images, {report.failed} failed")

    cache = rawspace.cache.open(args.cache)
    sample = cache[0]
    print(f"{len(cache)} samples, classes {cache.class_names}, layout {cache.layout}")
    print(f"sample 0: raw {sample.raw.shape} {sample.raw.dtype}, label {sample.label}")
    print(f"train {len(cache.train)}, test {len(cache.test)}")
    print(rawspace.cache.summary(args.cache))


if __name__ == "__main__":
    main()
