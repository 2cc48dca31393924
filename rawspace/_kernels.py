"""Fused Numba kernels. Private and positional: call them through `rawspace.pipeline`
and `rawspace.cfa`, which validate the inputs. Every kernel has a NumPy twin in
`rawspace._reference` that the tests compare it with.

Conventions shared by the kernels:

- Mosaic outputs are written through a 4-D view ``m4[i, dy, j, dx]`` of pixel
  ``(2i + dy, 2j + dx)``: ``bayer.reshape(H/2, 2, W/2, 2)`` for a Bayer plane,
  ``packed.reshape(H/2, W/2, 2, 2).transpose(0, 2, 1, 3)`` for packed planes, so
  one kernel writes both layouts without a copy. Mosaic inputs are Bayer planes.
- ``chan`` is the 2×2 CFA as channel indices (0 R, 1 G, 2 B).
- ``start`` is where the highlight-preserving gain blend begins (gray 0.9), or
  ``inf`` for a camera without it.
- Arithmetic is float64. ``tone`` and ``gamma`` are the codes of
  `rawspace.spec.TONE_CURVES` and `rawspace.spec.GAMMA_CURVES`, whose constants the
  kernels read as compile-time globals; ``method`` is 0 (bilinear) or 1 (Malvar 2004).
- Outputs are ``value * scale + offset``; integer outputs pass ``offset`` with
  +0.5 so that truncation rounds.
- A single image is processed in parallel over rows (``prange``), split into
  contiguous bands so that per-band scratch rows are allocated once. A batch
  (``*_batch``, leading axis N) is processed in parallel over images, each by the
  same row functions as a single image, so both give identical values.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import njit, prange

from .spec import (
    GAMMA_CURVES,
    GAMMA_FLOOR,
    HIGHLIGHT_SLOPE,
    POWER_GAMMA,
    SRGB_EXPONENT,
    SRGB_KNEE,
    SRGB_LINEAR_KNEE,
    SRGB_OFFSET,
    SRGB_SCALE,
    SRGB_SLOPE,
    TONE_CURVES,
)

# Codes of the curves (compile-time constants of the kernels).
_SMOOTHSTEP = TONE_CURVES["smoothstep"].code
_POWER = GAMMA_CURVES["power2.2"].code


# ----------------------------------------------------------------------------- curves
@njit(cache=True, inline="always")
def _clip01(v):
    return 0.0 if v < 0.0 else (1.0 if v > 1.0 else v)


@njit(cache=True)
def _linearize(y, tone, gamma):
    """Inverse tone curve then gamma expansion of one value (clipped to [0, 1])."""
    y = _clip01(y)
    if tone == _SMOOTHSTEP:
        y = 0.5 - math.sin(math.asin(1.0 - 2.0 * y) / 3.0)
    if gamma == _POWER:
        return max(y, GAMMA_FLOOR) ** POWER_GAMMA
    if y <= SRGB_KNEE:
        return y / SRGB_SLOPE
    return ((y + SRGB_OFFSET) / SRGB_SCALE) ** SRGB_EXPONENT


@njit(cache=True)
def _render(x, tone, gamma):
    """Gamma compression then tone curve of one linear value (clipped to [0, 1])."""
    x = _clip01(x)
    if gamma == _POWER:
        x = max(x, GAMMA_FLOOR) ** (1.0 / POWER_GAMMA)
    elif x <= SRGB_LINEAR_KNEE:
        x = SRGB_SLOPE * x
    else:
        x = SRGB_SCALE * x ** (1.0 / SRGB_EXPONENT) - SRGB_OFFSET
    if tone == _SMOOTHSTEP:
        x = _clip01(x)
        x = x * x * (3.0 - 2.0 * x)
    return x


@njit(cache=True, inline="always")
def _code8(thresholds, grid, v):
    """8-bit code of linear value ``v``: the number of ``thresholds`` that are <= ``v``.

    ``grid[i]`` counts the thresholds <= ``i / (len(grid) - 1)``; the count at
    ``v`` is found from there by stepping over the (at most few) thresholds
    between that grid point and ``v``. Exact, and without ``pow``.
    """
    code = grid[np.intp(v * (grid.shape[0] - 1))]
    while code < thresholds.shape[0] and thresholds[code] <= v:
        code += 1
    return code


# ------------------------------------------------------------------ highlight-preserving gains
@njit(cache=True, inline="always")
def _highlight_mask(gray, start):
    """Weight of the highlight blend: 0 up to gray ``start`` (0.9, or inf when off)."""
    m = (gray - start) * HIGHLIGHT_SLOPE
    return m * m if m > 0.0 else 0.0


@njit(cache=True, inline="always")
def _blend_gain(m, g):
    """Brooks' highlight-preserving gain ``max(m + (1 - m) g, g)``."""
    f = m + (1.0 - m) * g
    return f if f > g else g


