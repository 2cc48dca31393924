"""rawspace.options: the conversion options shared by convert and build."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rawspace.convert import ConvertOptions
from rawspace.options import ConversionOptions, with_overrides
from rawspace.params import CameraParams


def test_camera_path_is_kept_as_an_input_and_loaded_on_demand(tmp_path: Path) -> None:
    camera = CameraParams.sample(4)
    (tmp_path / "cam.json").write_text(camera.to_json())
    options = ConversionOptions(camera=str(tmp_path / "cam.json"))
    assert options.camera == tmp_path / "cam.json" and options.camera_file == options.camera
    assert options.camera_params() == camera
    fixed = ConversionOptions(camera=camera)
    assert fixed.camera_file is None and fixed.camera_params() is camera
    assert ConversionOptions().camera_params() is None
    with pytest.raises(TypeError, match="camera must be None, a CameraParams or a path, got int"):
        ConversionOptions(camera=3)  # type: ignore[arg-type]


def test_values_are_normalised_and_frozen() -> None:
    import numpy as np

    options = ConvertOptions(seed=np.int64(3), size=np.int32(32), page=np.uint8(1))
    assert (type(options.seed), type(options.size), type(options.page)) == (int, int, int)
    assert ConvertOptions(dtype=np.float32).dtype == "float32"
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.seed = 4  # type: ignore[misc]


def test_overrides_replace_fields_and_are_checked() -> None:
    base = ConvertOptions(size=32, seed=1)
    changed = with_overrides(ConvertOptions, base, {"seed": 2})
    assert (changed.size, changed.seed) == (32, 2) and base.seed == 1
    assert with_overrides(ConvertOptions, base, {}) is base
    with pytest.raises(ValueError, match="size must be None or an even integer >= 16, got 31"):
        with_overrides(ConvertOptions, base, {"size": 31})
    with pytest.raises(TypeError, match="unknown option 'sise'"):
        with_overrides(ConvertOptions, base, {"sise": 32})
