"""DNG profiles: dual-illuminant interpolation (checked against the specification's formulas
written here and colour-science's CCT), NoiseProfile and ForwardMatrix, exiftool's validator."""

from __future__ import annotations

import shutil
import subprocess

import colour
import numpy as np
import pytest
import rawpy
import tifffile

from rawspace import CameraParams, invert, read_camera, read_raw, write_dng
from rawspace.dngprofile import read_profile, xy_to_temperature
from rawspace.noise import camera_noise_levels, resolve_noise
from rawspace.params import RGB2XYZ

CFAS = ("RGGB", "BGGR", "GRBG", "GBRG")
# Temperatures Adobe's DNG SDK gives the EXIF light sources 17 (standard light A) and 21 (D65).
T_A, T_D65 = 2850.0, 6500.0
D50 = np.array([0.3457, 0.3585])
# Two XYZ→camera matrices, exact in rationals over 10000.
CM_A = np.array([[0.6722, -0.0635, -0.0963], [-0.4287, 1.246, 0.2028], [-0.0908, 0.2162, 0.5668]])
CM_D65 = np.array([[1.0405, -0.3755, -0.127], [-0.5461, 1.3787, 0.1793], [-0.104, 0.2015, 0.6785]])


# ------------------------------------------------- the specification, written independently
def cct(xy) -> float:
    """Correlated colour temperature by Robertson's method, as colour-science computes it."""
    uv = colour.xy_to_UCS_uv(np.asarray(xy, dtype=np.float64))
    return float(colour.temperature.uv_to_CCT_Robertson1968(uv)[0])


def xy_at(temperature: float) -> np.ndarray:
    """The Planckian chromaticity at a temperature (colour-science, Robertson, no tint)."""
    uv = colour.temperature.CCT_to_uv_Robertson1968(np.array([temperature, 0.0]))
    return np.asarray(colour.UCS_uv_to_xy(uv), dtype=np.float64)


def spec_xyz_to_camera(tags: dict, xy) -> np.ndarray:
    """DNG 1.4 §6: AB · CC · CM with CM, CC interpolated linearly in 1/T, clamped."""
    inverse = 1.0 / cct(xy)
    g = float(np.clip((inverse - 1 / T_D65) / (1 / T_A - 1 / T_D65), 0.0, 1.0))
    cm = g * tags["ColorMatrix1"] + (1 - g) * tags["ColorMatrix2"]
    cc = g * tags["CameraCalibration1"] + (1 - g) * tags["CameraCalibration2"]
    return np.diag(tags["AnalogBalance"]) @ cc @ cm


def spec_white_xy(tags: dict, neutral) -> np.ndarray:
    """The white point of AsShotNeutral: iterate xy ← xy(inv(XYZtoCamera(xy)) · neutral)."""
    xy = D50.copy()
    for _ in range(100):
        xyz = np.linalg.inv(spec_xyz_to_camera(tags, xy)) @ neutral
        following = xyz[:2] / xyz.sum()
        if np.abs(following - xy).sum() < 1e-13:
            return following
        xy = following
    raise AssertionError("no convergence")


def rationals(tag) -> np.ndarray:
    values = np.asarray(tag.value, dtype=np.float64)
    return values[0::2] / values[1::2] if tag.dtype in (5, 10) else values


def colour_tags(path) -> dict:
    names = {
        50721: "ColorMatrix1", 50722: "ColorMatrix2", 50723: "CameraCalibration1",
        50724: "CameraCalibration2", 50727: "AnalogBalance", 50728: "AsShotNeutral",
    }  # fmt: skip
    with tifffile.TiffFile(path) as tif:
        tags = {name: rationals(tif.pages[0].tags[code]) for code, name in names.items()}
    for name in list(tags):
        if tags[name].size == 9:
            tags[name] = tags[name].reshape(3, 3)
    return tags


def normalised(xyz2cam: np.ndarray) -> np.ndarray:
    rgb2cam = xyz2cam @ RGB2XYZ
    return rgb2cam / rgb2cam.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------ the real camera
@pytest.mark.shared
def test_blackmagic_matrix_at_its_as_shot_white(shared_dir):
    path = shared_dir / "data/raw/Blackmagic.dng"
    tags = colour_tags(path)
    white = spec_white_xy(tags, tags["AsShotNeutral"])
    expected = spec_xyz_to_camera(tags, white)

    profile = read_profile(path)
    assert profile.illuminants == (17, 21) and profile.temperatures == (T_A, T_D65)
    np.testing.assert_allclose(profile.white_xy, white, atol=1e-9)
    assert xy_to_temperature(white) == pytest.approx(cct(white), abs=1e-6)
    assert 3500 < cct(white) < 4500  # between the two illuminants: a real interpolation
    np.testing.assert_allclose(profile.as_shot_xyz_to_camera(), expected, atol=1e-9)

    camera = read_camera(path)
    np.testing.assert_allclose(camera.rgb2cam, normalised(expected), atol=1e-9)
    libraw = read_camera(path, matrix="libraw")  # LibRaw's: the D65 matrix alone
    np.testing.assert_allclose(libraw.rgb2cam, normalised(tags["ColorMatrix2"]), atol=1e-6)
    assert np.abs(camera.rgb2cam - libraw.rgb2cam).max() > 0.01
    assert (camera.red_gain, camera.blue_gain) == (libraw.red_gain, libraw.blue_gain)

    # The rest of the profile, as SPEC §9 lists it.
    assert profile.baseline_exposure == pytest.approx(2.65412)
    assert profile.linearization_table is not None and profile.linearization_table.size == 4096
    assert profile.black_level.tolist() == [[512.0]] and profile.white_level == 65535
    assert len(profile.forward_matrices) == 2 and profile.noise_profile is None
    np.testing.assert_array_equal(profile.analog_balance, [1, 1, 1])
    assert camera.noise_profile is None


