"""Read RGB image files safely, fit them to a square size, and write PNGs.

:func:`read_image` turns any PNG, JPEG, TIFF or BMP file into a channel-last RGB
array with the bit depth it was stored with, and refuses everything it cannot
read faithfully with an :class:`ImageError` that names the file and the reason.
:func:`fit_image` makes a square image of a given size by padding, cropping or
resizing, deterministically. :func:`write_png` writes an RGB image atomically.

Rules of :func:`read_image`
---------------------------
- The file is read with Python (so any path works) and decoded from memory:
  JPEGs with libjpeg-turbo (simplejpeg) in strict mode, other formats with
  OpenCV; TIFFs that OpenCV cannot decode (planar, more exotic layouts) with
  tifffile. The file is never modified.
- Pixels come back in stored order: EXIF orientation tags are ignored.
- Grayscale images are replicated to three equal channels.
- An alpha channel (RGBA, gray + alpha) is dropped, not composited: colours
  stay exactly as stored, whatever the transparency.
- uint8 and uint16 samples are returned as they are (16-bit PNGs and TIFFs
  stay uint16). Float samples (TIFF) are returned as float32 when every value
  is finite and in [0, 1], else refused. Every other sample type (int8, int16,
  int32, uint32, ...) is refused with the type named.
- Empty files, files that are not images, and truncated or corrupt PNGs and
  JPEGs are refused (OpenCV decodes many damaged JPEGs with only a warning on
  stderr): PNG chunks are checked against their CRCs and must end with
  ``IEND``; JPEGs are decoded by libjpeg-turbo in strict mode, which refuses a
  file that ends early, an invalid Huffman code, data left over in a scan and
  a missing or misnumbered restart marker. Damage that still decodes to valid
  codes of the right length (a flipped value bit, for example) cannot be seen
  without the original and is not detected.
- Images smaller than :data:`MIN_SIDE` (16) pixels on a side are refused.
- Multi-page images (TIFF stacks, TIFFs holding several series, animated PNGs)
  are refused ("multi-page TIFF: 3 pages") unless a ``page`` is chosen.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .files import atomic_path
from .hints import FITS, Fit

__all__ = ["MIN_SIDE", "ImageError", "decode_image", "fit_image", "read_image", "write_png"]

#: Smallest accepted height and width, in pixels.
MIN_SIDE = 16

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class ImageError(ValueError):
    """An image file that cannot be read faithfully.

    Attributes
    ----------
    path : str
        The file, as given.
    reason : str
        What is wrong with it, e.g. ``"empty file (0 bytes)"``.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


# --------------------------------------------------------------------- integrity
def _png_problem(data: bytes) -> str | None:
    """Why a PNG byte string is truncated or corrupt, or None if its chunks are sound."""
    pos = len(_PNG_SIGNATURE)
    first = True
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 12 + length
        if end > len(data):
            return f"truncated PNG (chunk {kind!r} at byte {pos} runs past the end of the file)"
        if first and kind != b"IHDR":
            return f"corrupt PNG (first chunk is {kind!r}, not b'IHDR')"
        first = False
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            return f"corrupt PNG (CRC mismatch in chunk {kind!r} at byte {pos})"
        if kind == b"IEND":
            return None
        pos = end
    return "truncated PNG (no IEND chunk)"


def _jpeg_problem(message: str) -> str:
    """The reason to give for a JPEG that libjpeg-turbo refused with ``message``."""
    if "Premature end" in message:
        return f"truncated JPEG (libjpeg-turbo: {message})"
    if "instead of RST" in message:
        return f"corrupt JPEG (missing or misnumbered restart marker; libjpeg-turbo: {message})"
    return f"corrupt JPEG (libjpeg-turbo: {message})"


