"""The HDF5 dataset cache: build it from labelled images, read it, merge shards of it.

One format (:mod:`~rawspace.cache.format`), one writer
(:mod:`~rawspace.cache.write`) and one reader (:mod:`~rawspace.cache.reader`):
everything that writes or reads a cache, :mod:`classifiers` included, goes
through them.

A cache holds, for N images of a labelled SOURCE (see :mod:`rawspace.sources`),
the simulated raw image, the RGB image it was made from, the label, the
relative path, the camera and noise of each image, and the train/test split
and cross-validation fold. Classifiers read it through :func:`open`.

File layout
-----------
Per-sample datasets (first axis N, in the order of the source listing):

``raw``
    uint16, (N, S, S) for ``layout="bayer"``, (N, S/2, S/2, 4) for ``"packed"``,
    (N, S, S, 3) for ``"linear"``; between the camera's black and white levels.
``rgb``
    uint8, (N, S, S, 3): the image that was converted, after fitting to S×S
    (16-bit sources rounded to 8 bits). Absent when built with ``rgb=False``.
``label``
    int64, (N,): index into the attribute ``class_names``.
``path``
    UTF-8 strings, (N,): path relative to the source root. A file name that is not
    UTF-8 is stored as its bytes (see :mod:`rawspace.files`): read it back with
    ``errors="surrogateescape"`` (as :func:`open` does).
``params``
    compound (N,) of :data:`PARAMS_DTYPE`: the colour matrix and gains of the
    sample's camera, the seed that drew it (-1 for a fixed camera), the noise
    levels (NaN without noise) and the seed of the noise realisation (-1 without
    noise). With the attributes ``cfa``, ``black_level``, ``white_level``,
    ``tone`` and ``gamma`` this re-creates every sample exactly with
    :func:`rawspace.invert` (see :meth:`CacheReader.invert_args`).
``camera``
    UTF-8 strings, (N,): the name of each sample's camera (a catalogue camera's, see
    :mod:`rawspace.catalogue`, or the camera file's); empty for an unnamed camera
    (Brooks et al.'s mixes). Absent in caches written before it existed, which read
    as unnamed; :attr:`CacheReader.camera_names` and ``params.name`` of a sample
    give it back.
``split``
    int8, (N,): 0 train, 1 test.
``fold``
    int8, (N,): cross-validation fold of training samples, -1 for test samples
    (and for all with ``folds=0``).
``source_index``
    int64, (N,): position of the sample in the full source listing.
``group``
    UTF-8 strings, (N,): only for sources with a group column.
``source_digest``
    strings, (N,): the content identity of each source file when it was converted
    (:func:`rawspace.files.file_digest`, ``blake2b-128:HEX:SIZE``).
``digest``
    strings, (N,): the digest of each sample's stored pixels
    (:func:`~rawspace.cache.format.pixel_digest`: SHA-256 of the raw bytes, then of the
    rgb bytes), written at build time; :meth:`CacheReader.verify` recomputes them and
    :meth:`CacheReader.fingerprint` covers them.

Every dataset carries a ``description`` attribute saying what its values mean.

Also ``failures``, a compound table (source_index, path, label, reason,
source_digest) of the images that could not be read, and of the source folders that could not be
listed (source_index -1). ``raw`` and ``rgb`` are stored one sample per
chunk, uncompressed (default: fastest to build and to read at random, as
training does) or compressed with ``"lzf"`` or ``"gzip"`` (with the byte-shuffle
filter for uint16 data; about 40 % and 57 % smaller, several times slower).

File attributes: ``class_names``, ``layout``, ``size``, ``cfa``, ``black_level``,
``white_level``, ``tone``, ``gamma``, ``highlight_blend``, ``seed``, ``camera_policy``,
``noise``,
``noise_per``, ``n_cameras`` (distinct cameras among the samples), ``source``,
``source_format``, ``compression``, ``n_listed``, ``n_failed``, ``n_dropped``,
``config`` (the resolved build configuration, JSON), ``rawspace_version``,
``format_version``, ``created`` (UTC, ISO 8601) and, in shards, ``shard``
(``"K/N"``).

Guarantees
----------
- Deterministic: each sample is a pure function of (seed, relative path, group,
  options), and the order is the source order, so two builds with the same
  options hold identical datasets whatever the number of worker processes.
- No holes: images that fail to decode are left out (listed in ``failures`` and
  in ``CACHE.h5.failures.csv``); the datasets hold exactly the valid images.
- Splits and folds are computed over the *full source listing* (before decoding
  and before sharding), seeded: an image keeps its split whatever else fails,
  and shards get exactly the splits of an unsharded build. A failed image thus
  leaves its place empty: a class's test share can differ from the fraction by
  its number of failed images, but groups never mix.
- Checked when read: :func:`open` checks the layout once (datasets, dtypes, shapes,
  lengths, label range, split and fold codes, camera records, every image row
  stored) and raises :class:`CacheError` naming the file and the field; a read
  after a file of the cache changed on disk (truncated or rewritten in place)
  raises :class:`CacheError` instead of returning fill values.
- Content-true: the fingerprint covers the stored pixels, and a resumed build
  converts again every image whose source file changed since it was converted
  (from the first such image on), so that it equals a fresh build.
- Atomic: a build writes ``CACHE.h5.partial`` and renames it to ``CACHE.h5`` when
  complete; an existing cache is only replaced with ``overwrite``. The partial
  file records its progress every :data:`CHECKPOINT_EVERY` images, so an
  interrupted build continues exactly where it stopped with ``resume``.
- One writer: a build (or merge) holds ``CACHE.h5.lock`` while it writes; a
  second build of the same cache, ``overwrite`` or not, is refused with a
  :class:`CacheError`, and :func:`open` (``rawspace info``) on the cache or its
  partial file says that a build is in progress.
- Inputs are safe: the cache (and its partial, lock and failure files) may not
  be an input or lie inside the source folder, whatever ``overwrite`` says.
- A full disk is not a bad image: a write that fails stops the build with a
  :class:`rawspace.files.WriteError`, and the partial file keeps its last
  checkpoint, from which ``resume`` continues.

Processes and speed
-------------------
``jobs`` processes convert, one Numba thread each: the calling process and
``jobs - 1`` spawned workers, which start (import and compile) while the cache is
being prepared. Each decodes, fits, converts and digests a batch of images at a
time; the calling process converts the next batch itself whenever the batch whose
results come next in order is not ready, so no core waits on the process that
stores the results. Uncompressed, every image chunk of the partial file is
given its place when the build starts, and its disk space too where the file
system can (``fallocate``: nothing is written, a disk without room for the images
stops the build before any is converted, and concurrent writes into the file cost
less). Each process writes the chunks of its images in place, at the row of their
position in the build; the calling process also writes the small columns and
checkpoints, and at the end moves the images after a failed one up to close the
gap. Compressed, the workers compress
(with HDF5's own filters, in an in-memory file) and hand the stored bytes to the
calling process through a shared-memory file, which writes them with
``write_direct_chunk``. Results are stored in task order whoever converted them,
so the datasets are identical for any number of jobs.
Compression dominates the cost: on a 2-core machine LZF takes about 13 ms and
gzip 25 ms per 400×400 image (raw and rgb), against 2.5 ms to decode a JPEG and
2 ms to convert it, and reading a sample back takes about 4 ms with LZF against
0.3 ms uncompressed. Choose ``compression="none"`` where disk space allows and
speed matters.

Modules
-------
:mod:`~rawspace.cache.format` (names, dtypes, storage options),
:mod:`~rawspace.cache.building` (:func:`build`; shards by :func:`rawspace.shards.shard_of`),
:mod:`~rawspace.cache.workers` (conversion, in worker processes),
:mod:`~rawspace.cache.write` (writing and checkpointing a cache file),
:mod:`~rawspace.cache.reader` (:func:`open`, :class:`CacheReader`, :func:`summary`)
and :mod:`~rawspace.cache.merging` (:func:`merge`).
"""

from __future__ import annotations

from ..shards import shard_of
from .building import BuildReport, build
from .format import (
    COMPRESSIONS,
    FAILURES_SUFFIX,
    FORMAT_VERSION,
    LOCK_SUFFIX,
    PARAMS_DTYPE,
    PARTIAL_SUFFIX,
    CacheError,
    EmptyBuildError,
)
from .merging import MergeReport, merge
from .options import BuildOptions
from .reader import CacheReader, Sample, open, summary
from .write import CHECKPOINT_EVERY

__all__ = [
    "CHECKPOINT_EVERY",
    "COMPRESSIONS",
    "FAILURES_SUFFIX",
    "FORMAT_VERSION",
    "LOCK_SUFFIX",
    "PARAMS_DTYPE",
    "PARTIAL_SUFFIX",
    "BuildOptions",
    "BuildReport",
    "CacheError",
    "CacheReader",
    "EmptyBuildError",
    "MergeReport",
    "Sample",
    "build",
    "merge",
    "open",
    "shard_of",
    "summary",
]
