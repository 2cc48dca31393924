"""read_raw() and write_dng(): exact round trips, LibRaw as an independent developer, bad files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

import cv2
import numpy as np
import pytest
import rawpy
import tifffile

from rawspace import (
    CameraParams,
    RawFileError,
    RawImage,
    develop,
    invert,
    read_camera,
    read_raw,
    unpack,
    write_dng,
)
from rawspace.params import RGB2XYZ

CFAS = ("RGGB", "BGGR", "GRBG", "GBRG")
CFA_CODES = {"RGGB": (0, 1, 1, 2), "BGGR": (2, 1, 1, 0), "GRBG": (1, 0, 2, 1), "GBRG": (1, 2, 0, 1)}
# XYZ→camera of the first of Brooks' cameras, as DNG signed rationals over 10000.
XYZ2CAM = np.array(
    [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]]
)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))


def libraw_linear(path, **options) -> np.ndarray:
    """LibRaw's linear sRGB development with the camera's white balance (SPEC §4), in [0, 1]."""
    with rawpy.imread(str(path)) as raw:
        rgb = raw.postprocess(
            demosaic_algorithm=rawpy.DemosaicAlgorithm.LINEAR,
            use_camera_wb=True,
            output_color=rawpy.ColorSpace.sRGB,
            gamma=(1, 1),
            no_auto_bright=True,
            output_bps=16,
            user_flip=0,
            **options,
        )
    return rgb.astype(np.float64) / 65535.0


def inner(image: np.ndarray, border: int = 4) -> np.ndarray:
    return image[border:-border, border:-border]


def dng_tag(path, code):
    with tifffile.TiffFile(path) as tif:
        return tif.pages[0].tags.valueof(code)


def write_foreign_dng(
    path, bayer, *, black=100, white=4130, extra=(), matrix=True, neutral=(1, 2, 1, 1, 2, 3)
):
    """A minimal RGGB DNG as another program would write it (no rawspace metadata).

    ``matrix=False`` leaves out ColorMatrix1; ``neutral`` is AsShotNeutral as rationals
    (default: red gain 2, blue gain 1.5), None to leave it out.
    """
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),
        (33421, "H", 2, (2, 2), True),
        (33422, "B", 4, CFA_CODES["RGGB"], True),
        (50710, "B", 3, (0, 1, 2), True),
        (50711, "H", 1, 1, True),
        (50717, "I", 1, white, True),
        (50778, "H", 1, 21, True),
        *extra,
    ]
    if not any(tag[0] == 50714 for tag in extra):
        tags.append((50714, "I", 1, black, True))
    if matrix:
        values = [v for x in XYZ2CAM.ravel() for v in (round(x * 10000), 10000)]
        tags.append((50721, "2i", 9, tuple(values), True))
    if neutral is not None:
        tags.append((50728, "2I", 3, neutral, True))
    tifffile.imwrite(path, bayer, photometric=32803, extratags=tags, metadata=None)
    return path


class FakeLibRaw:
    """What rawpy reports for a Bayer file whose visible area starts at (top, left) of the
    raw image: ``raw_pattern`` holds the colours at raw (0, 0) (rawpy computes it with
    ``raw_color(y, x)``, in raw coordinates, and ``raw_colors_visible`` shifts it by the
    margins), ``raw_image_visible`` is the slice of ``raw_image`` at the margins."""

    def __init__(self, raw_image, pattern, top, left, height, width):
        self.raw_type = rawpy.RawType.Flat
        self.raw_pattern = np.array(pattern, dtype=np.uint8)
        self.color_desc = b"RGBG"
        self.num_colors = 3
        self.sizes = rawpy.ImageSizes(
            raw_height=raw_image.shape[0], raw_width=raw_image.shape[1], height=height,
            width=width, top_margin=top, left_margin=left, iheight=height, iwidth=width,
            pixel_aspect=1.0, flip=0, crop_left_margin=0, crop_top_margin=0, crop_width=0,
            crop_height=0,
        )  # fmt: skip
        self.raw_image_visible = raw_image[top : top + height, left : left + width]
        self.black_level_per_channel = [0, 0, 0, 0]
        self.white_level = 4095
        self.camera_whitebalance = [2.0, 1.0, 1.5, 0.0]
        self.daylight_whitebalance = [2.0, 1.0, 1.5, 0.0]
        self.color_matrix = np.hstack([np.eye(3), np.zeros((3, 1))]).astype(np.float32)
        self.rgb_xyz_matrix = np.zeros((4, 3), dtype=np.float32)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture(scope="module")
def cat_raw(sample_images) -> RawImage:
    """The cat photo (no highlights, brightest raw value ~40 % of white), 12-bit, black 0."""
    params = CameraParams.sample(5, white_level=4000)
    return invert(sample_images["chelsea"], params)


# -------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("black", [0, 1000])
@pytest.mark.parametrize("cfa", CFAS)
def test_dng_round_trip_is_exact(ihc, tmp_path, cfa, black):
    params = CameraParams.sample(CFAS.index(cfa), cfa=cfa, black_level=black)
    raw = invert(ihc, params, seed=7, noise="brooks")
    path = write_dng(raw, tmp_path / "ihc.dng", description="skimage immunohistochemistry")
    assert path == tmp_path / "ihc.dng"

    back = read_raw(path)
    assert back.layout == "bayer" and back.data.dtype == np.uint16
    assert back.data.flags.owndata  # a copy: LibRaw frees its buffer when the file closes
    np.testing.assert_array_equal(back.data, raw.data)
    assert back.params == params
    assert back.noise == raw.noise and back.seed == 7
    assert read_camera(path) == params
    with rawpy.imread(str(path)) as libraw:  # LibRaw itself reads the plane bit-exactly
        np.testing.assert_array_equal(libraw.raw_image_visible, raw.data)

    # Read like any camera's DNG: the tags alone give the same camera within 1e-4, and
    # the effective WhiteLevel carries rgb_gain, so it develops the same.
    seen = read_raw(path, use_metadata=False)
    np.testing.assert_array_equal(seen.data, raw.data)
    assert (seen.params.cfa, seen.params.black_level) == (cfa, black)
    np.testing.assert_allclose(seen.params.rgb2cam, params.rgb2cam, atol=1e-4)
    assert seen.params.red_gain == pytest.approx(params.red_gain, rel=1e-4)
    assert seen.params.blue_gain == pytest.approx(params.blue_gain, rel=1e-4)
    assert seen.params.rgb_gain == 1.0
    expected_white = round(black + (params.white_level - black) / params.rgb_gain)
    assert seen.params.white_level == expected_white
    linear = {"demosaic": "bilinear", "output": "linear", "dtype": np.float32}
    assert psnr(develop(seen, **linear), develop(raw, **linear)) > 80


@pytest.mark.parametrize("cfa", CFAS)
def test_dng_tags(ihc, tmp_path, cfa):
    params = CameraParams.sample(11, cfa=cfa, black_level=64, white_level=4095)
    raw = invert(ihc, params)
    path = write_dng(raw, tmp_path / "tags.dng", description="source.png")
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        tags = {tag.code: tag.value for tag in page.tags}
        assert page.photometric == 32803
    assert tuple(tags[50706]) == (1, 4, 0, 0)
    assert tags[33421] == (2, 2)
    assert tuple(tags[33422]) == CFA_CODES[cfa]
    assert tuple(tags[50710]) == (0, 1, 2) and tags[50711] == 1
    assert tags[50714] == 64
    assert tags[50717] == round(64 + (4095 - 64) / params.rgb_gain)
    matrix = np.array(tags[50721], dtype=np.float64).reshape(9, 2)
    np.testing.assert_allclose(matrix[:, 0] / matrix[:, 1], params.xyz2cam.ravel(), atol=1e-6)
    neutral = np.array(tags[50728], dtype=np.float64).reshape(3, 2)
    expected = [1 / params.red_gain, 1.0, 1 / params.blue_gain]
    np.testing.assert_allclose(neutral[:, 0] / neutral[:, 1], expected, atol=1e-6)
    assert tags[50778] == 21
    assert "rawspace" in tags[50708]
    meta = json.loads(tags[270])
    assert CameraParams.from_dict(meta["params"]) == params
    assert meta["description"] == "source.png"
    assert meta["raw"] == {"layout": "bayer", "dtype": "uint16", "shape": [128, 160],
                           "noise": None, "seed": None}  # fmt: skip
    assert isinstance(meta["rawspace"], str)


def test_float_and_packed_raw_are_written_as_uint16_bayer(ihc, tmp_path):
    params = CameraParams.sample(3, cfa="GRBG", black_level=200, white_level=4095)
    floating = invert(ihc, params, dtype=np.float32)
    back = read_raw(write_dng(floating, tmp_path / "float.dng"))
    expected = np.floor(floating.data.astype(np.float64) * (4095 - 200) + 200.5)
    np.testing.assert_array_equal(back.data, expected.astype(np.uint16))
    assert back.params == params

    packed = invert(ihc, params, layout="packed")
    back = read_raw(write_dng(packed, tmp_path / "packed.dng"))
    np.testing.assert_array_equal(back.data, unpack(packed.data, "GRBG"))
    assert json.loads(dng_tag(tmp_path / "packed.dng", 270))["raw"]["layout"] == "packed"


def test_existing_output_is_replaced(ihc, tmp_path):
    first = invert(ihc, CameraParams.sample(1))
    second = invert(ihc, CameraParams.sample(2, cfa="BGGR"))
    path = tmp_path / "same.dng"
    write_dng(first, path)
    write_dng(second, path)
    assert os.listdir(tmp_path) == ["same.dng"]
    back = read_raw(path)
    np.testing.assert_array_equal(back.data, second.data)
    assert back.params == second.params


def test_inputs_are_not_modified(ihc, tmp_path):
    raw = invert(ihc, CameraParams.sample(4, black_level=50))
    raw.data.setflags(write=False)
    before = raw.data.copy()
    path = write_dng(raw, tmp_path / "ro.dng")
    np.testing.assert_array_equal(raw.data, before)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    read_raw(path)
    read_raw(path, use_metadata=False)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


# ----------------------------------------------------------------- LibRaw develops like us
@pytest.mark.parametrize("noise", [None, "brooks"])
@pytest.mark.parametrize("cfa", CFAS)
def test_libraw_develops_our_dng_like_develop(sample_images, tmp_path, cfa, noise):
    params = CameraParams.sample(CFAS.index(cfa), cfa=cfa, black_level=256)
    raw = invert(sample_images["chelsea"], params, seed=1, noise=noise)
    path = write_dng(raw, tmp_path / "cat.dng")
    # LibRaw's default adjust_maximum_thr (0.75) would move the white level if the
    # brightest value lay between 75 % and 100 % of it (see the next test).
    white = dng_tag(path, 50717)
    assert raw.data.max() - 256 < 0.75 * (white - 256)
    ours = develop(raw, demosaic="bilinear", output="linear", dtype=np.float32)
    value = psnr(inner(ours), inner(libraw_linear(path)))
    assert value >= 90, f"{cfa}: LibRaw vs develop {value:.2f} dB"


@pytest.mark.parametrize(
    ("cfa", "changes"),
    [("RGGB", {}), ("BGGR", {"rgb_gain": 0.9}), ("RGGB", {"white_level": 4095})],
)
def test_libraw_develops_bright_dng_like_develop_at_the_stated_white(ihc, tmp_path, cfa, changes):
    params = dataclasses.replace(
        CameraParams.sample(CFAS.index(cfa), cfa=cfa, black_level=256), **changes
    )
    raw = invert(ihc, params)
    path = write_dng(raw, tmp_path / "ihc.dng")
    white = dng_tag(path, 50717)
    assert 0.75 * (white - 256) < raw.data.max() - 256 < white - 256  # LibRaw's heuristic fires
    ours = develop(raw, demosaic="bilinear", output="linear", dtype=np.float32)
    value = psnr(inner(ours), inner(libraw_linear(path, adjust_maximum_thr=0)))
    assert value >= 50, f"{cfa} {changes}: LibRaw vs develop {value:.2f} dB"


# ------------------------------------------------------------- other programs' DNGs
def test_foreign_dng_is_read_as_libraw_sees_it(cat_raw, tmp_path):
    path = write_foreign_dng(tmp_path / "f.dng", cat_raw.data + np.uint16(100))
    raw = read_raw(path)
    params = raw.params
    np.testing.assert_array_equal(raw.data, cat_raw.data + 100)
    assert (params.cfa, params.black_level, params.white_level) == ("RGGB", 100, 4130)
    assert params.red_gain == pytest.approx(2.0) and params.blue_gain == pytest.approx(1.5)
    assert params.rgb_gain == 1.0 and (params.tone, params.gamma) == ("none", "srgb")
    rgb2cam = XYZ2CAM @ RGB2XYZ
    np.testing.assert_allclose(params.rgb2cam, rgb2cam / rgb2cam.sum(1, keepdims=True), atol=1e-4)
    ours = develop(raw, demosaic="bilinear", output="linear", dtype=np.float32)
    assert psnr(inner(ours), inner(libraw_linear(path))) >= 50


def test_per_channel_black_levels_are_subtracted_per_site(cat_raw, tmp_path):
    site_black = np.array([[100, 110], [120, 130]], dtype=np.uint16)
    stored = cat_raw.data + np.tile(site_black, (100, 125))
    blacks = [(50713, "H", 2, (2, 2), True), (50714, "H", 4, (100, 110, 120, 130), True)]
    path = write_foreign_dng(tmp_path / "cblack.dng", stored, extra=blacks)
    raw = read_raw(path)
    assert raw.params.black_level == 100
    np.testing.assert_array_equal(raw.data, cat_raw.data + 100)
    ours = develop(raw, demosaic="bilinear", output="linear", dtype=np.float32)
    assert psnr(inner(ours), inner(libraw_linear(path))) >= 50


def test_active_area_shifts_the_cfa_and_odd_sides_are_cropped(cat_raw, tmp_path):
    # DNG's CFAPattern starts at the active area's corner (1, 1); LibRaw's visible area
    # starts at (2, 2), whose site is blue, and is 197×247: read_raw keeps 196×246.
    area = [(50829, "I", 4, (1, 1, 199, 249), True)]
    path = write_foreign_dng(tmp_path / "area.dng", cat_raw.data + np.uint16(100), extra=area)
    raw = read_raw(path)
    assert raw.params.cfa == "BGGR"
    np.testing.assert_array_equal(raw.data, cat_raw.data[2:198, 2:248] + 100)
    ours = develop(raw, demosaic="bilinear", output="linear", dtype=np.float32)
    assert psnr(inner(ours), inner(libraw_linear(path)[:196, :246])) >= 50


@pytest.mark.parametrize(
    ("top", "left", "cfa"), [(0, 0, "RGGB"), (1, 0, "GBRG"), (0, 1, "GRBG"), (3, 5, "BGGR")]
)
def test_odd_margins_shift_the_cfa(tmp_path, monkeypatch, top, left, cfa):
    # Cameras whose visible area starts on an odd raw row or column (DNGs cannot: LibRaw
    # rounds an ActiveArea to even margins), through a stand-in for rawpy's reports.
    raw_image = np.arange(40 * 60, dtype=np.uint16).reshape(40, 60)
    fake = FakeLibRaw(raw_image, [[0, 1], [3, 2]], top, left, 30, 47)
    monkeypatch.setattr(rawpy, "imread", lambda path: fake)
    path = tmp_path / "camera.raw"
    path.write_bytes(b"raw")
    raw = read_raw(path)
    assert raw.params.cfa == cfa
    np.testing.assert_array_equal(raw.data, raw_image[top : top + 30, left : left + 46])


def test_white_balance_with_a_channel_below_green(cat_raw, tmp_path):
    # LibRaw scales the multipliers (0.8, 1, 1.5) so that the smallest is 1: rgb_gain 1.25.
    neutral = (5, 4, 1, 1, 2, 3)
    path = write_foreign_dng(tmp_path / "lowred.dng", cat_raw.data, neutral=neutral)
    params = read_raw(path).params
    assert params.red_gain == pytest.approx(0.8) and params.blue_gain == pytest.approx(1.5)
    assert params.rgb_gain == pytest.approx(1.25)
    ours = develop(read_raw(path), demosaic="bilinear", output="linear", dtype=np.float32)
    assert psnr(inner(ours), inner(libraw_linear(path))) >= 50


def test_matrix_from_libraw_camera_table(cat_raw, tmp_path):
    names = [(271, "s", 0, "Canon", True), (272, "s", 0, "Canon EOS 5D Mark II", True)]
    path = write_foreign_dng(tmp_path / "canon.dng", cat_raw.data, extra=names, matrix=False)
    with rawpy.imread(str(path)) as libraw:
        xyz2cam = libraw.rgb_xyz_matrix[:3].astype(np.float64)
    assert np.any(xyz2cam)
    raw = read_raw(path)
    rgb2cam = xyz2cam @ RGB2XYZ
    np.testing.assert_allclose(raw.params.rgb2cam, rgb2cam / rgb2cam.sum(1, keepdims=True))
    ours = develop(raw, demosaic="bilinear", output="linear", dtype=np.float32)
    assert psnr(inner(ours), inner(libraw_linear(path))) >= 50


def test_missing_white_balance_falls_back_to_daylight(cat_raw, tmp_path):
    path = write_foreign_dng(tmp_path / "nowb.dng", cat_raw.data, neutral=None)
    with rawpy.imread(str(path)) as libraw:
        daylight = libraw.daylight_whitebalance
    params = read_raw(path).params
    assert params.red_gain == pytest.approx(daylight[0] / daylight[1])
    assert params.blue_gain == pytest.approx(daylight[2] / daylight[1])
    assert params.rgb_gain == pytest.approx(1 / min(1, params.red_gain, params.blue_gain))


def test_no_colour_matrix_is_refused(cat_raw, tmp_path):
    path = write_foreign_dng(tmp_path / "nomatrix.dng", cat_raw.data, matrix=False)
    with pytest.raises(RawFileError, match=r"nomatrix\.dng.*no colour matrix"):
        read_raw(path)


def test_rawspace_metadata_contradicting_the_tags_is_refused(cat_raw, tmp_path):
    meta = {"params": dataclasses.replace(cat_raw.params, cfa="BGGR").to_dict(), "raw": {}}
    extra = [
        (50708, "s", 0, "rawspace simulated camera", True),
        (270, "s", 0, json.dumps(meta), True),
    ]
    path = write_foreign_dng(tmp_path / "edited.dng", cat_raw.data, extra=extra)
    with pytest.raises(RawFileError, match=r"edited\.dng.*cfa: metadata 'BGGR', tags 'RGGB'"):
        read_raw(path)
    assert read_raw(path, use_metadata=False).params.cfa == "RGGB"

    extra[1] = (270, "s", 0, "not json", True)
    path = write_foreign_dng(tmp_path / "garbled.dng", cat_raw.data, extra=extra)
    with pytest.raises(RawFileError, match=r"garbled\.dng.*ImageDescription"):
        read_raw(path)


# --------------------------------------------------------------------------- bad files
def _valid_dng(folder):
    return write_foreign_dng(folder / "valid.dng", np.full((40, 60), 500, np.uint16))


def _empty(folder):
    (folder / "empty.dng").touch()
    return folder / "empty.dng"


def _truncated(folder):
    data = _valid_dng(folder).read_bytes()
    (folder / "truncated.dng").write_bytes(data[: len(data) // 2])
    return folder / "truncated.dng"


def _jpeg(folder):
    assert cv2.imwrite(str(folder / "photo.jpg"), np.full((64, 64, 3), 128, np.uint8))
    os.replace(folder / "photo.jpg", folder / "photo.dng")
    return folder / "photo.dng"


def _linear_dng(folder):
    tags = [(50706, "B", 4, (1, 4, 0, 0), True), (50717, "I", 1, 4000, True)]
    pixels = np.full((40, 60, 3), 500, np.uint16)
    tifffile.imwrite(folder / "linear.dng", pixels, photometric=34892, extratags=tags)
    return folder / "linear.dng"


def _xtrans_dng(folder):
    xtrans = (1, 1, 0, 1, 1, 2, 1, 1, 2, 1, 1, 0, 2, 0, 1, 0, 2, 1,
              1, 1, 2, 1, 1, 0, 1, 1, 0, 1, 1, 2, 0, 2, 1, 2, 0, 1)  # fmt: skip
    pattern = [(33421, "H", 2, (6, 6), True), (33422, "B", 36, xtrans, True)]
    bayer = np.full((48, 60), 500, np.uint16)
    return write_foreign_dng(folder / "xtrans.dng", bayer, extra=pattern)


@pytest.mark.parametrize(
    ("make", "error", "reason"),
    [
        (lambda folder: folder / "missing.dng", FileNotFoundError, "not found"),
        (lambda folder: folder, IsADirectoryError, "got a folder"),
        (_empty, RawFileError, "empty"),
        (_truncated, RawFileError, "LibRaw says Input/output error"),
        (_jpeg, RawFileError, "Unsupported file format or not RAW file"),
        (_linear_dng, RawFileError, "not a Bayer raw file.*3 colours at every pixel"),
        (_xtrans_dng, RawFileError, "6×6 colour filter pattern"),
    ],
    ids=["missing", "folder", "empty", "truncated", "jpeg", "linear", "xtrans"],
)
def test_bad_files_raise_clear_errors(tmp_path, make, error, reason):
    path = make(tmp_path)
    with pytest.raises(error, match=reason) as info:
        read_raw(path)
    assert str(path) in str(info.value)
    with pytest.raises(error):
        read_camera(path)


def test_libraw_failures_are_chained(tmp_path):
    with pytest.raises(RawFileError) as info:
        read_raw(_jpeg(tmp_path))
    assert isinstance(info.value.__cause__, rawpy.LibRawFileUnsupportedError)


# ---------------------------------------------------------------------- failed writes
@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (lambda img, p: invert(img, p, layout="linear"), "layout='linear'"),
        (lambda img, p: invert(img[:20, :40], p), "shorter than 22 pixels; raw is 20×40"),
        # AsShotNeutral (1 / red_gain) would not fit a DNG rational: the camera is refused
        (lambda img, p: invert(img, dataclasses.replace(p, red_gain=1e-10)), "red_gain must be in"),
    ],
    ids=["linear", "tiny", "unrepresentable"],
)
def test_refused_writes_leave_nothing(ihc, tmp_path, raw, reason):
    with pytest.raises(ValueError, match=reason):
        write_dng(raw(ihc, CameraParams.sample(0)), tmp_path / "out.dng")
    assert os.listdir(tmp_path) == []


def test_write_into_missing_folder(ihc, tmp_path):
    raw = invert(ihc, CameraParams.sample(0))
    with pytest.raises(FileNotFoundError, match="no such folder") as info:
        write_dng(raw, tmp_path / "nope" / "out.dng")
    assert str(tmp_path / "nope") in str(info.value)
    assert os.listdir(tmp_path) == []


def test_failure_while_writing_removes_the_temporary_file(ihc, tmp_path, monkeypatch):
    old = invert(ihc, CameraParams.sample(0))
    path = write_dng(old, tmp_path / "out.dng")
    before = path.read_bytes()

    def broken_imwrite(file, *args, **kwargs):
        with open(file, "wb") as f:
            f.write(b"II*\x00 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(tifffile, "imwrite", broken_imwrite)
    with pytest.raises(OSError, match="disk full"):
        write_dng(invert(ihc, CameraParams.sample(1)), path)
    assert os.listdir(tmp_path) == ["out.dng"]
    assert path.read_bytes() == before


# ------------------------------------------------------------------- a real camera
@pytest.fixture(scope="module")
def blackmagic(shared_dir):
    """The Blackmagic Pocket 4K DNG: read_raw's result with LibRaw's matrix (that of its
    D65 illuminant, not the interpolation at its white point), the path and LibRaw's view."""
    path = shared_dir / "data/raw/Blackmagic.dng"
    with rawpy.imread(str(path)) as libraw:
        reported = {
            "black": libraw.black_level_per_channel,
            "white": libraw.white_level,
            "wb": libraw.camera_whitebalance,
            "matrix": libraw.color_matrix[:, :3].astype(np.float64),
        }
    return read_raw(path, matrix="libraw"), path, reported