# ------------------------------------------------------- a synthetic two-illuminant DNG
def two_illuminant_dng(path, *, neutral=None, white_xy=None, calibration=None, noise=None):
    bayer = np.full((32, 32), 1000, dtype=np.uint16)

    def srational(matrix):
        return tuple(v for x in np.ravel(matrix) for v in (round(x * 10000), 10000))

    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),
        (33421, "H", 2, (2, 2), True),
        (33422, "B", 4, (0, 1, 1, 2), True),
        (50710, "B", 3, (0, 1, 2), True),
        (50711, "H", 1, 1, True),
        (50714, "I", 1, 64, True),
        (50717, "I", 1, 4095, True),
        (50721, "2i", 9, srational(CM_A), True),
        (50722, "2i", 9, srational(CM_D65), True),
        (50778, "H", 1, 17, True),
        (50779, "H", 1, 21, True),
    ]
    if calibration is not None:
        tags.append((50723, "2i", 9, srational(calibration), True))
    if neutral is not None:
        tags.append(
            (50728, "2I", 3, tuple(v for x in neutral for v in (round(x * 1e6), 10**6)), True)
        )
    if white_xy is not None:
        tags.append(
            (50729, "2I", 2, tuple(v for x in white_xy for v in (round(x * 1e6), 10**6)), True)
        )
    if noise is not None:
        tags.append((51041, "d", len(noise), tuple(noise), True))
    tifffile.imwrite(path, bayer, photometric=32803, extratags=tags, metadata=None)
    return path


@pytest.mark.parametrize(("temperature", "matrix"), [(T_A, CM_A), (T_D65, CM_D65)])
def test_synthetic_profile_recovers_each_matrix_at_its_temperature(tmp_path, temperature, matrix):
    profile = read_profile(two_illuminant_dng(tmp_path / "two.dng"))
    # colour-science's Planckian xy comes back at its temperature within ~1e-5 K.
    np.testing.assert_allclose(profile.xyz_to_camera(xy_at(temperature)), matrix, atol=1e-7)
    # Beyond either end the weight is clamped: that matrix exactly.
    beyond = xy_at(temperature * 0.8 if temperature == T_A else temperature * 1.5)
    np.testing.assert_array_equal(profile.xyz_to_camera(beyond), matrix)
    # Through the whole reader: a white on the illuminant's side gives its matrix.
    neutral = matrix @ colour.xy_to_XYZ(beyond)
    path = two_illuminant_dng(tmp_path / "shot.dng", neutral=neutral / neutral[1])
    np.testing.assert_allclose(read_camera(path).rgb2cam, normalised(matrix), atol=1e-9)


def test_synthetic_profile_between_the_illuminants(tmp_path):
    calibration = np.diag([1.05, 1.0, 0.97])
    white = np.round(xy_at(4200.0) * 1e6) / 1e6  # exact in AsShotWhiteXY's rationals
    path = two_illuminant_dng(tmp_path / "mid.dng", white_xy=white, calibration=calibration)
    profile = read_profile(path)
    g = (1 / cct(white) - 1 / T_D65) / (1 / T_A - 1 / T_D65)
    # CameraCalibration2 absent: the identity; both interpolate with the same weight.
    cc = g * calibration + (1 - g) * np.eye(3)
    expected = cc @ (g * CM_A + (1 - g) * CM_D65)
    np.testing.assert_allclose(profile.as_shot_xyz_to_camera(), expected, atol=1e-9)
    np.testing.assert_allclose(read_camera(path).rgb2cam, normalised(expected), atol=1e-9)


def test_single_illuminant_dng_gives_libraws_matrix(tmp_path):
    params = CameraParams.sample(4)
    raw = invert(np.full((32, 32, 3), 90, np.uint8), params)
    path = write_dng(raw, tmp_path / "one.dng")
    seen = read_raw(path, use_metadata=False, matrix="libraw").params
    assert read_raw(path, use_metadata=False).params == seen


