"""Read RGB image files safely and fit them to a square size.

:func:`read_image` turns any PNG, JPEG, TIFF or BMP file into a channel-last RGB
array with the bit depth it was stored with, and refuses everything it cannot
read faithfully with an :class:`ImageError` that names the file and the reason.
:func:`fit_image` makes a square image of a given size by padding, cropping or
resizing, deterministically.

Rules of :func:`read_image`
---------------------------
- The file is read with Python (so any Unicode path works) and decoded from
  memory with OpenCV; TIFFs that OpenCV cannot decode (planar, more exotic
  layouts) are decoded with tifffile. The file is never modified.
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
  ``IEND``; JPEG marker segments are walked to the end-of-image marker, and the
  Huffman codes of baseline (sequential) scans are walked block by block as
  libjpeg decodes them: an invalid code, data that ends inside a block, bytes
  left over after the last block or a misnumbered restart marker make the file
  corrupt. Progressive and arithmetic-coded scans get the structural check only.
  Damage that still decodes to valid codes of the right length (a flipped value
  bit, for example) cannot be seen without the original and is not detected.
- Images smaller than :data:`MIN_SIDE` (16) pixels on a side are refused.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import tifffile
from numba import njit

__all__ = ["FITS", "IMAGE_SUFFIXES", "MIN_SIDE", "ImageError", "fit_image", "read_image"]

#: File suffixes (lower case) that folder searches treat as images.
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")
#: Smallest accepted height and width, in pixels.
MIN_SIDE = 16
#: Modes of :func:`fit_image`.
FITS = ("pad", "crop", "resize")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
_TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
# Markers that may follow entropy-coded data before the end of the image: tables,
# restart interval, comments, application segments, DNL and the next scan.
_JPEG_INTERSCAN = frozenset([0xC4, 0xCC, 0xDA, 0xDB, 0xDC, 0xDD, 0xFE, *range(0xE0, 0xF0)])
_JPEG_EOI = 0xD9
_JPEG_SOS = 0xDA
_JPEG_DHT = 0xC4
_LOOKAHEAD = 9  # bits of the Huffman look-up table
_JPEG_DRI = 0xDD
_JPEG_SOF = frozenset(
    [*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)]
)
_JPEG_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])


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


def _jpeg_markers(data: bytes) -> np.ndarray:
    """Byte offsets of every 0xFF that starts a marker other than a restart marker.

    Stuffed bytes (0xFF00), restart markers (0xFFD0–0xFFD7) and fill bytes (an 0xFF
    followed by another 0xFF) are left out, so in entropy-coded data the offsets are
    exactly the places where the data ends.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    following = buf[1:]
    is_marker = (buf[:-1] == 0xFF) & (following != 0x00) & (following != 0xFF)
    is_marker &= (following < 0xD0) | (following > 0xD7)
    return np.flatnonzero(is_marker)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class _JpegState:
    """What the headers before a scan declared: frame, Huffman tables, restart interval."""

    sof: int = 0
    height: int = 0
    width: int = 0
    components: dict[int, tuple[int, int]] = field(default_factory=dict)  # id → (h, v)
    maxcode: np.ndarray = field(default_factory=lambda: np.full((8, 18), -1, np.int32))
    valptr: np.ndarray = field(default_factory=lambda: np.zeros((8, 17), np.int32))
    mincode: np.ndarray = field(default_factory=lambda: np.zeros((8, 17), np.int32))
    huffval: np.ndarray = field(default_factory=lambda: np.zeros((8, 256), np.int32))
    lookup: np.ndarray = field(default_factory=lambda: np.zeros((8, 1 << _LOOKAHEAD), np.int32))
    defined: set[int] = field(default_factory=set)
    restart_interval: int = 0

    def read_segment(self, marker: int, body: bytes) -> None:
        """Record a frame header, Huffman tables or restart interval (struct errors if short)."""
        if marker in _JPEG_SOF:
            _, self.height, self.width, count = struct.unpack(">BHHB", body[:6])
            self.sof = marker
            self.components = {}
            for i in range(count):
                ident, sampling, _ = struct.unpack(">BBB", body[6 + 3 * i : 9 + 3 * i])
                self.components[ident] = (max(sampling >> 4, 1), max(sampling & 15, 1))
        elif marker == _JPEG_DHT:
            pos = 0
            while pos < len(body):
                kind, ident = body[pos] >> 4, body[pos] & 15  # class 0 DC, 1 AC; id 0–3
                counts = struct.unpack(">16B", body[pos + 1 : pos + 17])
                symbols = body[pos + 17 : pos + 17 + sum(counts)]
                if kind > 1 or ident > 3 or len(symbols) != sum(counts) or len(symbols) > 256:
                    raise struct.error("malformed Huffman table")
                table = 4 * kind + ident
                self._huffman_table(table, counts, symbols)
                pos += 17 + sum(counts)
        elif marker == _JPEG_DRI:
            (self.restart_interval,) = struct.unpack(">H", body[:2])

    def _huffman_table(self, table: int, counts: tuple[int, ...], symbols: bytes) -> None:
        """Canonical decoding tables as libjpeg builds them: maxcode, valptr and mincode
        per code length, and a look-up of the codes of up to ``_LOOKAHEAD`` bits."""
        self.maxcode[table] = -1
        values = np.frombuffer(symbols, np.uint8)
        self.huffval[table, : len(values)] = values
        code = k = 0
        for length in range(1, 17):
            n = counts[length - 1]
            if n:
                self.valptr[table, length] = k
                self.mincode[table, length] = code
                code += n
                k += n
                self.maxcode[table, length] = code - 1
                if code > 1 << length:
                    raise struct.error("over-subscribed Huffman table")
            code <<= 1
        # Canonical codes fill the code space from zero without gaps, so the look-up
        # entries of the short codes are consecutive runs, in symbol order.
        lengths = np.repeat(np.arange(1, 17), counts)
        short = lengths <= _LOOKAHEAD
        runs = np.left_shift(1, _LOOKAHEAD - lengths[short])
        entries = np.repeat((lengths[short] << 8) | values[short], runs)
        self.lookup[table] = 0
        self.lookup[table, : len(entries)] = entries
        self.defined.add(table)

    def scan_problem(self, buf: np.ndarray, header: bytes, start: int, end: int) -> str | None:
        """Decode the Huffman codes of a baseline scan; why it is corrupt, or None.

        Only sequential Huffman-coded full-spectrum scans are checked (progressive,
        arithmetic and lossless scans keep the structural check only).
        """
        count = header[0]
        scan = [struct.unpack(">BB", header[1 + 2 * i : 3 + 2 * i]) for i in range(count)]
        ss, se, approx = header[1 + 2 * count : 4 + 2 * count]
        if self.sof not in (0xC0, 0xC1) or (ss, se, approx) != (0, 63, 0) or self.height == 0:
            return None
        dc_of_block, ac_of_block = [], []
        h_max = max(h for h, _ in self.components.values())
        v_max = max(v for _, v in self.components.values())
        for ident, tables in scan:
            if ident not in self.components:
                return f"corrupt JPEG (scan names an undeclared component {ident})"
            dc, ac = tables >> 4, 4 + (tables & 15)
            if dc not in self.defined or ac not in self.defined:
                return "corrupt JPEG (scan uses an undefined Huffman table)"
            h, v = self.components[ident] if count > 1 else (1, 1)
            dc_of_block += [dc] * (h * v)
            ac_of_block += [ac] * (h * v)
        if count > 1:  # interleaved: MCUs of h_max × v_max blocks
            mcus = _ceil_div(self.width, 8 * h_max) * _ceil_div(self.height, 8 * v_max)
        else:  # one component: one block per MCU over the component's own size
            h, v = self.components[scan[0][0]]
            columns = _ceil_div(_ceil_div(self.width * h, h_max), 8)
            mcus = columns * _ceil_div(_ceil_div(self.height * v, v_max), 8)
        code, at = _huffman_scan_problem(
            buf, start, end, np.array(dc_of_block, np.int64), np.array(ac_of_block, np.int64),
            mcus, self.restart_interval, self.lookup, self.maxcode, self.valptr, self.mincode,
            self.huffval,
        )  # fmt: skip
        return None if code == 0 else f"corrupt JPEG ({_SCAN_PROBLEMS[code]} at byte {at})"