@njit(cache=True)
def _undo_inverse_gains(r0, r1, r2, g0, g1, g2, start):
    """Exact inverse of ``r_k = x_k * max(m + (1 - m) g_k, g_k)``, ``m = mask(mean(x))``,
    for pixels whose plain division ``mean(r / g)`` exceeds 0.9 (the others are ``r / g``).

    The gray level ``t = mean(x)`` solves ``mean(r_k / f_k(t)) = t`` with
    ``f_k(t) = g_k + m(t) max(1 - g_k, 0)``. For ``r >= 0`` the left side does not
    increase with ``t``, so the root is unique; it lies in ``(0.9, t0]`` whenever
    the plain division ``t0 = mean(r / g)`` exceeds 0.9. Safeguarded Newton.
    """
    t = (r0 / g0 + r1 / g1 + r2 / g2) / 3.0
    a0 = max(1.0 - g0, 0.0)
    a1 = max(1.0 - g1, 0.0)
    a2 = max(1.0 - g2, 0.0)
    lo = start
    hi = t
    for _ in range(100):
        m = _highlight_mask(t, start)
        dm = 2.0 * (t - start) * HIGHLIGHT_SLOPE * HIGHLIGHT_SLOPE
        f0 = g0 + m * a0
        f1 = g1 + m * a1
        f2 = g2 + m * a2
        h = (r0 / f0 + r1 / f1 + r2 / f2) / 3.0 - t
        if h > 0.0:
            lo = t
        else:
            hi = t
        dh = -(r0 * a0 / (f0 * f0) + r1 * a1 / (f1 * f1) + r2 * a2 / (f2 * f2)) * dm / 3.0 - 1.0
        step = t - h / dh
        if not (lo < step < hi):
            step = 0.5 * (lo + hi)
        done = abs(step - t) <= 4e-16 * t
        t = step
        if done:
            break
    m = _highlight_mask(t, start)
    return r0 / (g0 + m * a0), r1 / (g1 + m * a1), r2 / (g2 + m * a2)


# ----------------------------------------------------------------------------- unprocess
@njit(cache=True, inline="always")
def _linear_rgb(src, x, lut, use_lut, in_scale, tone, gamma):
    if use_lut:
        return lut[np.intp(src[x, 0])], lut[np.intp(src[x, 1])], lut[np.intp(src[x, 2])]
    return (
        _linearize(src[x, 0] * in_scale, tone, gamma),
        _linearize(src[x, 1] * in_scale, tone, gamma),
        _linearize(src[x, 2] * in_scale, tone, gamma),
    )


@njit(cache=True, inline="always")
def _add_noise(v, z, shot, read):
    return _clip01(v + math.sqrt(max(v * shot + read, 0.0)) * z)


