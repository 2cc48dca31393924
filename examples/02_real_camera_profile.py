"""Invert an RGB image into the raw space of a real camera, read from its raw file.

Run:  python examples/02_real_camera_profile.py RAW_FILE [OUT.dng]

The camera's colour matrix, white balance, CFA pattern and black and white
levels come from the raw file through LibRaw (`rawspace.read_camera`); the
image is inverted with them, written as a DNG, read back and developed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from skimage import data
from skimage.metrics import peak_signal_noise_ratio

import rawspace


def main(raw_file: Path, out: Path) -> None:
    camera = rawspace.read_camera(raw_file)
    print(f"camera of {raw_file.name}: {camera}")
    image = data.immunohistochemistry()[:256, :256]
    raw = rawspace.invert(image, camera)  # deterministic: no sampling involved
    print(
        f"Bayer {raw.data.shape} {raw.data.dtype} {camera.cfa}, "
        f"values {raw.data.min()}–{raw.data.max()} (black {camera.black_level}, "
        f"white {camera.white_level})"
    )
    rawspace.write_dng(raw, out, description="skimage.data.immunohistochemistry")
    again = rawspace.read_raw(out)
    assert np.array_equal(again.data, raw.data)
    developed = rawspace.develop(again, demosaic="malvar2004")
    psnr = peak_signal_noise_ratio(image, developed)
    print(f"wrote {out}; developed back: PSNR {psnr:.1f} dB")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python examples/02_real_camera_profile.py RAW_FILE [OUT.dng]")
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "camera_profile.dng"))
