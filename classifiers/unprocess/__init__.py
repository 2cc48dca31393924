"""Batched unprocessing in torch: sRGB → simulated camera raw on any device."""

from .pipeline import (
    CameraSchedule,
    CameraSource,
    Cameras,
    NoiseArg,
    Unprocess,
    invert,
    sample_noise_levels,
)

__all__ = [
    "CameraSchedule",
    "CameraSource",
    "Cameras",
    "NoiseArg",
    "Unprocess",
    "invert",
    "sample_noise_levels",
]