@njit(cache=True)
def _invert_mosaic_row(
    y, rgb, lut, use_lut, in_scale, tone, gamma, rgb2cam, gains, start, chan,
    noise_z, has_noise, shot, read, scale, offset, out4,
):  # fmt: skip
    """Row ``y`` of sRGB (H, W, 3) → its mosaic row in the 4-D view ``out4`` (H/2, 2, W/2, 2).

    Per pixel only the CFA channel's row of the colour matrix and the gray level
    (the mean of all three camera channels, which the highlight blend needs) are
    computed.
    """
    w0 = (rgb2cam[0, 0] + rgb2cam[1, 0] + rgb2cam[2, 0]) / 3.0
    w1 = (rgb2cam[0, 1] + rgb2cam[1, 1] + rgb2cam[2, 1]) / 3.0
    w2 = (rgb2cam[0, 2] + rgb2cam[1, 2] + rgb2cam[2, 2]) / 3.0
    i = y >> 1
    dy = y & 1
    src = rgb[y]
    for dx in range(2):
        k = chan[dy, dx]
        r0 = rgb2cam[k, 0]
        r1 = rgb2cam[k, 1]
        r2 = rgb2cam[k, 2]
        g = gains[k]
        for j in range(out4.shape[2]):
            l0, l1, l2 = _linear_rgb(src, 2 * j + dx, lut, use_lut, in_scale, tone, gamma)
            m = _highlight_mask(w0 * l0 + w1 * l1 + w2 * l2, start)
            v = _clip01((r0 * l0 + r1 * l1 + r2 * l2) * _blend_gain(m, g))
            if has_noise:
                v = _add_noise(v, noise_z[i, dy, j, dx], shot, read)
            out4[i, dy, j, dx] = v * scale + offset


@njit(cache=True, parallel=True)
def _invert_mosaic(
    rgb, lut, use_lut, in_scale, tone, gamma, rgb2cam, gains, start, chan,
    noise_z, has_noise, shot, read, scale, offset, out4,
):  # fmt: skip
    """sRGB (H, W, 3) → mosaic written through the 4-D view ``out4`` (H/2, 2, W/2, 2)."""
    for y in prange(rgb.shape[0]):
        _invert_mosaic_row(
            y, rgb, lut, use_lut, in_scale, tone, gamma, rgb2cam, gains, start, chan,
            noise_z, has_noise, shot, read, scale, offset, out4,
        )  # fmt: skip


@njit(cache=True, parallel=True)
def _invert_mosaic_batch(
    rgb, luts, lut_rows, use_lut, in_scale, tone, gamma, rgb2cam, gains, start, chan,
    noise_z, has_noise, shot, read, scale, offset, out4,
):  # fmt: skip
    """Images (N, H, W, 3) → mosaics (N, H/2, 2, W/2, 2), one image per task.

    Per image ``n``: its table row ``luts[lut_rows[n]]``, curve codes ``tone[n]``,
    ``gamma[n]``, camera ``rgb2cam[n]``, ``gains[n]``, ``start[n]``, ``chan[n]``,
    noise draws ``noise_z[n]`` and levels ``shot[n]``, ``read[n]``, output
    ``scale[n]``, ``offset[n]``.
    """
    for n in prange(rgb.shape[0]):
        for y in range(rgb.shape[1]):
            _invert_mosaic_row(
                y, rgb[n], luts[lut_rows[n]], use_lut, in_scale, tone[n], gamma[n], rgb2cam[n],
                gains[n], start[n], chan[n], noise_z[n], has_noise, shot[n], read[n],
                scale[n], offset[n], out4[n],
            )  # fmt: skip


