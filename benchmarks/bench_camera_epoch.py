"""Epoch time of camera augmentation: ``raw_packed_cam`` against ``raw_packed``.

Run:  python benchmarks/bench_camera_epoch.py CACHE.h5 [--model resnet50] [--input-size 224]
          [--epochs 2] [--batch-size 128] [--device auto] [--work DIR]

Trains the same model on the same cells of CACHE.h5 for a few epochs in three spaces, one
after the other in this process (``rawspace compare`` with one fold), and prints each
space's mean epoch time (the whole training pass, data included), the model's pure
forward + backward time, and their ratio. ``raw_packed_cam`` unprocesses every training
batch on the device with a fresh camera per sample and flips/rotates it;
``raw_packed`` reads ready raw planes; ``raw_packed_aug`` reads them and applies the same
flips and rotations (and a jitter), which separates the cost of the geometry from that
of unprocessing. The goal is an epoch of ``raw_packed_cam`` within 1.1× of
``raw_packed``'s. Timing figures are only compared within one run; there are no timing
assertions anywhere.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import tempfile
from pathlib import Path

import torch

from classifiers.compare import CompareConfig, run
from classifiers.train import TrainConfig, device_name, resolve_device

SPACES = ("raw_packed", "raw_packed_aug", "raw_packed_cam")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache", type=Path)
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--work", type=Path, help="output folder (default: a temporary one)")
    args = parser.parse_args()

    device = resolve_device(args.device)
    print(f"command: python {shlex.join(sys.argv)}")
    print(f"device: {device_name(device)}; torch {torch.__version__}; {platform.python_version()}")
    with tempfile.TemporaryDirectory() as scratch:
        out = args.work or Path(scratch)
        config = CompareConfig(
            caches=(("bench", args.cache),),
            out=out,
            models=(args.model,),
            spaces=SPACES,
            folds=1,
            device=args.device,
            input_size=args.input_size,
            workers=4,
            train=TrainConfig(
                epochs=args.epochs, batch_size=args.batch_size, patience=0, quiet=True
            ),
        )
        results = run(config)
        timing = {row["space"]: row["timing"] for row in results["rows"]}
    print(f"{args.model}, input {args.input_size}, batch {args.batch_size}, {args.epochs} epochs")
    for space in SPACES:
        t = timing[space]
        print(
            f"  {space:<15} epoch {t['epoch_s']:8.2f} s   model {t['model_s']:8.2f} s   "
            f"epoch / model {t['ratio']:.2f}   ({'resident' if t['resident'] else 'streamed'})"
        )
    cam = timing["raw_packed_cam"]["epoch_s"]
    for baseline in ("raw_packed", "raw_packed_aug"):
        print(f"raw_packed_cam / {baseline} epoch time: {cam / timing[baseline]['epoch_s']:.2f}×")
    print("goal: raw_packed_cam within 1.10× of raw_packed")


if __name__ == "__main__":
    main()
