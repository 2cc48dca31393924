"""The catalogue of input spaces: names, layouts and descriptions, without torch.

One entry per space of :mod:`classifiers.spaces`, in the order of ``SPACES``. The
spaces module builds its :class:`~classifiers.spaces.Space` objects from it, the CLI
takes its ``--spaces`` help from :func:`help_text`, and README's list of spaces is
:func:`markdown_list` (a test keeps each of them, and the spaces module's docstring
table, in step with this catalogue). This module imports nothing heavy, so that
``rawspace compare --help`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "SPACE_CATALOGUE",
    "SpaceEntry",
    "SpaceLayout",
    "help_text",
    "markdown_list",
    "names",
]

#: What a model input holds: sRGB, a Bayer mosaic, CFA site planes, or camera RGB.
SpaceLayout = Literal["rgb", "bayer", "packed", "linear"]

_CHANNELS = {"rgb": 3, "bayer": 1, "packed": 4, "linear": 3}


@dataclass(frozen=True)
class SpaceEntry:
    """One input space.

    Attributes
    ----------
    name : str
        The name given to ``--spaces``.
    layout : {"rgb", "bayer", "packed", "linear"}
        What the model input holds.
    description : str
        One line, for the CLI help and README.
    augmented : bool
        Whether training batches are augmented.
    camera : bool
        Whether the raw input is unprocessed from the cache's RGB with a random camera
        per sample (the ``*_cam`` spaces).
    detail : str
        One sentence for reports: exactly what the input is and how it is augmented.

    Examples
    --------
    >>> entry = SPACE_CATALOGUE[3]
    >>> entry.name, entry.layout, entry.channels, entry.source
    ('raw_packed', 'packed', 4, 'raw')
    """

    name: str
    layout: SpaceLayout
    description: str
    augmented: bool
    camera: bool
    detail: str

    def __post_init__(self) -> None:
        if self.layout not in _CHANNELS:
            raise ValueError(f"layout must be one of {', '.join(_CHANNELS)}; got {self.layout!r}")
        if self.camera and self.layout not in ("bayer", "packed"):
            raise ValueError(f"a camera space must be bayer or packed; got {self.layout!r}")
        if self.augmented and self.layout == "linear":
            raise ValueError("linear raw inputs have no augmentation; got augmented=True")

    @property
    def channels(self) -> int:
        """C of the model input: 3 for rgb and linear, 1 for bayer, 4 for packed."""
        return _CHANNELS[self.layout]

    @property
    def source(self) -> Literal["rgb", "raw"]:
        """The cache dataset the stored samples come from."""
        return "rgb" if self.layout == "rgb" or self.camera else "raw"


_FLIPS = "random flips and rot90"
_JITTER = "exposure ×b^2.2 and R, B white balance ×w with b, w uniform in [0.9, 1.1]"

#: Every input space, in the order of ``classifiers.spaces.SPACES``.
SPACE_CATALOGUE: tuple[SpaceEntry, ...] = (
    SpaceEntry(
        "rgb", "rgb", "sRGB from the cache, /255", False, False,
        "sRGB from the cache's rgb dataset, uint8 / 255",
    ),
    SpaceEntry(
        "rgb_aug", "rgb", "rgb with flips, rot90 and colour jitter", True, False,
        "as rgb; training batches get random h/v flips, rot90 (square inputs) and "
        "brightness, contrast and saturation factors in [0.9, 1.1], clamped to [0, 1]",
    ),
    SpaceEntry(
        "raw_bayer", "bayer", "the CFA mosaic, 1 channel", False, False,
        "CFA mosaic, (v − black)/(white − black); resized through its packed planes",
    ),
    SpaceEntry(
        "raw_packed", "packed", "the four CFA site planes, 4 channels", False, False,
        "CFA planes at sites (0,0),(0,1),(1,0),(1,1), (v − black)/(white − black)",
    ),
    SpaceEntry(
        "raw_linear", "linear", "linear camera RGB, from a linear cache", False, False,
        "linear camera RGB, (v − black)/(white − black)",
    ),
    SpaceEntry(
        "raw_bayer_aug", "bayer", "raw_bayer with CFA-valid flips, rot90, exposure and "
        "white-balance jitter", True, False,
        f"as raw_bayer; training batches get rgb_aug's {_FLIPS} (each followed by a "
        f"one-pixel shift that keeps the CFA), {_JITTER}, clipped at the white level",
    ),
    SpaceEntry(
        "raw_packed_aug", "packed", "raw_packed with CFA-valid flips, rot90, exposure and "
        "white-balance jitter", True, False,
        f"as raw_packed; training batches get rgb_aug's {_FLIPS} of the site planes (each "
        f"plane keeps its colour), {_JITTER}, clipped at the white level",
    ),
    SpaceEntry(
        "raw_bayer_cam", "bayer", "the cache's rgb unprocessed with a random camera per "
        "sample into a mosaic", True, True,
        "cache rgb unprocessed on the device into a Bayer mosaic; training batches with "
        "a fresh random camera per sample and epoch and raw_bayer_aug's flips and rot90",
    ),
    SpaceEntry(
        "raw_packed_cam", "packed", "the cache's rgb unprocessed with a random camera per "
        "sample into site planes", True, True,
        "cache rgb (2S×2S) unprocessed on the device into packed planes; training batches "
        "with a fresh random camera per sample and epoch and raw_packed_aug's flips and "
        "rot90",
    ),
)  # fmt: skip


def names() -> tuple[str, ...]:
    """The names of the spaces, in catalogue order.

    Examples
    --------
    >>> names()[:3]
    ('rgb', 'rgb_aug', 'raw_bayer')
    """
    return tuple(entry.name for entry in SPACE_CATALOGUE)


def help_text() -> str:
    """The comma-separated names, each with its one-line description (for ``--spaces``).

    Examples
    --------
    >>> help_text().split("), ")[0]
    'rgb (sRGB from the cache, /255'
    """
    return ", ".join(f"{entry.name} ({entry.description})" for entry in SPACE_CATALOGUE)


def markdown_list() -> str:
    """README's list of the spaces: one Markdown bullet per space, newline-terminated.

    Examples
    --------
    >>> markdown_list().splitlines()[0]
    '- `rgb` — sRGB from the cache, /255'
    """
    return "".join(f"- `{entry.name}` — {entry.description}\n" for entry in SPACE_CATALOGUE)