@njit(cache=True)
def _invert_linear_row(
    y, rgb, lut, use_lut, in_scale, tone, gamma, rgb2cam, gains, start,
    noise_z, has_noise, shot, read, scale, offset, out,
):  # fmt: skip
    """Row ``y`` of sRGB (H, W, 3) → camera RGB row of ``out`` (H, W, 3), no mosaic."""
    src = rgb[y]
    dst = out[y]
    for x in range(rgb.shape[1]):
        l0, l1, l2 = _linear_rgb(src, x, lut, use_lut, in_scale, tone, gamma)
        c0 = rgb2cam[0, 0] * l0 + rgb2cam[0, 1] * l1 + rgb2cam[0, 2] * l2
        c1 = rgb2cam[1, 0] * l0 + rgb2cam[1, 1] * l1 + rgb2cam[1, 2] * l2
        c2 = rgb2cam[2, 0] * l0 + rgb2cam[2, 1] * l1 + rgb2cam[2, 2] * l2
        m = _highlight_mask((c0 + c1 + c2) / 3.0, start)
        c0 = _clip01(c0 * _blend_gain(m, gains[0]))
        c1 = _clip01(c1 * _blend_gain(m, gains[1]))
        c2 = _clip01(c2 * _blend_gain(m, gains[2]))
        if has_noise:
            c0 = _add_noise(c0, noise_z[y, x, 0], shot, read)
            c1 = _add_noise(c1, noise_z[y, x, 1], shot, read)
            c2 = _add_noise(c2, noise_z[y, x, 2], shot, read)
        dst[x, 0] = c0 * scale + offset
        dst[x, 1] = c1 * scale + offset
        dst[x, 2] = c2 * scale + offset


@njit(cache=True, parallel=True)
def _invert_linear(
    rgb, lut, use_lut, in_scale, tone, gamma, rgb2cam, gains, start,
    noise_z, has_noise, shot, read, scale, offset, out,
):  # fmt: skip
    """sRGB (H, W, 3) → camera RGB (H, W, 3), no mosaic."""
    for y in prange(rgb.shape[0]):
        _invert_linear_row(
            y, rgb, lut, use_lut, in_scale, tone, gamma, rgb2cam, gains, start,
            noise_z, has_noise, shot, read, scale, offset, out,
        )  # fmt: skip


@njit(cache=True, parallel=True)
def _invert_linear_batch(
    rgb, luts, lut_rows, use_lut, in_scale, tone, gamma, rgb2cam, gains, start,
    noise_z, has_noise, shot, read, scale, offset, out,
):  # fmt: skip
    """Images (N, H, W, 3) → camera RGB (N, H, W, 3), one image per task (see
    `_invert_mosaic_batch` for the per-image arguments)."""
    for n in prange(rgb.shape[0]):
        for y in range(rgb.shape[1]):
            _invert_linear_row(
                y, rgb[n], luts[lut_rows[n]], use_lut, in_scale, tone[n], gamma[n], rgb2cam[n],
                gains[n], start[n], noise_z[n], has_noise, shot[n], read[n], scale[n],
                offset[n], out[n],
            )  # fmt: skip


# ----------------------------------------------------------------------------- demosaic
_PAD = 2  # border of the scratch rows, enough for Malvar's 5×5 kernels


@njit(cache=True)
def _reflect(i, n):
    """Mirror an index without repeating the edge: … 2 1 | 0 1 … n-1 | n-2 …"""
    if n == 1:
        return 0
    period = 2 * n - 2
    i = i % period
    return period - i if i >= n else i


@njit(cache=True)
def _load_row(bayer, y, black, norm, limits, row):
    """Row ``y`` (mirrored) of the plane, black-subtracted and scaled, into ``row``
    with ``_PAD`` mirrored pixels on each side.

    With ``limits`` (2×2, per CFA site) each value is clipped to [0, limit], as a
    raw developer clips the sensor values; an empty ``limits`` leaves them as they are.
    """
    h, w = bayer.shape
    yy = _reflect(y, h)
    src = bayer[yy]
    clip = limits.shape[0] > 0
    for x in range(w):
        v = (src[x] - black) * norm
        if clip:
            v = min(max(v, 0.0), limits[yy & 1, x & 1])
        row[x + _PAD] = v
    for p in range(1, _PAD + 1):
        row[_PAD - p] = row[_PAD + _reflect(-p, w)]
        row[_PAD + w - 1 + p] = row[_PAD + _reflect(w - 1 + p, w)]