def _cmyk_to_rgb(cmyk: np.ndarray) -> np.ndarray:
    """Adobe (inverted) CMYK to RGB, as libjpeg-based readers such as OpenCV render it."""
    k = cmyk[..., 3:].astype(np.uint16)
    return (k - (((255 - cmyk[..., :3].astype(np.uint16)) * k) >> 8)).astype(np.uint8)


def _decode_jpeg(path: str | os.PathLike[str], data: bytes) -> np.ndarray:
    """Decode a JPEG strictly to RGB (gray is replicated, CMYK and YCCK converted)."""
    import simplejpeg

    try:
        _, _, colorspace, _ = simplejpeg.decode_jpeg_header(data, strict=True)
        if colorspace in ("CMYK", "YCCK"):
            return _cmyk_to_rgb(simplejpeg.decode_jpeg(data, colorspace="CMYK", strict=True))
        return simplejpeg.decode_jpeg(data, colorspace="RGB", strict=True)
    except ValueError as exc:
        raise ImageError(path, _jpeg_problem(" ".join(str(exc).split()))) from None


# ----------------------------------------------------------------------- decoding
_quiet_lock = threading.Lock()
_quiet_users = 0
_quiet_previous = 0


@contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log while decoding (failures are reported as ImageError).

    The log level is global: the first of overlapping users (threads) saves it and
    the last one restores it.
    """
    import cv2

    global _quiet_users, _quiet_previous
    with _quiet_lock:
        if _quiet_users == 0:
            _quiet_previous = cv2.utils.logging.getLogLevel()
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0:
                cv2.utils.logging.setLogLevel(_quiet_previous)


def _decode_tiff(path: str | os.PathLike[str], data: bytes, page: int = 0) -> np.ndarray:
    """Decode one page of a TIFF with tifffile; channel-last, RGB order."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            stored = tif.pages[page]
            image = stored.asarray()
            layout = stored.keyframe
            separate = layout is not None and layout.planarconfig == tifffile.PLANARCONFIG.SEPARATE
    except Exception as exc:  # tifffile raises many types for damaged files
        raise ImageError(path, f"unreadable TIFF ({type(exc).__name__}: {exc})") from None
    if separate and image.ndim == 3:
        image = np.moveaxis(image, 0, -1)
    return image