_SCAN_PROBLEMS = {
    1: "invalid Huffman code in image data",
    2: "image data ends before the last block",
    3: "extraneous bytes in image data",
    4: "missing or misnumbered restart marker",
}


@njit(cache=True, inline="always")
def _next_data_byte(buf, pos, end):
    """The next entropy-coded byte at ``pos`` (0xFF00 is a stuffed 0xFF; fill bytes are
    skipped as libjpeg does): ``(byte, next position)``, or ``(-1, pos)`` at a marker."""
    if pos >= end:
        return -1, pos
    byte = buf[pos]
    if byte == 0xFF:
        following = pos + 1
        while following < end and buf[following] == 0xFF:
            following += 1
        if following >= end or buf[following] != 0x00:
            return -1, pos
        pos = following
    return np.int64(byte), pos + 1


@njit(cache=True, inline="always")
def _fill(buf, pos, end, acc, nacc):
    """Append data bytes to the bit accumulator until it holds more than 48 bits (at most
    56: it never overflows) or a marker is reached: ``(pos, acc, nacc)``."""
    while nacc <= 48:
        byte, after = _next_data_byte(buf, pos, end)
        if byte < 0:
            break
        pos = after
        acc = (acc << 8) | byte
        nacc += 8
    return pos, acc, nacc


