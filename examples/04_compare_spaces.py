"""The study's comparison: the same images, split and model in RGB and in raw space.

Run:  python examples/04_compare_spaces.py MATEK19_ROOT OUT_DIR [--epochs 30] [--device cuda]

MATEK19_ROOT is a download of the AML-Cytomorphology_LMU collection (Matek et
al., 2019; The Cancer Imaging Archive): ``annotations.dat`` plus one folder per
class with ``CLASS/CLASS_NNNN.tiff``. The script runs the two commands it
prints, so they can also be run by hand:

    rawspace build MATEK19_ROOT OUT_DIR/matek19.h5 --layout bayer --size 400 \\
        --test-fraction 0.1 --folds 5 --seed 0 --jobs 8
    rawspace compare OUT_DIR/matek19.h5 --models resnet50 \\
        --spaces rgb,rgb_aug,raw_packed --mode full --weights imagenet \\
        --epochs 30 --folds 5 --device cuda --out OUT_DIR/results

Both steps resume where they stopped (``--resume`` for the build, finished
cells for the comparison). ``--subset N`` keeps N images per class for a quick
check (via a CSV listing), ``--weights none`` trains from scratch, ``--models``
takes a comma-separated list (resnet50, densenet121, vit_b_16, …).
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
from pathlib import Path

from rawspace.cli import main as rawspace_main
from rawspace.sources import read_source


def subset_csv(root: Path, per_class: int, out: Path) -> Path:
    """The first ``per_class`` images of every Matek-19 class, as a ``path,label`` CSV."""
    source = read_source(root)
    taken: dict[str, int] = {}
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for item in source.items:
            label = source.class_names[item.label]
            if taken.get(label, 0) < per_class:
                taken[label] = taken.get(label, 0) + 1
                writer.writerow([str((source.root / item.relpath).resolve()), label])
    return out


def run(args: list[str]) -> None:
    print("$ rawspace " + shlex.join(args), flush=True)
    status = rawspace_main(args)
    if status != 0:
        sys.exit(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--weights", default="imagenet")
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--models", default="resnet50")
    parser.add_argument("--subset", type=int, default=0, help="images per class (0: all)")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    source = args.root
    if args.subset:
        source = subset_csv(args.root, args.subset, args.out / "subset.csv")
    cache = args.out / "matek19.h5"
    if not cache.exists():
        run(
            ["build", str(source), str(cache), "--layout", "bayer", "--size", str(args.size),
             "--test-fraction", "0.1", "--folds", str(args.folds), "--seed", "0", "-q"]
        )  # fmt: skip
    run(
        ["compare", str(cache), "--models", args.models, "--spaces", "rgb,rgb_aug,raw_packed",
         "--mode", "full", "--weights", args.weights, "--epochs", str(args.epochs),
         "--folds", str(args.folds), "--device", args.device,
         "--input-size", str(args.input_size), "--out", str(args.out / "results"), "-q"]
    )  # fmt: skip
    print((args.out / "results" / "results.md").read_text())


if __name__ == "__main__":
    main()