@pytest.mark.shared
def test_blackmagic_is_read_as_libraw_reports_it(blackmagic):
    raw, path, reported = blackmagic
    params = raw.params
    assert raw.layout == "bayer" and raw.data.shape == (2176, 4128)
    assert raw.data.dtype == np.uint16
    assert reported["black"] == [512, 512, 512, 512] and reported["white"] == 65535
    assert (params.cfa, params.black_level, params.white_level) == ("RGGB", 512, 65535)
    assert params.red_gain == pytest.approx(2.2060447, rel=1e-6)
    assert params.red_gain == reported["wb"][0] / reported["wb"][1]
    assert params.blue_gain == pytest.approx(1.8867925, rel=1e-6)
    assert params.rgb_gain == 1.0
    np.testing.assert_allclose(params.cam2rgb, reported["matrix"], atol=1e-6)
    assert read_camera(path, matrix="libraw") == params
    # The default interpolates between the file's two illuminants (tests/test_dng_profile.py).
    assert read_camera(path) != params


@pytest.mark.shared
def test_blackmagic_develops_like_libraw(blackmagic):
    raw, path, _ = blackmagic
    h, w = raw.shape
    centre = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
    ours = develop(raw, demosaic="bilinear", output="linear", dtype=np.float32)[centre]
    value = psnr(ours, libraw_linear(path)[centre])
    assert value >= 70, f"Blackmagic central half: LibRaw vs develop {value:.2f} dB"