@njit(cache=True)
def _demosaic_row(n2, n1, c0, s1, s2, y, w, chan, method, out):
    """Interpolate row ``y`` into ``out`` (W, 3) from the scratch rows y-2 … y+2.

    Bilinear: the 3×3 kernels of colour-demosaicing. Malvar-He-Cutler (2004): its
    gradient-corrected 5×5 kernels.
    """
    red_in_row = chan[y & 1, 0] == 0 or chan[y & 1, 1] == 0
    for x in range(w):
        p = x + _PAD
        c = chan[y & 1, x & 1]
        v = c0[p]
        if c == 1:
            if method == 0:
                along_row = 0.5 * (c0[p - 1] + c0[p + 1])
                along_col = 0.5 * (n1[p] + s1[p])
            else:
                base = 5.0 * v - (n1[p - 1] + n1[p + 1] + s1[p - 1] + s1[p + 1])
                along_row = (
                    base + 4.0 * (c0[p - 1] + c0[p + 1]) - (c0[p - 2] + c0[p + 2])
                    + 0.5 * (n2[p] + s2[p])
                ) / 8.0  # fmt: skip
                along_col = (
                    base + 4.0 * (n1[p] + s1[p]) - (n2[p] + s2[p])
                    + 0.5 * (c0[p - 2] + c0[p + 2])
                ) / 8.0  # fmt: skip
            if red_in_row:
                out[x, 0] = along_row
                out[x, 2] = along_col
            else:
                out[x, 0] = along_col
                out[x, 2] = along_row
            out[x, 1] = v
        else:
            cross = n1[p] + s1[p] + c0[p - 1] + c0[p + 1]
            diag = n1[p - 1] + n1[p + 1] + s1[p - 1] + s1[p + 1]
            if method == 0:
                green = 0.25 * cross
                other = 0.25 * diag
            else:
                far = n2[p] + s2[p] + c0[p - 2] + c0[p + 2]
                green = (4.0 * v + 2.0 * cross - far) / 8.0
                other = (6.0 * v + 2.0 * diag - 1.5 * far) / 8.0
            out[x, c] = v
            out[x, 1] = green
            out[x, 2 - c] = other


def band_count(n_rows: int) -> int:
    """Bands for a parallel row loop: a few per thread, never more than rows."""
    return max(1, min(n_rows, 4 * numba.get_num_threads()))


@njit(cache=True)
def _band(n_rows, n_bands, b):
    """Rows ``[start, stop)`` of band ``b`` of ``n_bands``."""
    return b * n_rows // n_bands, (b + 1) * n_rows // n_bands


@njit(cache=True)
def _scratch_rows(bayer, y, y0, black, norm, limits, rows):
    """Ring of the five normalised rows y-2 … y+2 in ``rows`` (5, W + 4).

    At the band's first row all five are loaded, then one new row per step.
    Returns the rows in order, top to bottom.
    """
    if y == y0:
        for k in range(5):
            _load_row(bayer, y + k - 2, black, norm, limits, rows[(y + k + 8) % 5])
    else:
        _load_row(bayer, y + 2, black, norm, limits, rows[(y + 12) % 5])
    return (
        rows[(y + 8) % 5],
        rows[(y + 9) % 5],
        rows[(y + 10) % 5],
        rows[(y + 11) % 5],
        rows[(y + 12) % 5],
    )


@njit(cache=True, parallel=True)
def _demosaic(bayer, chan, method, n_bands, out):
    """Bayer plane (H, W) → (H, W, 3) interpolated values, no scaling or clipping."""
    h, w = bayer.shape
    for b in prange(n_bands):
        y0, y1 = _band(h, n_bands, b)
        rows = np.empty((5, w + 2 * _PAD))
        for y in range(y0, y1):
            n2, n1, c0, s1, s2 = _scratch_rows(bayer, y, y0, 0.0, 1.0, np.empty((0, 2)), rows)
            _demosaic_row(n2, n1, c0, s1, s2, y, w, chan, method, out[y])


