"""rawspace.images: reading RGB files safely, refusing bad ones, fitting to a size."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from skimage import io as skio

from rawspace.files import IMAGE_SUFFIXES
from rawspace.hints import FITS
from rawspace.images import ImageError, decode_image, fit_image, read_image


def _rgb(h: int = 40, w: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _write_cv2(path: Path, rgb: np.ndarray, params: tuple[int, ...] = ()) -> Path:
    """Write an RGB (or gray, or RGBA) image with OpenCV, which expects BGR(A)."""
    if rgb.ndim == 3 and rgb.shape[2] >= 3:
        rgb = np.concatenate([rgb[:, :, 2::-1], rgb[:, :, 3:]], axis=2)
    assert cv2.imwrite(str(path), rgb, list(params))
    return path


def _digest(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _flip_middle(data: bytes, count: int) -> bytes:
    middle = len(data) // 2
    flipped = bytes(b ^ 0xFF for b in data[middle : middle + count])
    return data[:middle] + flipped + data[middle + count :]


@pytest.fixture
def photo(sample_images: dict[str, np.ndarray]) -> np.ndarray:
    """A real 256×256 RGB photo (compresses like a real image)."""
    return sample_images["astronaut"]


# ----------------------------------------------------------------------------- good files
def test_png_reads_exactly_in_rgb_order(tmp_path: Path) -> None:
    rgb = _rgb()
    out = read_image(_write_cv2(tmp_path / "a.png", rgb))
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    np.testing.assert_array_equal(out, rgb)
    assert out.flags.c_contiguous and out.flags.writeable


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".jpg"])
def test_pure_red_reads_as_red(tmp_path: Path, suffix: str) -> None:
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 255
    out = read_image(_write_cv2(tmp_path / f"red{suffix}", red))
    tolerance = 2 if suffix == ".jpg" else 0
    assert np.abs(out.astype(int) - [255, 0, 0]).max() <= tolerance


def test_tifffile_rgb_tiff_is_rgb(tmp_path: Path) -> None:
    rgb = _rgb(seed=1)
    tifffile.imwrite(tmp_path / "a.tif", rgb, photometric="rgb")
    np.testing.assert_array_equal(read_image(tmp_path / "a.tif"), rgb)


def test_planar_tiff_falls_back_to_tifffile(tmp_path: Path) -> None:
    rgb = _rgb(seed=2)
    path = tmp_path / "planar.tiff"
    tifffile.imwrite(path, np.moveaxis(rgb, 2, 0), photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(read_image(path), rgb)


def test_jpeg_close_to_source(tmp_path: Path, photo: np.ndarray) -> None:
    out = read_image(_write_cv2(tmp_path / "a.jpg", photo, (cv2.IMWRITE_JPEG_QUALITY, 95)))
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - photo).mean() < 3


@pytest.mark.parametrize(
    "params",
    [
        (cv2.IMWRITE_JPEG_PROGRESSIVE, 1),
        (cv2.IMWRITE_JPEG_RST_INTERVAL, 2),
        (cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_RST_INTERVAL, 3),
    ],
)
def test_valid_jpeg_variants_are_accepted(tmp_path: Path, photo: np.ndarray, params) -> None:
    path = _write_cv2(tmp_path / "v.jpg", photo, params)
    assert read_image(path).shape == photo.shape


def test_jpeg_with_trailing_bytes_is_accepted(tmp_path: Path, photo: np.ndarray) -> None:
    path = _write_cv2(tmp_path / "t.jpg", photo)
    path.write_bytes(path.read_bytes() + b"\x00" * 64)
    assert read_image(path).shape == photo.shape


def test_content_decides_not_suffix(tmp_path: Path) -> None:
    rgb = _rgb(seed=3)
    png = _write_cv2(tmp_path / "a.png", rgb)
    disguised = tmp_path / "really_png.jpg"
    disguised.write_bytes(png.read_bytes())
    np.testing.assert_array_equal(read_image(disguised), rgb)


def test_unicode_path(tmp_path: Path) -> None:
    rgb = _rgb(seed=4)
    folder = tmp_path / "Zellen µ 細胞"
    folder.mkdir()
    path = folder / "zellé.png"
    path.write_bytes(cv2.imencode(".png", rgb[:, :, ::-1])[1].tobytes())
    np.testing.assert_array_equal(read_image(str(path)), rgb)


def test_grayscale_png_replicated(tmp_path: Path) -> None:
    gray = _rgb(seed=5)[:, :, 0]
    out = read_image(_write_cv2(tmp_path / "g.png", gray))
    assert out.shape == (*gray.shape, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], gray)


def test_rgba_png_alpha_dropped_colours_intact(tmp_path: Path) -> None:
    rgb = _rgb(seed=6)
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[:, ::2] = 255  # transparent columns must keep their colour too
    out = read_image(_write_cv2(tmp_path / "rgba.png", np.dstack([rgb, alpha])))
    np.testing.assert_array_equal(out, rgb)


def test_gray_alpha_png_alpha_dropped(tmp_path: Path) -> None:
    gray = _rgb(seed=7)[:, :, 0]
    la = np.dstack([gray, np.full_like(gray, 10)])
    skio.imsave(tmp_path / "la.png", la, check_contrast=False)
    out = read_image(tmp_path / "la.png")
    np.testing.assert_array_equal(out, np.repeat(gray[:, :, None], 3, axis=2))


def test_16bit_png_exact(tmp_path: Path) -> None:
    rgb = np.random.default_rng(8).integers(0, 65536, (20, 24, 3), dtype=np.uint16)
    rgb[0, 0] = [0, 65535, 12345]
    out = read_image(_write_cv2(tmp_path / "a16.png", rgb))
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, rgb)


def test_16bit_gray_png_exact(tmp_path: Path) -> None:
    gray = np.random.default_rng(9).integers(0, 65536, (20, 24), dtype=np.uint16)
    out = read_image(_write_cv2(tmp_path / "g16.png", gray))
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, np.repeat(gray[:, :, None], 3, axis=2))


def test_16bit_tiff_exact(tmp_path: Path) -> None:
    rgb = np.random.default_rng(10).integers(0, 65536, (20, 24, 3), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "a16.tif", rgb, photometric="rgb")
    out = read_image(tmp_path / "a16.tif")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_tiff_in_unit_range_becomes_float32(tmp_path: Path, dtype) -> None:
    rgb = np.random.default_rng(11).random((20, 24, 3)).astype(dtype)
    rgb[0, 0] = [0.0, 1.0, 0.5]
    tifffile.imwrite(tmp_path / "f.tif", rgb, photometric="rgb")
    out = read_image(tmp_path / "f.tif")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, rgb.astype(np.float32))


def test_exactly_16_pixels_is_enough(tmp_path: Path) -> None:
    assert read_image(_write_cv2(tmp_path / "s.png", _rgb(16, 16))).shape == (16, 16, 3)


# ------------------------------------------------------------------------------ bad files
def _reason(path: Path) -> str:
    with pytest.raises(ImageError) as info:
        read_image(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.path == str(path)
    assert str(error) == f"{path}: {error.reason}"
    return error.reason


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.png"):
        read_image(tmp_path / "nope.png")


def test_folder(tmp_path: Path) -> None:
    assert "folder" in _reason(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    assert _reason(path) == "empty file (0 bytes)"


def test_decode_image_is_read_image_from_the_bytes(tmp_path: Path, photo: np.ndarray) -> None:
    for suffix in (".png", ".jpg", ".tif"):
        path = _write_cv2(tmp_path / f"p{suffix}", photo)
        decoded = decode_image(path.read_bytes(), path=path)
        np.testing.assert_array_equal(decoded, read_image(path))
    with pytest.raises(ImageError, match=r"^cell\.png: empty file \(0 bytes\)$"):
        decode_image(b"", path="cell.png")
    with pytest.raises(ImageError, match=r"<bytes>: not an image"):
        decode_image(b"hello world")
    with pytest.raises(ValueError, match="page must be None or a non-negative integer, got -1"):
        decode_image(b"", page=-1)


def test_text_named_png(tmp_path: Path) -> None:
    path = tmp_path / "text.png"
    path.write_text("this is not an image\n")
    assert "not an image" in _reason(path)


def test_truncated_png(tmp_path: Path, photo: np.ndarray) -> None:
    path = _write_cv2(tmp_path / "t.png", photo)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "truncated PNG" in _reason(path)
    path.write_bytes(data[:-12])  # only IEND missing: pixels complete, file is not
    assert "truncated PNG" in _reason(path)


def test_corrupt_png(tmp_path: Path, photo: np.ndarray) -> None:
    path = _write_cv2(tmp_path / "c.png", photo)
    path.write_bytes(_flip_middle(path.read_bytes(), 4))
    assert "CRC mismatch" in _reason(path)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg(tmp_path: Path, photo: np.ndarray, keep: float) -> None:
    path = _write_cv2(tmp_path / "t.jpg", photo)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    assert "truncated JPEG" in _reason(path)


def test_jpeg_missing_only_end_marker(tmp_path: Path, photo: np.ndarray) -> None:
    path = _write_cv2(tmp_path / "t.jpg", photo)
    path.write_bytes(path.read_bytes()[:-2])
    assert "truncated JPEG" in _reason(path)


def test_corrupt_jpeg_bytes_flipped(tmp_path: Path, photo: np.ndarray) -> None:
    path = _write_cv2(tmp_path / "c.jpg", photo)
    data = path.read_bytes()
    # OpenCV decodes this file (with a warning on stderr) into a damaged image.
    corrupt = _flip_middle(data, 64)
    assert cv2.imdecode(np.frombuffer(corrupt, np.uint8), cv2.IMREAD_COLOR) is not None
    path.write_bytes(corrupt)
    assert "corrupt JPEG" in _reason(path)


@pytest.mark.parametrize("offset", [0.3, 0.5, 0.7])
def test_corrupt_jpeg_zeroed_run(tmp_path: Path, photo: np.ndarray, offset: float) -> None:
    path = _write_cv2(tmp_path / "z.jpg", photo)
    data = bytearray(path.read_bytes())
    start = int(len(data) * offset)
    data[start : start + 48] = bytes(48)  # no new marker: only decoding can tell
    path.write_bytes(bytes(data))
    assert "corrupt JPEG" in _reason(path)


def test_misnumbered_restart_marker(tmp_path: Path, photo: np.ndarray) -> None:
    path = _write_cv2(tmp_path / "r.jpg", photo, (cv2.IMWRITE_JPEG_RST_INTERVAL, 4))
    data = bytearray(path.read_bytes())
    rst = data.index(b"\xff\xd1")  # the second restart marker becomes RST3
    data[rst + 1] = 0xD3
    path.write_bytes(bytes(data))
    assert "restart marker" in _reason(path)


def test_corrupt_bmp(tmp_path: Path) -> None:
    path = _write_cv2(tmp_path / "t.bmp", _rgb())
    path.write_bytes(path.read_bytes()[:100])
    assert "corrupt" in _reason(path)


def test_one_pixel_image(tmp_path: Path) -> None:
    path = _write_cv2(tmp_path / "one.png", _rgb(1, 1))
    assert _reason(path) == "too small (1×1 px; at least 16×16 needed)"


def test_too_narrow_image(tmp_path: Path) -> None:
    path = _write_cv2(tmp_path / "narrow.png", _rgb(40, 15))
    assert _reason(path) == "too small (15×40 px; at least 16×16 needed)"


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint32])
def test_other_integer_depths_refused(tmp_path: Path, dtype) -> None:
    tifffile.imwrite(tmp_path / "i.tif", np.ones((20, 20, 3), dtype), photometric="rgb")
    reason = _reason(tmp_path / "i.tif")
    assert np.dtype(dtype).name in reason and "unsupported sample type" in reason


def test_float_tiff_out_of_range_refused(tmp_path: Path) -> None:
    rgb = np.full((20, 20, 3), 0.5, np.float32)
    rgb[3, 4, 1] = 1.5
    tifffile.imwrite(tmp_path / "f.tif", rgb, photometric="rgb")
    assert "must lie in [0, 1]" in _reason(tmp_path / "f.tif")


def test_float_tiff_nan_refused(tmp_path: Path) -> None:
    rgb = np.full((20, 20, 3), 0.5, np.float32)
    rgb[0, 0, 0] = np.nan
    tifffile.imwrite(tmp_path / "n.tif", rgb, photometric="rgb")
    assert "NaN" in _reason(tmp_path / "n.tif")


def test_five_channels_refused(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "five.tif", np.ones((20, 20, 5), np.uint8), planarconfig="contig")
    assert "channels" in _reason(tmp_path / "five.tif")


def test_truncated_tiff(tmp_path: Path) -> None:
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, _rgb(64, 64), photometric="rgb")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    assert "TIFF" in _reason(path)


def test_opencv_log_level_restored_after_failures(tmp_path: Path) -> None:
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, _rgb(64, 64), photometric="rgb")
    path.write_bytes(path.read_bytes()[:5000])
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_WARNING)
    try:
        with pytest.raises(ImageError):
            read_image(path)
        assert cv2.utils.logging.getLogLevel() == cv2.utils.logging.LOG_LEVEL_WARNING
    finally:
        cv2.utils.logging.setLogLevel(previous)


def test_reading_never_modifies_files(tmp_path: Path, photo: np.ndarray) -> None:
    paths = [
        _write_cv2(tmp_path / "a.png", photo),
        _write_cv2(tmp_path / "a.jpg", photo),
        _write_cv2(tmp_path / "a.tif", photo),
        _write_cv2(tmp_path / "one.png", _rgb(1, 1)),
    ]
    bad = tmp_path / "bad.png"
    bad.write_text("text")
    paths.append(bad)
    before = {p: _digest(p) for p in paths}
    for path in paths:
        try:
            read_image(path)
        except ImageError:
            pass
    assert {p: _digest(p) for p in paths} == before


def test_suffixes() -> None:
    assert IMAGE_SUFFIXES == (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


# -------------------------------------------------------------------------------- fitting
@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_pad_and_crop_pad_smaller_images_by_reflection(fit: str) -> None:
    rgb = _rgb(17, 21)
    out = fit_image(rgb, 40, fit=fit)
    assert out.shape == (40, 40, 3)
    np.testing.assert_array_equal(out, np.pad(rgb, ((11, 12), (9, 10), (0, 0)), mode="reflect"))


@pytest.mark.parametrize("fit", ["pad", "crop"])
def test_pad_and_crop_crop_larger_images_at_the_centre(fit: str) -> None:
    rgb = _rgb(60, 71)
    np.testing.assert_array_equal(fit_image(rgb, 40, fit=fit), rgb[10:50, 15:55])


def test_pad_mixed_crops_one_axis_and_pads_the_other() -> None:
    rgb = _rgb(30, 70)
    expected = np.pad(rgb[:, 15:55], ((5, 5), (0, 0), (0, 0)), mode="reflect")
    np.testing.assert_array_equal(fit_image(rgb, 40), expected)


def test_pad_tiny_image_to_large_size_reflects_repeatedly() -> None:
    rgb = _rgb(16, 16)
    np.testing.assert_array_equal(
        fit_image(rgb, 400), np.pad(rgb, ((192, 192), (192, 192), (0, 0)), mode="reflect")
    )


def test_resize_shrinks_with_area_keeping_aspect() -> None:
    rgb = _rgb(100, 160)
    out = fit_image(rgb, 50, fit="resize")
    square = rgb[:, 30:130]
    np.testing.assert_array_equal(out, cv2.resize(square, (50, 50), interpolation=cv2.INTER_AREA))


def test_resize_enlarges_with_cubic() -> None:
    rgb = _rgb(20, 20)
    out = fit_image(rgb, 64, fit="resize")
    np.testing.assert_array_equal(out, cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_CUBIC))


def test_resize_float_is_clipped_to_unit_range() -> None:
    rgb = np.zeros((20, 20, 3), np.float32)
    rgb[::2, ::2] = 1.0  # a checkerboard makes cubic interpolation overshoot
    out = fit_image(rgb, 64, fit="resize")
    assert out.dtype == np.float32 and out.min() >= 0.0 and out.max() <= 1.0
    raw = cv2.resize(rgb, (64, 64), interpolation=cv2.INTER_CUBIC)
    assert raw.min() < 0.0 or raw.max() > 1.0  # the clip above had work to do


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("fit", FITS)
def test_fit_keeps_dtype_and_returns_new_contiguous(dtype, fit: str) -> None:
    rgb = (_rgb(50, 30) / 255).astype(dtype) if dtype == np.float32 else _rgb(50, 30).astype(dtype)
    rgb.setflags(write=False)
    out = fit_image(rgb, 40, fit=fit)
    assert out.shape == (40, 40, 3) and out.dtype == dtype
    assert out.flags.c_contiguous and out.flags.writeable
    assert not np.shares_memory(out, rgb)
    np.testing.assert_array_equal(out, fit_image(rgb, 40, fit=fit))


@pytest.mark.parametrize("fit", FITS)
def test_same_size_is_an_exact_copy(fit: str) -> None:
    rgb = _rgb(40, 40)
    out = fit_image(rgb, 40, fit=fit)
    np.testing.assert_array_equal(out, rgb)
    assert not np.shares_memory(out, rgb)


def test_size_none_crops_to_even() -> None:
    rgb = _rgb(41, 33)
    out = fit_image(rgb, None)
    np.testing.assert_array_equal(out, rgb[:40, :32])
    assert out.flags.c_contiguous and not np.shares_memory(out, rgb)


@pytest.mark.parametrize("size", [15, 14, 41, 0, -2])
def test_bad_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="size"):
        fit_image(_rgb(), size)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="fit must be one of"):
        fit_image(_rgb(), 40, fit="stretch")
    with pytest.raises(TypeError, match="size"):
        fit_image(_rgb(), 40.0)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        fit_image(np.zeros((20, 20), np.uint8), 40)
    with pytest.raises(TypeError, match="int16"):
        fit_image(np.zeros((20, 20, 3), np.int16), 40)


# --------------------------------------------------------------------------- multi-page
def _stack(n: int = 3) -> np.ndarray:
    return np.stack([_rgb(20, 24, seed=k) for k in range(n)])


def _pil_page(path: Path, page: int) -> np.ndarray:
    """Page ``page`` as Pillow reads it: an independent TIFF and PNG reader."""
    from PIL import Image

    with Image.open(path) as image:
        image.seek(page)
        return np.asarray(image.convert("RGB"))


def _multi_page_files(folder: Path) -> dict[str, tuple[Path, int]]:
    """Multi-page TIFFs made three ways, with their page counts."""
    from PIL import Image

    stack = _stack()
    tifffile.imwrite(folder / "stack.tif", stack, photometric="rgb")  # one series, 3 pages
    tifffile.imwrite(folder / "series.tif", stack[0])
    tifffile.imwrite(folder / "series.tif", _rgb(32, 30, seed=9), append=True)  # other size
    frames = [Image.fromarray(page) for page in stack]
    frames[0].save(folder / "pil.tif", save_all=True, append_images=frames[1:])
    return {
        "stack": (folder / "stack.tif", 3),
        "series": (folder / "series.tif", 2),
        "pil": (folder / "pil.tif", 3),
    }


@pytest.mark.parametrize("kind", ["stack", "series", "pil"])
def test_multi_page_tiff_refused_without_a_page(tmp_path: Path, kind: str) -> None:
    path, pages = _multi_page_files(tmp_path)[kind]
    with pytest.raises(ImageError, match=f"multi-page TIFF: {pages} pages; choose one"):
        read_image(path)


@pytest.mark.parametrize("kind", ["stack", "series", "pil"])
def test_chosen_page_is_the_page_pillow_reads(tmp_path: Path, kind: str) -> None:
    path, pages = _multi_page_files(tmp_path)[kind]
    for page in range(pages):
        np.testing.assert_array_equal(read_image(path, page=page), _pil_page(path, page))
    with pytest.raises(ImageError, match=f"page {pages} asked of an image with {pages} page"):
        read_image(path, page=pages)


def test_animated_png_refused_without_a_page(tmp_path: Path) -> None:
    from PIL import Image

    frames = [Image.fromarray(page) for page in _stack(2)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageError, match="animated PNG: 2 pages"):
        read_image(tmp_path / "anim.png")
    np.testing.assert_array_equal(read_image(tmp_path / "anim.png", page=0), _stack(2)[0])
    with pytest.raises(ImageError, match="only page 0"):
        read_image(tmp_path / "anim.png", page=1)


def test_page_of_single_page_images(tmp_path: Path) -> None:
    path = _write_cv2(tmp_path / "one.png", _rgb())
    np.testing.assert_array_equal(read_image(path, page=0), read_image(path))
    with pytest.raises(ImageError, match="page 1 asked of an image with 1 page"):
        read_image(path, page=1)
    for bad in (-1, 1.0, True, "0"):
        with pytest.raises(ValueError, match="page must be None or a non-negative integer"):
            read_image(path, page=bad)  # type: ignore[arg-type]