def _tiff_pages(data: bytes) -> int:
    """The number of images in a TIFF: its pages, or the images of an ImageJ stack whose
    later pages have no directory of their own; 1 when tifffile cannot tell (the decoder
    then says what is wrong)."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            count = len(tif.pages)
            metadata = tif.imagej_metadata or {}
    except Exception:  # damaged: left to the decoder, which names the problem
        return 1
    images = metadata.get("images", 1)
    return max(count, images if isinstance(images, int) else 1)


def _png_frames(data: bytes) -> int:
    """The frames of an animated PNG (its ``acTL`` chunk before ``IDAT``), else 1."""
    pos = len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"acTL" and length >= 4:
            return int(struct.unpack(">I", data[pos + 8 : pos + 12])[0])
        if kind in (b"IDAT", b"IEND"):
            return 1
        pos += 12 + length
    return 1


def _choose_page(path: str | os.PathLike[str], data: bytes, page: int | None) -> int:
    """The page of ``data`` to decode; refuse multi-page images without ``page``."""
    if data.startswith(_TIFF_SIGNATURES):
        pages, kind = _tiff_pages(data), "multi-page TIFF"
    elif data.startswith(_PNG_SIGNATURE):
        pages, kind = _png_frames(data), "animated PNG"
    else:
        pages, kind = 1, "single-page image"
    if page is None:
        if pages > 1:
            raise ImageError(
                path, f"{kind}: {pages} pages; choose one with page (--page K, 0 to {pages - 1})"
            )
        return 0
    if page >= pages:
        raise ImageError(path, f"page {page} asked of an image with {pages} page(s)")
    if page > 0 and kind == "animated PNG":
        raise ImageError(path, f"page {page} of an animated PNG: only page 0 can be read")
    return page


def _decode(path: str | os.PathLike[str], data: bytes) -> tuple[np.ndarray, bool]:
    """Decode bytes; return the array and whether its colour channels are in BGR order."""
    import cv2

    if data.startswith(_JPEG_SIGNATURE):
        return _decode_jpeg(path, data), False
    if data.startswith(_PNG_SIGNATURE):
        problem = _png_problem(data)
        if problem is not None:
            raise ImageError(path, problem)
    buffer = np.frombuffer(data, dtype=np.uint8)
    with _quiet_opencv():  # decoded unchanged: depth, alpha and gray as stored
        try:
            image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
        except cv2.error:
            image = None
    if image is not None:
        return image, True
    if data.startswith(_TIFF_SIGNATURES):
        return _decode_tiff(path, data), False
    if data.startswith((_PNG_SIGNATURE, _JPEG_SIGNATURE, b"BM")):
        raise ImageError(path, "corrupt or unsupported image data (OpenCV could not decode it)")
    raise ImageError(path, f"not an image (unrecognised file signature {data[:8]!r})")


def _to_rgb(path: str | os.PathLike[str], image: np.ndarray, bgr: bool) -> np.ndarray:
    """Gray → 3 equal channels, drop alpha, BGR → RGB; refuse other channel counts."""
    import cv2

    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3:
        raise ImageError(path, f"unsupported image shape {image.shape}")
    channels = image.shape[2]
    if channels in (1, 2):  # gray, gray + alpha
        return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2RGB)
    if channels == 3 and not bgr:
        return np.ascontiguousarray(image)
    if channels in (3, 4):  # colour, colour + alpha (OpenCV converts fast; a view would not)
        codes = {(3, True): cv2.COLOR_BGR2RGB, (4, True): cv2.COLOR_BGRA2RGB}
        return cv2.cvtColor(image, codes.get((channels, bgr), cv2.COLOR_RGBA2RGB))
    raise ImageError(path, f"unsupported number of channels ({channels}; 1 to 4 expected)")


def _check_samples(path: str | os.PathLike[str], image: np.ndarray) -> np.ndarray:
    """Keep uint8/uint16; float in [0, 1] becomes float32; refuse every other type."""
    if image.dtype in (np.dtype(np.uint8), np.dtype(np.uint16)):
        return image
    if np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all():
            raise ImageError(path, f"{image.dtype} samples contain NaN or infinite values")
        lo, hi = float(image.min()), float(image.max())
        if lo < 0.0 or hi > 1.0:
            raise ImageError(
                path,
                f"{image.dtype} samples must lie in [0, 1], got values in [{lo:.6g}, {hi:.6g}]",
            )
        return image.astype(np.float32)
    raise ImageError(
        path, f"unsupported sample type {image.dtype} (uint8, uint16 or float in [0, 1] expected)"
    )


def read_image(path: str | os.PathLike[str], *, page: int | None = None) -> np.ndarray:
    """Read an image file as channel-last RGB, refusing anything it cannot read faithfully.

    Parameters
    ----------
    path : str or os.PathLike
        A PNG, JPEG, TIFF or BMP file (the format is recognised from the content,
        not the suffix). Never modified.
    page : int, optional
        The page to read (0 = the first) of a multi-page TIFF (a stack, or several
        series); an animated PNG has only page 0, its default image. Without
        ``page``, multi-page images are refused: reading the first page silently
        would drop the others.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3)
        A new C-contiguous array in RGB order with H, W >= 16: uint8 or uint16 as
        stored (0–255 or 0–65535), or float32 in [0, 1] for float TIFFs. Grayscale
        images have three equal channels; alpha is dropped (see the module notes).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ImageError
        ``path`` is a folder, an empty file, not an image, truncated or corrupt,
        has an unsupported sample type or channel count, is smaller than 16×16,
        has several pages and no ``page`` is given ("multi-page TIFF: 3 pages; ..."),
        or has no page ``page``.
    ValueError
        ``page`` is not None or an integer >= 0.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> path = Path(tempfile.mkdtemp()) / "grey.png"
    >>> _ = write_png(path, np.full((16, 20, 3), 200, np.uint8))
    >>> image = read_image(path)
    >>> image.shape, image.dtype, int(image.max())
    ((16, 20, 3), dtype('uint8'), 200)
    """
    _check_page(page)
    if not os.path.exists(path):
        raise FileNotFoundError(f"image file not found: {os.fspath(path)}")
    if os.path.isdir(path):
        raise ImageError(path, "is a folder, not an image file")
    return decode_image(Path(path).read_bytes(), page=page, path=path)


def _check_page(page: int | None) -> None:
    if page is not None and (
        isinstance(page, bool) or not isinstance(page, (int, np.integer)) or page < 0
    ):
        raise ValueError(f"page must be None or a non-negative integer, got {page!r}")


def decode_image(
    data: bytes, *, page: int | None = None, path: str | os.PathLike[str] = "<bytes>"
) -> np.ndarray:
    """Decode the bytes of an image file as :func:`read_image` reads the file.

    For a caller that needs the bytes too (to hash exactly what it converts, for
    instance), without reading the file twice.

    Parameters
    ----------
    data : bytes
        The whole content of a PNG, JPEG, TIFF or BMP file.
    page : int, optional
        As for :func:`read_image`.
    path : str or os.PathLike
        The name given to the image in errors.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3)
        As for :func:`read_image`.

    Raises
    ------
    ImageError
        ``data`` is empty, not an image, truncated or corrupt, or refused for the
        reasons listed in :func:`read_image`.
    ValueError
        ``page`` is not None or an integer >= 0.

    Examples
    --------
    >>> import cv2
    >>> data = cv2.imencode(".png", np.full((16, 20, 3), 200, np.uint8))[1].tobytes()
    >>> decode_image(data).shape
    (16, 20, 3)
    """
    _check_page(page)
    if not data:
        raise ImageError(path, "empty file (0 bytes)")
    chosen = _choose_page(path, data, page)
    image, bgr = (_decode_tiff(path, data, chosen), False) if chosen else _decode(path, data)
    image = _check_samples(path, image)
    image = _to_rgb(path, image, bgr)
    height, width = image.shape[:2]
    if height < MIN_SIDE or width < MIN_SIDE:
        raise ImageError(
            path,
            f"too small ({width}×{height} px; at least {MIN_SIDE}×{MIN_SIDE} needed)",
        )
    return np.ascontiguousarray(image)


# ------------------------------------------------------------------------ fitting
def _check_fit_input(rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f"rgb must be a numpy.ndarray, got {type(rgb).__name__}")
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must have shape (H, W, 3), got shape {rgb.shape}")
    if rgb.dtype not in (np.uint8, np.uint16, np.float32, np.float64):
        raise TypeError(f"rgb must be uint8, uint16, float32 or float64, got {rgb.dtype}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"rgb must not be empty, got shape {rgb.shape}")


def _centre_crop(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Central ``height × width`` window (each at most the image's own size); a view."""
    top = (rgb.shape[0] - height) // 2
    left = (rgb.shape[1] - width) // 2
    return rgb[top : top + height, left : left + width]


