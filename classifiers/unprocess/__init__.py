"""Unprocessing in torch: sRGB ↔ simulated camera raw, batched, on any device.

The same formulas as :func:`rawspace.invert` and :func:`rawspace.develop` (Brooks et
al., CVPR 2019), applied to whole batches, each image with its own camera.

- :class:`Cameras` (:mod:`.cameras`) stacks :class:`rawspace.CameraParams` into tensors
  once and is indexed by a tensor of indices to take the cameras of a batch without
  leaving the device.
- :func:`invert` (:mod:`.pipeline`) converts a batch (N, 3, H, W) to raw: a Bayer plane
  (N, 1, H, W), packed site planes (N, 4, H/2, W/2) or camera RGB (N, 3, H, W), in
  [0, 1] or in the core's levels; ``differentiable=True`` lets gradients flow.
- :func:`develop` (:mod:`.develop`) renders such raw batches back to sRGB, the exact
  inverse of :func:`invert` (bilinear demosaic), as :func:`rawspace.develop`.
- :func:`random_camera` and its module :class:`RandomCamera` (:mod:`.transforms`) draw a
  camera per sample themselves and take one image or a batch: a transform for
  ``torchvision.transforms.v2.Compose`` or a training step.
- :func:`sample_noise_levels` (:mod:`.noise`) draws Brooks et al.'s noise levels per
  sample.
- :class:`CameraSchedule` (:mod:`.schedule`) says which camera each training sample of
  a ``*_cam`` space gets in each epoch, from Brooks et al.'s random cameras or the
  training part of the real-camera catalogue; :func:`unseen_cameras` draws test cameras
  from its held-out part.

Cameras are drawn by :meth:`rawspace.CameraParams.sample` or read from raw files
(:func:`rawspace.read_camera`); this package never re-implements the sampling. The
constants and the curve vocabulary come from :mod:`rawspace.spec`, the CFA geometry
from :mod:`classifiers.bayer`.
"""

from .cameras import Cameras, CameraSource
from .develop import develop
from .noise import NoiseArg, sample_noise_levels
from .pipeline import Scale, invert
from .schedule import CameraSchedule, unseen_cameras
from .transforms import RandomCamera, draw_cameras, random_camera

__all__ = [
    "CameraSchedule",
    "CameraSource",
    "Cameras",
    "NoiseArg",
    "RandomCamera",
    "Scale",
    "develop",
    "draw_cameras",
    "invert",
    "random_camera",
    "sample_noise_levels",
    "unseen_cameras",
]