# ----------------------------------------------------------------------------- develop
@njit(cache=True, inline="always")
def _develop_pixel(c0, c1, c2, gains, start, cam2rgb):
    """Camera RGB → linear sRGB in [0, 1]: undo the gains exactly, then the colour matrix.

    ``gains`` are the forward gains ``1 / g`` of the inverse pipeline's gains ``g``.
    Camera values are clipped to [0, 1] (the sensor's range). With the highlight
    blend (``start`` finite) they are not clipped after the gains: a bright in-gamut
    colour can have a camera value above 1 before the inverse gains, and clipping it
    there would break the exact round trip. Without the blend (a real camera's plain
    white balance) they are clipped after the gains, as LibRaw does.
    """
    c0 = _clip01(c0)
    c1 = _clip01(c1)
    c2 = _clip01(c2)
    x0 = c0 * gains[0]
    x1 = c1 * gains[1]
    x2 = c2 * gains[2]
    if x0 + x1 + x2 > 3.0 * start:  # inside the highlight blend: solve for gray
        x0, x1, x2 = _undo_inverse_gains(
            c0, c1, c2, 1.0 / gains[0], 1.0 / gains[1], 1.0 / gains[2], start
        )
    elif math.isinf(start):  # plain white balance: saturate after the gains, as LibRaw
        x0 = _clip01(x0)
        x1 = _clip01(x1)
        x2 = _clip01(x2)
    return (
        _clip01(cam2rgb[0, 0] * x0 + cam2rgb[0, 1] * x1 + cam2rgb[0, 2] * x2),
        _clip01(cam2rgb[1, 0] * x0 + cam2rgb[1, 1] * x1 + cam2rgb[1, 2] * x2),
        _clip01(cam2rgb[2, 0] * x0 + cam2rgb[2, 1] * x1 + cam2rgb[2, 2] * x2),
    )


@njit(cache=True, inline="always")
def _encode(s, render, tone, gamma, thresholds, grid, scale, offset):
    """Linear sRGB value in [0, 1] → output value.

    With ``thresholds`` (the linear values at which the rendered 8-bit code steps
    up) the code is looked up (`_code8`); otherwise the curves are evaluated.
    """
    if thresholds.shape[0] > 0:
        return _code8(thresholds, grid, s)
    if render:
        s = _render(s, tone, gamma)
    return s * scale + offset


@njit(cache=True)
def _develop_linear_row(
    y, cam, black, norm, gains, start, cam2rgb, render, tone, gamma, thresholds, grid,
    scale, offset, out,
):  # fmt: skip
    """Row ``y`` of camera RGB (H, W, 3) → sRGB row of ``out`` (H, W, 3)."""
    src = cam[y]
    dst = out[y]
    for x in range(cam.shape[1]):
        s0, s1, s2 = _develop_pixel(
            (src[x, 0] - black) * norm,
            (src[x, 1] - black) * norm,
            (src[x, 2] - black) * norm,
            gains, start, cam2rgb,
        )  # fmt: skip
        dst[x, 0] = _encode(s0, render, tone, gamma, thresholds, grid, scale, offset)
        dst[x, 1] = _encode(s1, render, tone, gamma, thresholds, grid, scale, offset)
        dst[x, 2] = _encode(s2, render, tone, gamma, thresholds, grid, scale, offset)


@njit(cache=True, parallel=True)
def _develop_linear(
    cam, black, norm, gains, start, cam2rgb, render, tone, gamma, thresholds, grid,
    scale, offset, out,
):  # fmt: skip
    """Camera RGB (H, W, 3) → sRGB (H, W, 3)."""
    for y in prange(cam.shape[0]):
        _develop_linear_row(
            y, cam, black, norm, gains, start, cam2rgb, render, tone, gamma, thresholds, grid,
            scale, offset, out,
        )  # fmt: skip