def _crop_or_pad(rgb: np.ndarray, size: int) -> np.ndarray:
    """Per axis: centre-crop when longer than ``size``, reflect-pad (101) when shorter."""
    import cv2

    rgb = _centre_crop(rgb, min(rgb.shape[0], size), min(rgb.shape[1], size))
    dy, dx = size - rgb.shape[0], size - rgb.shape[1]
    if dy == 0 and dx == 0:
        return rgb.copy()
    return cv2.copyMakeBorder(
        np.ascontiguousarray(rgb), dy // 2, dy - dy // 2, dx // 2, dx - dx // 2,
        cv2.BORDER_REFLECT_101,
    )  # fmt: skip


def _resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to the largest square, then resize it to ``size × size``."""
    import cv2

    side = min(rgb.shape[:2])
    square = _centre_crop(rgb, side, side).copy()
    if side == size:
        return square
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    out = cv2.resize(square, (size, size), interpolation=interpolation)
    if np.issubdtype(out.dtype, np.floating):  # integers saturate inside OpenCV
        np.clip(out, 0.0, 1.0, out=out)
    return out


def fit_image(rgb: np.ndarray, size: int | None, *, fit: Fit = "pad") -> np.ndarray:
    """Make a square ``size × size`` image, or crop to even height and width.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        uint8, uint16, or float32/float64 in [0, 1]. Not modified.
    size : int or None
        Side of the result: even and at least 16. ``None`` only drops the last row
        and/or column when H or W is odd (mosaic layouts need even sizes).
    fit : {"pad", "crop", "resize"}
        ``"pad"`` and ``"crop"`` work per axis: a side longer than ``size`` is
        centre-cropped, a shorter one is centre-padded by edge reflection
        (``cv2.BORDER_REFLECT_101``, repeated for very small images); so an image
        never gets resampled. ``"resize"`` centre-crops to the largest square and
        resizes it with ``cv2.INTER_AREA`` (shrinking) or ``cv2.INTER_CUBIC``
        (enlarging), clipping to the dtype's range; aspect ratio is kept.

    Returns
    -------
    numpy.ndarray, shape (size, size, 3) or (H - H % 2, W - W % 2, 3)
        A new C-contiguous array of the input's dtype; deterministic.

    Examples
    --------
    >>> rgb = np.zeros((20, 31, 3), np.uint8)
    >>> fit_image(rgb, 24).shape, fit_image(rgb, 16, fit="resize").shape
    ((24, 24, 3), (16, 16, 3))
    >>> fit_image(rgb, None).shape
    (20, 30, 3)
    """
    _check_fit_input(rgb)
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    if size is None:
        height, width = rgb.shape[0] - rgb.shape[0] % 2, rgb.shape[1] - rgb.shape[1] % 2
        if height == 0 or width == 0:
            raise ValueError(f"rgb must be at least 2×2 to crop to even size, got {rgb.shape}")
        return rgb[:height, :width].copy()
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"size must be an int or None, got {type(size).__name__}")
    if size < MIN_SIDE or size % 2:
        raise ValueError(f"size must be even and at least {MIN_SIDE}, got {size}")
    size = int(size)
    out = _resize(rgb, size) if fit == "resize" else _crop_or_pad(rgb, size)
    return np.ascontiguousarray(out)


# ------------------------------------------------------------------------ writing
def write_png(path: str | os.PathLike[str], rgb: np.ndarray) -> Path:
    """Write an RGB image (H, W, 3), uint8 or uint16, as a PNG, atomically.

    The folder of ``path`` must exist; an existing file is replaced only once the
    new one is complete (see :func:`rawspace.files.atomic_path`).

    Raises
    ------
    OSError
        OpenCV could not write the file (the folder is missing or not writable).

    Examples
    --------
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "flat.png"
    >>> write_png(path, np.full((16, 16, 3), 65535, np.uint16)).name
    'flat.png'
    >>> int(read_image(path).max())
    65535
    """
    import cv2

    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be an (H, W, 3) array, got {getattr(rgb, 'shape', rgb)!r}")
    if rgb.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"rgb must be uint8 or uint16 for a PNG, got {rgb.dtype}")
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(target)!r}: no folder {str(target.parent)!r}")
    with atomic_path(target) as temporary:
        if not cv2.imwrite(str(temporary), np.ascontiguousarray(rgb[..., ::-1])):
            raise OSError(f"cannot write {str(target)!r}: OpenCV could not write the PNG")
    return target
