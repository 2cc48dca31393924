"""The ``rawspace develop`` and ``rawspace info`` subcommands."""

from __future__ import annotations

import argparse
import os
import sys
import types

import cv2
import h5py
import numpy as np
import pytest

from rawspace import CameraParams, develop, invert, read_raw, write_dng
from rawspace.cli import develop as develop_command
from rawspace.cli import info as info_command
from rawspace.cli import main


def run_cli(argv: list[str]) -> int:
    """Parse ``argv`` with only the two subcommands under test and run it."""
    parser = argparse.ArgumentParser(prog="rawspace")
    subparsers = parser.add_subparsers(dest="command", required=True)
    develop_command.register(subparsers)
    info_command.register(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


def read_png_rgb(path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert image is not None, path
    return image[..., ::-1]


@pytest.fixture
def dng(ihc, tmp_path):
    params = CameraParams.sample(3, cfa="GBRG", black_level=64)
    return write_dng(invert(ihc, params, seed=5, noise="brooks"), tmp_path / "cells.dng")


# ------------------------------------------------------------------------------ develop
@pytest.mark.parametrize(
    ("space", "dtype", "demosaic"),
    [("srgb", np.uint8, "bilinear"), ("linear", np.uint16, "malvar2004")],
)
def test_develop_writes_the_developed_png(dng, tmp_path, space, dtype, demosaic):
    out = tmp_path / "out.png"
    status = run_cli(["develop", str(dng), str(out), "--output", space, "--demosaic", demosaic])
    assert status == 0
    expected = develop(read_raw(dng), demosaic=demosaic, output=space, dtype=dtype)
    image = read_png_rgb(out)
    assert image.dtype == dtype
    np.testing.assert_array_equal(image, expected)
    assert sorted(os.listdir(tmp_path)) == ["cells.dng", "out.png"]


def test_develop_replaces_an_existing_png(dng, tmp_path):
    out = tmp_path / "out.png"
    out.write_bytes(b"old")
    assert run_cli(["develop", str(dng), str(out)]) == 0
    assert read_png_rgb(out).shape == (128, 160, 3)


@pytest.mark.parametrize(
    ("make_input", "reason"),
    [
        (lambda folder: folder / "missing.dng", "raw file not found"),
        (lambda folder: folder / "empty.dng", "empty"),
    ],
    ids=["missing", "empty"],
)
def test_develop_bad_input_exits_1_with_one_line(tmp_path, capsys, make_input, reason):
    (tmp_path / "empty.dng").touch()
    source = make_input(tmp_path)
    out = tmp_path / "out.png"
    assert run_cli(["develop", str(source), str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rawspace develop: ")
    assert str(source) in err and reason in err
    assert "Traceback" not in err
    assert not out.exists()


def test_develop_into_missing_folder_exits_3(dng, tmp_path, capsys):
    out = tmp_path / "nope" / "out.png"
    assert run_cli(["develop", str(dng), str(out)]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"rawspace develop: cannot write {out}") and err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == ["cells.dng"]


def test_develop_into_a_read_only_folder_exits_3(dng, read_only_folder, capsys):
    out = read_only_folder / "out.png"
    assert run_cli(["develop", str(dng), str(out)]) == 3
    err = capsys.readouterr().err
    assert err.startswith(f"rawspace develop: cannot write {out}") and err.count("\n") == 1
    assert "Traceback" not in err and not out.exists()


def test_develop_never_writes_over_its_input(dng, tmp_path, capsys):
    raw = dng.rename(tmp_path / "cells.png")  # a DNG, whatever its name says
    before = raw.read_bytes()
    assert run_cli(["develop", str(raw), str(raw)]) == 2
    assert "refusing to write over it" in capsys.readouterr().err
    assert raw.read_bytes() == before


def test_develop_refuses_a_non_png_output_as_a_usage_error(dng, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(["develop", str(dng), str(tmp_path / "out.jpg")])
    assert info.value.code == 2
    assert "must be a .png file" in capsys.readouterr().err


# --------------------------------------------------------------------------------- info
def test_info_describes_a_dng(dng, capsys):
    assert run_cli(["info", str(dng)]) == 0
    out = capsys.readouterr().out
    params = read_raw(dng).params
    assert "160 × 128 pixels" in out and "Bayer GBRG" in out
    assert f"black 64, white {params.white_level}" in out
    assert f"red gain {params.red_gain:.4f}" in out and f"blue gain {params.blue_gain:.4f}" in out
    assert f"digital gain {params.rgb_gain:.4f}" in out
    assert "seed:" in out and "noise:" in out
    for name, matrix in (("rgb2cam", params.rgb2cam), ("xyz2cam", params.xyz2cam)):
        block = out.split(name, 1)[1].splitlines()[1:4]
        printed = np.array([[float(v) for v in line.strip(" []").split()] for line in block])
        np.testing.assert_allclose(printed, matrix, atol=5e-5)


def test_info_bad_file_exits_1(tmp_path, capsys):
    bad = tmp_path / "notes.dng"
    bad.write_text("not a raw file")
    assert run_cli(["info", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("rawspace info: ") and str(bad) in captured.err
    assert captured.err.count("\n") == 1


def test_info_delegates_hdf5_files_to_the_cache_summary(tmp_path, capsys, monkeypatch):
    path = tmp_path / "set.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    seen = []

    def summary(file):
        seen.append(file)
        return "dataset summary"

    fake = types.ModuleType("rawspace.cache")
    fake.summary = summary
    monkeypatch.setitem(sys.modules, "rawspace.cache", fake)
    assert run_cli(["info", str(path)]) == 0
    assert capsys.readouterr().out == "dataset summary\n"
    assert [str(p) for p in seen] == [str(path)]


# ------------------------------------------------------------------- through main()
@pytest.mark.shared
def test_main_info_and_develop_the_blackmagic_dng(shared_dir, tmp_path, capsys):
    source = shared_dir / "data/raw/Blackmagic.dng"
    assert main(["info", str(source)]) == 0
    out = capsys.readouterr().out
    assert "4128 × 2176 pixels" in out and "Bayer RGGB" in out and "black 512, white 65535" in out
    target = tmp_path / "blackmagic.png"
    assert main(["develop", str(source), str(target)]) == 0
    image = read_png_rgb(target)
    assert image.shape == (2176, 4128, 3) and image.dtype == np.uint8
    assert 20 < image.mean() < 200


def test_main_develop_error(tmp_path, capsys):
    assert main(["develop", str(tmp_path / "none.dng"), str(tmp_path / "x.png")]) == 1
    assert "none.dng" in capsys.readouterr().err


# ------------------------------------------------------------- convert's .npy + .json
@pytest.fixture
def converted(ihc, tmp_path):
    """``rawspace convert`` outputs in the three layouts (the default format, .npy)."""
    from rawspace.convert import convert
    from rawspace.images import write_png

    source = write_png(tmp_path / "cells.png", np.ascontiguousarray(ihc[:64, :48]))
    outputs = {}
    for layout in ("bayer", "packed", "linear"):
        convert(source, tmp_path / layout, size=None, layout=layout, noise="brooks", seed=2)
        outputs[layout] = tmp_path / layout / "cells.npy"
    return outputs


def _from_sidecar(npy) -> tuple:
    """The RawImage of a convert output, put together by hand from its two files."""
    import json

    from rawspace import RawImage

    record = json.loads(npy.with_suffix(".json").read_text())
    params = CameraParams.from_dict(record["params"])
    return RawImage(np.load(npy), params, layout=record["options"]["layout"]), record


@pytest.mark.parametrize("layout", ["bayer", "packed", "linear"])
def test_develop_reads_convert_outputs(converted, tmp_path, layout):
    out = tmp_path / f"{layout}.png"
    assert run_cli(["develop", str(converted[layout]), str(out)]) == 0
    raw, _ = _from_sidecar(converted[layout])
    np.testing.assert_array_equal(read_png_rgb(out), develop(raw, dtype=np.uint8))


@pytest.mark.parametrize("layout", ["bayer", "packed", "linear"])
def test_info_describes_convert_outputs(converted, capsys, layout):
    for name in (converted[layout], converted[layout].with_suffix(".json")):
        assert run_cli(["info", str(name)]) == 0
        out = capsys.readouterr().out
        raw, record = _from_sidecar(converted[layout])
        assert "48 × 64 pixels" in out and f"{raw.params.cfa}, uint16" in out
        assert f"red gain {raw.params.red_gain:.4f}" in out
        assert f"seed:           {record['noise_seed']}" in out


def test_convert_output_without_its_sidecar_or_disagreeing_exits_1(converted, capsys):
    npy = converted["bayer"]
    npy.with_suffix(".json").rename(npy.with_suffix(".json.away"))
    assert run_cli(["info", str(npy)]) == 1
    err = capsys.readouterr().err
    assert "cells.json not found" in err and err.count("\n") == 1
    npy.with_suffix(".json.away").rename(npy.with_suffix(".json"))
    np.save(npy, np.zeros((64, 50), np.uint16))  # another size than the sidecar records
    assert run_cli(["develop", str(npy), str(npy.with_name("x.png"))]) == 1
    err = capsys.readouterr().err
    assert "holds uint16 [64, 50] but cells.json records uint16 [64, 48]" in err


@pytest.mark.parametrize("part", ["all", "training", "held-out"])
def test_info_lists_the_camera_catalogue(part, capsys):
    from rawspace import catalogue

    assert run_cli(["info", "--cameras", part]) == 0
    out = capsys.readouterr().out
    cameras = {
        "all": catalogue.catalogue(),
        "training": catalogue.training_cameras(),
        "held-out": catalogue.held_out_cameras(),
    }[part]
    assert f"{len(cameras)} cameras" in out
    assert all(camera.name in out for camera in cameras)
    if part == "training":
        assert "held-out " not in out


def test_info_needs_a_file_or_cameras(dng, capsys):
    assert run_cli(["info"]) == 2
    assert run_cli(["info", str(dng), "--cameras"]) == 2
    assert capsys.readouterr().err.count("rawspace info:") == 2


def test_info_verify_checks_every_stored_pixel(ihc, tmp_path, capsys):
    import rawspace.cache
    from rawspace.images import write_png

    for name in ("a", "b"):
        (tmp_path / "cells" / name).mkdir(parents=True)
        for i in range(2):
            write_png(tmp_path / "cells" / name / f"{i}.png", ihc[16 * i : 16 * i + 32, :32])
    cache = tmp_path / "c.h5"
    rawspace.cache.build(tmp_path / "cells", cache, size=32, folds=0, test_fraction=0.5)
    assert run_cli(["info", str(cache), "--verify"]) == 0
    assert "verified:       4 samples match their digests" in capsys.readouterr().out
    with h5py.File(cache, "r+") as f:
        f["raw"][1, 0, 0] ^= 1  # one stored level changed
    assert run_cli(["info", str(cache), "--verify"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rawspace info: ") and err.count("\n") == 1
    assert run_cli(["info", str(tmp_path / "cells" / "a" / "0.png"), "--verify"]) == 2