@njit(cache=True, inline="always")
def _peek(acc, nacc, n):
    """The next ``n`` bits (zeros past the end of the data, as libjpeg pads)."""
    if nacc >= n:
        return (acc >> (nacc - n)) & ((1 << n) - 1)
    return (acc << (n - nacc)) & ((1 << n) - 1)


@njit(cache=True)
def _huffman_scan_problem(
    buf, pos, end, dc_of_block, ac_of_block, mcus, restart_interval, lookup, maxcode, valptr,
    mincode, huffval,
):  # fmt: skip
    """Walk the Huffman codes of a sequential scan in ``buf[pos:end]`` without decoding pixels.

    Returns ``(code, byte offset)``: 0 when every block decodes and the data ends right
    after the last one (up to the padding bits of its byte); 1 invalid Huffman code;
    2 the data (up to a marker) ends inside a block; 3 bytes left over before a marker;
    4 a missing or misnumbered restart marker. Positional arguments as built by
    ``_JpegState.scan_problem``; the DC and AC tables of each block of an MCU are
    indices into the table arrays. ``_huffman_scan_problem.py_func`` is its Python twin.
    """
    acc = np.int64(0)  # bit accumulator: its low ``nacc`` bits are the next bits to read
    nacc = 0
    next_restart = 0
    for mcu in range(mcus):
        if restart_interval > 0 and mcu > 0 and mcu % restart_interval == 0:
            pos, acc, nacc = _fill(buf, pos, end, acc, nacc)
            if nacc >= 8:  # more than the padding bits of the interval's last byte
                return 3, pos
            while pos < end and buf[pos] == 0xFF and buf[pos + 1] == 0xFF:
                pos += 1
            if pos >= end or buf[pos] != 0xFF or buf[pos + 1] != 0xD0 + next_restart:
                return 4, pos
            pos += 2
            acc = np.int64(0)
            nacc = 0
            next_restart = (next_restart + 1) % 8
        for block in range(dc_of_block.shape[0]):
            k = 0
            while k < 64:
                table = dc_of_block[block] if k == 0 else ac_of_block[block]
                if nacc < 16:
                    pos, acc, nacc = _fill(buf, pos, end, acc, nacc)
                entry = lookup[table, _peek(acc, nacc, _LOOKAHEAD)]
                length = entry >> 8
                symbol = entry & 0xFF
                if length == 0:  # longer than the look-up: libjpeg's jpeg_huff_decode
                    symbol = -1
                    for length in range(_LOOKAHEAD + 1, 17):
                        code = _peek(acc, nacc, length)
                        if code <= maxcode[table, length]:
                            symbol = huffval[
                                table, valptr[table, length] + code - mincode[table, length]
                            ]
                            break
                    if symbol < 0:
                        return 1, pos
                if length > nacc:
                    return 2, pos
                nacc -= length
                acc &= (np.int64(1) << nacc) - 1
                if k == 0:  # DC: the symbol is the size of the difference
                    size = symbol
                    if size > 16:
                        return 1, pos
                    k = 1
                elif symbol & 15 == 0:  # AC: end of block, or a run of 16 zeros
                    if symbol >> 4 != 15:
                        break
                    k += 16
                    continue
                else:  # AC: a run of zeros, then a coefficient of ``size`` bits
                    size = symbol & 15
                    k += (symbol >> 4) + 1
                if size > nacc:
                    pos, acc, nacc = _fill(buf, pos, end, acc, nacc)
                    if size > nacc:
                        return 2, pos
                nacc -= size  # skip the value bits
                acc &= (np.int64(1) << nacc) - 1
    pos, acc, nacc = _fill(buf, pos, end, acc, nacc)
    if nacc >= 8:
        return 3, pos
    while pos < end and buf[pos] == 0xFF and buf[pos + 1] == 0xFF:
        pos += 1
    if pos != end:
        return 3, pos
    return 0, pos


