"""Every example runs and does what it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2

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