def test_noise_profile_is_read_and_used(tmp_path):
    pairs = (1e-4, 2e-6, 2e-4, 3e-6, 3e-4, 4e-6)
    path = two_illuminant_dng(tmp_path / "noise.dng", white_xy=xy_at(5000.0), noise=pairs)
    camera = read_camera(path)
    assert camera.noise_profile == ((1e-4, 2e-6), (2e-4, 3e-6), (3e-4, 4e-6))
    assert CameraParams.from_json(camera.to_json()) == camera
    assert camera_noise_levels(camera) == pytest.approx((2e-4, 3e-6), rel=1e-12)
    rng = np.random.default_rng(0)
    assert resolve_noise("camera", rng, camera) == camera_noise_levels(camera)
    with pytest.raises(ValueError, match="noise_profile"):
        resolve_noise("camera", rng, CameraParams.sample(0))
    with pytest.raises(ValueError, match="None, 'brooks' or"):
        resolve_noise("poisson", rng, camera)


# --------------------------------------------------------------- what write_dng writes
def written(tmp_path, cfa, noise, name="w.dng"):
    params = CameraParams.sample(CFAS.index(cfa), cfa=cfa, black_level=128, white_level=4095)
    rgb = (np.random.default_rng(1).random((48, 64, 3)) * 255).astype(np.uint8)
    raw = invert(rgb, params, seed=2, noise=noise)
    return raw, write_dng(raw, tmp_path / name)


def test_noise_profile_and_forward_matrix_written(tmp_path):
    raw, path = written(tmp_path, "GRBG", (2e-3, 3e-5))
    params = raw.params
    profile = read_profile(path)
    effective = round(128 + (4095 - 128) / params.rgb_gain)
    k = (4095 - 128) / (effective - 128)
    ((shot, read),) = profile.noise_profile
    assert (shot, read) == pytest.approx((k * 2e-3, k * k * 3e-5), rel=1e-12)
    # Read as any camera's DNG (scale of the effective WhiteLevel): the same noise.
    seen = read_raw(path, use_metadata=False).params
    assert seen.noise_profile == profile.noise_profile and seen.white_level == effective
    # ForwardMatrix1: camera white → D50 white, equal to colour-science's Bradford chain.
    (forward,) = profile.forward_matrices
    d65 = RGB2XYZ @ np.ones(3)
    d50 = colour.xy_to_XYZ(D50)
    bradford = colour.adaptation.matrix_chromatic_adaptation_VonKries(d65, d50, "Bradford")
    np.testing.assert_allclose(forward, bradford @ RGB2XYZ @ params.cam2rgb, atol=2e-6)
    np.testing.assert_allclose(forward @ np.ones(3), d50, atol=5e-6)
    assert profile.illuminants == (21,)
    assert (
        written(tmp_path, "RGGB", None, "quiet.dng")[1]
        and read_profile(tmp_path / "quiet.dng").noise_profile is None
    )


@pytest.mark.parametrize("noise", [None, "brooks"])
@pytest.mark.parametrize("cfa", CFAS)
def test_exiftool_validates_and_rawpy_reads_back(tmp_path, cfa, noise):
    raw, path = written(tmp_path, cfa, noise)
    with rawpy.imread(str(path)) as libraw:
        np.testing.assert_array_equal(libraw.raw_image_visible, raw.data)
    exiftool = shutil.which("exiftool")
    if exiftool is None:
        pytest.skip("exiftool is not installed (Debian: libimage-exiftool-perl)")
    result = subprocess.run(
        [exiftool, "-validate", "-warning", "-a", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].split(":", 1)[1].strip() == "OK", result.stdout


def test_per_site_black_levels_and_a_dng_without_colour_matrix(tmp_path):
    bayer = np.full((32, 32), 500, dtype=np.uint16)
    tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),
        (33421, "H", 2, (2, 2), True),
        (33422, "B", 4, (0, 1, 1, 2), True),
        (50713, "H", 2, (2, 2), True),
        (50714, "H", 4, (100, 110, 120, 130), True),
        (50717, "I", 1, 4095, True),
    ]
    path = tmp_path / "black.dng"
    tifffile.imwrite(path, bayer, photometric=32803, extratags=tags, metadata=None)
    profile = read_profile(path)
    assert profile.black_level.tolist() == [[100, 110], [120, 130]]
    assert profile.color_matrices == () and profile.illuminants == ()
    with pytest.raises(ValueError, match="no ColorMatrix1"):
        profile.as_shot_xyz_to_camera()
    tifffile.imwrite(tmp_path / "plain.tif", bayer)
    with pytest.raises(ValueError, match="not a DNG"):
        read_profile(tmp_path / "plain.tif")
    (tmp_path / "broken.tif").write_bytes(b"II*\x00" + bytes(12))
    with pytest.raises(ValueError, match="cannot read"):
        read_profile(tmp_path / "broken.tif")


def test_illuminant_without_temperature_keeps_libraws_matrix(tmp_path):
    path = two_illuminant_dng(tmp_path / "other.dng", white_xy=xy_at(4000.0))
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].tags[50779].valueoffset
    data = bytearray(path.read_bytes())
    data[offset : offset + 2] = (255).to_bytes(2, "little")  # CalibrationIlluminant2 = other
    path.write_bytes(bytes(data))
    profile = read_profile(path)
    assert profile.illuminants == (17, 255) and not profile.interpolable
    with pytest.raises(ValueError, match="no standard temperature"):
        profile.temperatures  # noqa: B018
    assert read_camera(path) == read_camera(path, matrix="libraw")
