"""rawspace: sRGB images to simulated camera raw and back, exactly and fast.

The core package never imports torch. See :func:`invert` and :func:`develop`.
"""

from ._version import __version__
from .cfa import demosaic, mosaic, pack, unpack
from .params import CameraParams
from .pipeline import develop, invert
from .rawimage import RawImage
from .rawio import RawFileError, read_camera, read_raw, write_dng

__all__ = [
    "CameraParams",
    "RawFileError",
    "RawImage",
    "__version__",
    "demosaic",
    "develop",
    "invert",
    "mosaic",
    "pack",
    "read_camera",
    "read_raw",
    "unpack",
    "write_dng",
]
