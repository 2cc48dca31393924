"""The option vocabularies of rawspace: one ``Literal`` type per kind of option string.

Public functions annotate their options with these types; the tuple beside each
(``typing.get_args`` of the type) is what they check a value against and what the
command line offers as choices. This module imports nothing of rawspace and no
third-party package, so that ``rawspace --help`` stays light.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "CAMERA_POLICIES",
    "CAMERA_SOURCES",
    "CFA_PATTERNS",
    "COMPRESSIONS",
    "DEMOSAIC_METHODS",
    "FILE_FORMATS",
    "FITS",
    "GAMMAS",
    "LABEL_MODES",
    "LAYOUTS",
    "NOISE_MODELS",
    "OUTPUTS",
    "SAMPLE_TYPES",
    "TONES",
    "UNC_MODES",
    "CameraPolicy",
    "CameraSource",
    "Cfa",
    "Compression",
    "DemosaicMethod",
    "FileFormat",
    "Fit",
    "Gamma",
    "LabelMode",
    "Layout",
    "NoiseModel",
    "Output",
    "SampleType",
    "Tone",
    "UncMode",
]

#: Bayer patterns, named by the top-left 2×2 block read row by row.
Cfa = Literal["RGGB", "BGGR", "GRBG", "GBRG"]
#: Tone curve of a camera's rendering: smoothstep ``3x² − 2x³`` or none.
Tone = Literal["smoothstep", "none"]
#: Gamma of a camera's rendering: the pure 2.2 power or the exact sRGB curve.
Gamma = Literal["power2.2", "srgb"]
#: Raw layouts: (H, W) mosaic, (H/2, W/2, 4) site planes, (H, W, 3) camera RGB.
Layout = Literal["bayer", "packed", "linear"]
#: Demosaicing methods of :func:`rawspace.demosaic` and :func:`rawspace.develop`.
DemosaicMethod = Literal["bilinear", "malvar2004"]
#: What :func:`rawspace.develop` returns: rendered sRGB or linear sRGB.
Output = Literal["srgb", "linear"]
#: How :func:`rawspace.images.fit_image` reaches a square size.
Fit = Literal["pad", "crop", "resize"]
#: Scopes that share one camera or one set of noise levels.
CameraPolicy = Literal["dataset", "group", "image"]
#: Where sampled cameras come from: Brooks et al.'s mixes of four matrices, or real
#: cameras of the catalogue (all, its training part or its held-out part).
CameraSource = Literal["brooks", "catalogue", "training", "held-out"]
#: Sensor noise per image: levels drawn as Brooks et al. do, or the camera's own profile.
NoiseModel = Literal["brooks", "camera"]
#: Files written by :func:`rawspace.convert.convert`: NumPy arrays or DNGs.
FileFormat = Literal["npy", "dng"]
#: Sample type of converted raw arrays.
SampleType = Literal["uint16", "float32"]
#: Compression of the image datasets of a cache.
Compression = Literal["none", "lzf", "gzip"]
#: Label column of a Matek-19 annotation file.
LabelMode = Literal["original", "reannotation"]
#: What to do with Matek-19 images labelled UNC.
UncMode = Literal["drop", "keep"]

CFA_PATTERNS: tuple[Cfa, ...] = get_args(Cfa)
TONES: tuple[Tone, ...] = get_args(Tone)
GAMMAS: tuple[Gamma, ...] = get_args(Gamma)
LAYOUTS: tuple[Layout, ...] = get_args(Layout)
DEMOSAIC_METHODS: tuple[DemosaicMethod, ...] = get_args(DemosaicMethod)
OUTPUTS: tuple[Output, ...] = get_args(Output)
FITS: tuple[Fit, ...] = get_args(Fit)
CAMERA_POLICIES: tuple[CameraPolicy, ...] = get_args(CameraPolicy)
CAMERA_SOURCES: tuple[CameraSource, ...] = get_args(CameraSource)
NOISE_MODELS: tuple[NoiseModel, ...] = get_args(NoiseModel)
FILE_FORMATS: tuple[FileFormat, ...] = get_args(FileFormat)
SAMPLE_TYPES: tuple[SampleType, ...] = get_args(SampleType)
COMPRESSIONS: tuple[Compression, ...] = get_args(Compression)
LABEL_MODES: tuple[LabelMode, ...] = get_args(LabelMode)
UNC_MODES: tuple[UncMode, ...] = get_args(UncMode)
