"""rawspace: sRGB images to simulated camera raw and back, exactly and fast.

The core package never imports torch. See :func:`invert` and :func:`develop` (one
image or a batch), and :func:`read_image` and :func:`fit_image` to load images.
"""

from ._version import __version__
from .cfa import demosaic, mosaic, pack, unpack
from .images import fit_image, read_image
from .params import CameraParams
from .pipeline import RawBatch, develop, invert
from .rawimage import RawImage
from .rawio import RawFileError, read_camera, read_raw, write_dng

__all__ = [
    "CameraParams",
    "RawBatch",
    "RawFileError",
    "RawImage",
    "__version__",
    "demosaic",
    "develop",
    "fit_image",
    "invert",
    "mosaic",
    "pack",
    "read_camera",
    "read_image",
    "read_raw",
    "unpack",
    "write_dng",
]