@njit(cache=True, parallel=True)
def _develop_linear_batch(
    cam, black, norm, gains, start, cam2rgb, render, tone, gamma, thresholds, grid,
    curve_rows, scale, offset, out,
):  # fmt: skip
    """Camera RGB (N, H, W, 3) → sRGB (N, H, W, 3), one image per task.

    Per image ``n``: ``black[n]``, ``norm[n]``, ``gains[n]``, ``start[n]``,
    ``cam2rgb[n]``, curve codes ``tone[n]``, ``gamma[n]`` and the rows
    ``thresholds[curve_rows[n]]``, ``grid[curve_rows[n]]``.
    """
    for n in prange(cam.shape[0]):
        for y in range(cam.shape[1]):
            _develop_linear_row(
                y, cam[n], black[n], norm[n], gains[n], start[n], cam2rgb[n], render, tone[n],
                gamma[n], thresholds[curve_rows[n]], grid[curve_rows[n]], scale, offset, out[n],
            )  # fmt: skip


@njit(cache=True)
def _develop_band(
    bayer, chan, method, black, norm, limits, gains, start, cam2rgb, render, tone, gamma,
    thresholds, grid, scale, offset, y0, y1, out,
):  # fmt: skip
    """Rows ``[y0, y1)`` of a Bayer plane (H, W) → demosaic → sRGB rows of ``out`` (H, W, 3).

    Values are black-subtracted, scaled and clipped per site to [0, ``limits``],
    then interpolated row by row into a scratch row that stays in cache.
    """
    w = bayer.shape[1]
    rows = np.empty((5, w + 2 * _PAD))
    cam = np.empty((w, 3))
    for y in range(y0, y1):
        n2, n1, c0, s1, s2 = _scratch_rows(bayer, y, y0, black, norm, limits, rows)
        _demosaic_row(n2, n1, c0, s1, s2, y, w, chan, method, cam)
        dst = out[y]
        for x in range(w):
            s0, s1, s2 = _develop_pixel(cam[x, 0], cam[x, 1], cam[x, 2], gains, start, cam2rgb)
            dst[x, 0] = _encode(s0, render, tone, gamma, thresholds, grid, scale, offset)
            dst[x, 1] = _encode(s1, render, tone, gamma, thresholds, grid, scale, offset)
            dst[x, 2] = _encode(s2, render, tone, gamma, thresholds, grid, scale, offset)


@njit(cache=True, parallel=True)
def _develop_mosaic(
    bayer, chan, method, black, norm, limits, gains, start, cam2rgb, render, tone, gamma,
    thresholds, grid, scale, offset, n_bands, out,
):  # fmt: skip
    """Bayer plane (H, W) → demosaic → sRGB (H, W, 3), one pass over the image in bands."""
    h = bayer.shape[0]
    for b in prange(n_bands):
        y0, y1 = _band(h, n_bands, b)
        _develop_band(
            bayer, chan, method, black, norm, limits, gains, start, cam2rgb, render, tone,
            gamma, thresholds, grid, scale, offset, y0, y1, out,
        )  # fmt: skip


@njit(cache=True, parallel=True)
def _develop_mosaic_batch(
    bayer, chan, method, black, norm, limits, gains, start, cam2rgb, render, tone, gamma,
    thresholds, grid, curve_rows, scale, offset, out,
):  # fmt: skip
    """Bayer planes (N, H, W) → sRGB (N, H, W, 3), one image per task (see
    `_develop_linear_batch` for the per-image arguments; ``chan[n]``, ``limits[n]``)."""
    for n in prange(bayer.shape[0]):
        _develop_band(
            bayer[n], chan[n], method, black[n], norm[n], limits[n], gains[n], start[n],
            cam2rgb[n], render, tone[n], gamma[n], thresholds[curve_rows[n]],
            grid[curve_rows[n]], scale, offset, 0, bayer.shape[1], out[n],
        )  # fmt: skip