def _jpeg_problem(data: bytes) -> str | None:
    """Why a JPEG byte string is truncated or corrupt, or None if it is sound.

    Walks the marker segments to the end-of-image marker; entropy-coded data may only
    hold stuffed bytes, restart markers and fill bytes, and ends at a table, scan or
    end-of-image marker. Baseline (sequential Huffman) scans are also decoded code by
    code, as libjpeg does, which finds damage inside the data.
    """
    truncated = "truncated JPEG (no end-of-image marker)"
    buf = np.frombuffer(data, dtype=np.uint8)
    markers = _jpeg_markers(data)
    state = _JpegState()
    pos = 2
    n = len(data)
    while True:
        if pos + 2 > n:
            return truncated
        if data[pos] != 0xFF:
            return f"corrupt JPEG (expected a marker at byte {pos}, found 0x{data[pos]:02X})"
        while pos + 1 < n and data[pos + 1] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos + 2 > n:
            return truncated
        marker = data[pos + 1]
        if marker == _JPEG_EOI:
            return None
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if pos + 4 > n:
            return truncated
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            return f"corrupt JPEG (segment 0xFF{marker:02X} at byte {pos} has length {length})"
        body = data[pos + 4 : pos + 2 + length]
        segment_at = pos
        pos += 2 + length
        if pos > n:
            return "truncated JPEG (a segment runs past the end of the file)"
        try:
            state.read_segment(marker, body)
        except struct.error:
            return f"corrupt JPEG (malformed segment 0xFF{marker:02X} at byte {segment_at})"
        if marker == _JPEG_SOS:  # entropy-coded data runs up to the next marker
            index = int(np.searchsorted(markers, pos))
            if index == len(markers):
                return truncated
            end = int(markers[index])
            following = data[end + 1]
            if following != _JPEG_EOI and following not in _JPEG_INTERSCAN:
                return (
                    f"corrupt JPEG (invalid marker 0xFF{following:02X} in image data at byte {end})"
                )
            try:
                problem = state.scan_problem(buf, body, pos, end)
            except (struct.error, ValueError, IndexError):
                return f"corrupt JPEG (malformed scan header at byte {segment_at})"
            if problem is not None:
                return problem
            pos = end


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


def _decode_tiff(path: str | os.PathLike[str], data: bytes) -> np.ndarray:
    """Decode the first page of a TIFF with tifffile; channel-last, RGB order."""
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            image = page.asarray()
            separate = page.planarconfig == tifffile.PLANARCONFIG.SEPARATE
    except Exception as exc:  # tifffile raises many types for damaged files
        raise ImageError(path, f"unreadable TIFF ({type(exc).__name__}: {exc})") from None
    if separate and image.ndim == 3:
        image = np.moveaxis(image, 0, -1)
    return image


def _decode(path: str | os.PathLike[str], data: bytes) -> tuple[np.ndarray, bool]:
    """Decode bytes; return the array and whether its colour channels are in BGR order."""
    if data.startswith(_PNG_SIGNATURE):
        problem = _png_problem(data)
    elif data.startswith(_JPEG_SIGNATURE):
        problem = _jpeg_problem(data)
    else:
        problem = None
    if problem is not None:
        raise ImageError(path, problem)
    buffer = np.frombuffer(data, dtype=np.uint8)
    # JPEGs hold no alpha and no 16-bit data; decoding them as colour also turns CMYK
    # and YCCK into BGR. Other formats are decoded unchanged (depth, alpha, gray).
    flags = (
        cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
        if data.startswith(_JPEG_SIGNATURE)
        else cv2.IMREAD_UNCHANGED
    )
    with _quiet_opencv():
        try:
            image = cv2.imdecode(buffer, flags)
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


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as channel-last RGB, refusing anything it cannot read faithfully.

    Parameters
    ----------
    path : str or os.PathLike
        A PNG, JPEG, TIFF or BMP file (the format is recognised from the content,
        not the suffix). Never modified.

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
        has an unsupported sample type or channel count, or is smaller than 16×16.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"image file not found: {os.fspath(path)}")
    if os.path.isdir(path):
        raise ImageError(path, "is a folder, not an image file")
    data = Path(path).read_bytes()
    if not data:
        raise ImageError(path, "empty file (0 bytes)")
    image, bgr = _decode(path, data)
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
    side = min(rgb.shape[:2])
    square = _centre_crop(rgb, side, side).copy()
    if side == size:
        return square
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    out = cv2.resize(square, (size, size), interpolation=interpolation)
    if np.issubdtype(out.dtype, np.floating):  # integers saturate inside OpenCV
        np.clip(out, 0.0, 1.0, out=out)
    return out


def fit_image(rgb: np.ndarray, size: int | None, *, fit: str = "pad") -> np.ndarray:
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
