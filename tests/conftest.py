"""Shared fixtures: sample images from scikit-image and the optional shared data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from skimage import data


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The folder named by ``RAWSPACE_SHARED`` (tests using it skip when it is absent)."""
    value = os.environ.get("RAWSPACE_SHARED")
    if not value or not Path(value, "data").is_dir():
        pytest.skip("RAWSPACE_SHARED does not name a folder with data/")
    return Path(value)


@pytest.fixture(scope="session")
def ihc() -> np.ndarray:
    """A 128×160 uint8 crop of scikit-image's immunohistochemistry sample."""
    image = data.immunohistochemistry()[100:228, 200:360]
    image.setflags(write=False)
    return image


@pytest.fixture(scope="session")
def sample_images() -> dict[str, np.ndarray]:
    """Several real RGB images (uint8, even-sized crops) bundled with scikit-image."""
    images = {
        "immunohistochemistry": data.immunohistochemistry()[:256, :256],
        "astronaut": data.astronaut()[100:356, 100:356],
        "coffee": data.coffee()[:200, :300],
        "chelsea": data.chelsea()[:200, :250],
    }
    for image in images.values():
        image.setflags(write=False)
    return images
