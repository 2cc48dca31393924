"""Labelled image listings: which images a dataset holds, with their classes and groups.

:func:`read_source` lists the images of a labelled dataset from one of three
kinds of ``SOURCE``, recognised from what it is:

``"folders"``
    A folder with one subfolder per class (for instance the PBC data set:
    ``basophil/BA_100102.jpg``). Class names are the subfolder names, sorted;
    images are the files below each class folder whose suffix is one of
    :data:`rawspace.files.IMAGE_SUFFIXES`, found by one search of the whole
    folder with :func:`rawspace.files.find_images` (recursively, hidden names
    skipped, links followed, no folder searched twice: a link in one class to
    another class, or a loop such as ``loop -> ..``, lists no image twice).
    Items are ordered by class, then by relative path. Folders that cannot be
    listed are in :attr:`Source.unreadable`. No groups.
``"matek19"``
    A Matek-19 root (a folder holding ``annotations.dat`` and the class folders
    ``CLASS/CLASS_NNNN.tiff``), or the ``annotations.dat`` file itself. Its lines
    hold four whitespace-separated columns: relative path, original label,
    re-annotation 1 and re-annotation 2, where ``nan`` means "not re-annotated"
    and ``UNC`` "unclassifiable". ``labels="original"`` uses column 2;
    ``labels="reannotation"`` uses re-annotation 1 where there is one and the
    original label elsewhere (re-annotation 2 is not used). Images labelled
    ``UNC`` are dropped (``unc="drop"``, counted in :attr:`Source.n_dropped`) or
    kept as a class ``"UNC"`` (``unc="keep"``). Items keep the file's order.
    Class names are the labels in use, sorted. No groups (the public release
    has no patient identifiers).
``"csv"``
    A ``.csv`` file with a header naming the columns ``path`` and ``label`` and,
    optionally, ``group`` and ``split`` (other columns are ignored). Paths are
    relative to the CSV's folder (absolute paths are kept as they are). Items keep
    the file's order. Class names are the labels, sorted (numerically when every
    label is an integer). A ``split`` column (``train`` or ``test`` on every row)
    pins the test set.

Listed files are not opened here: missing or unreadable ones fail later, when
they are decoded.

Pinned splits and subsets
-------------------------
``test_list`` pins the test set of any source to a published split: a file
naming the test images by their paths relative to the source's root (a CSV with
a ``path`` column, such as DinoBloom's ``dinobloom_test.csv`` of Matek-19, or a
text file with one path a line); every other image is for training. Every path
it names must be an image of the source (or one dropped as UNC).

``per_class`` and ``limit`` keep a subset, deterministically and independently
of the seed: the images are ranked by the SHA-256 of their relative path (as
:func:`rawspace.shards.shard_of` hashes it), ``per_class`` keeps the first N of
each class and then ``limit`` the first N overall; the items kept stay in the
listing's order. Smaller subsets are contained in larger ones. Pinning comes
first, so a subset keeps each image's pinned set.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from .files import IMAGE_SUFFIXES, find_images, name_bytes
from .hints import LABEL_MODES, UNC_MODES, LabelMode, UncMode
from .options import check_count

__all__ = [
    "MATEK_ANNOTATIONS",
    "SPLIT_NAMES",
    "UNC",
    "Source",
    "SourceError",
    "SourceItem",
    "SplitName",
    "read_source",
]

#: Matek-19 label of an image that could not be assigned a class at re-annotation.
UNC = "UNC"
#: File name of the Matek-19 annotation file.
MATEK_ANNOTATIONS = "annotations.dat"

_MATEK_NONE = "nan"

#: A pinned split: the set an image belongs to.
SplitName = Literal["train", "test"]
#: The values of a CSV ``split`` column.
SPLIT_NAMES: tuple[SplitName, ...] = ("train", "test")
_SPLITS: dict[str, SplitName] = {name: name for name in SPLIT_NAMES}


class SourceError(ValueError):
    """A SOURCE that cannot be listed; the message names the file (and line) and the problem."""


@dataclass(frozen=True)
class SourceItem:
    """One listed image.

    Attributes
    ----------
    relpath : str
        Path relative to :attr:`Source.root`, POSIX style (``"basophil/BA_1.jpg"``);
        unique within a source.
    label : int
        Index into :attr:`Source.class_names`.
    group : str or None
        Group name (a CSV ``group`` column), or None when the source has no groups.
    split : {"train", "test"} or None
        The pinned set of the image (a CSV ``split`` column or a test list), or None
        when the source pins no split.
    """

    relpath: str
    label: int
    group: str | None = None
    split: SplitName | None = None


@dataclass(frozen=True)
class Source:
    """A listed dataset: its items in a fixed order, and its class names.

    Attributes
    ----------
    location : pathlib.Path
        SOURCE as given, made absolute (a folder or a file).
    root : pathlib.Path
        Folder that the relative paths start from.
    format : {"folders", "matek19", "csv"}
    items : tuple of SourceItem
        In the order of the dataset (see the module notes).
    class_names : tuple of str
        Sorted; labels index into it.
    has_groups : bool
        Whether every item has a group.
    labels, unc : str or None
        The Matek-19 label mode and UNC handling used (None for other formats).
    n_dropped : int
        Matek-19 images left out because they are labelled UNC.
    dropped : tuple of str
        Their relative paths.
    unreadable : tuple of (str, str)
        Folders of a class-folder source that could not be listed: their path
        relative to :attr:`root` and the reason. Their images are missing.
    """

    location: Path
    root: Path
    format: Literal["folders", "matek19", "csv"]
    items: tuple[SourceItem, ...]
    class_names: tuple[str, ...]
    has_groups: bool = False
    labels: LabelMode | None = None
    unc: UncMode | None = None
    n_dropped: int = 0
    unreadable: tuple[tuple[str, str], ...] = ()
    dropped: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.items)

    @property
    def has_splits(self) -> bool:
        """Whether the test set is pinned (every item has a ``split``)."""
        return bool(self.items) and all(item.split is not None for item in self.items)

    def test_mask(self) -> tuple[bool, ...] | None:
        """Which items the pinned split puts in the test set (for the ``test`` argument of
        :func:`rawspace.splits.assign_splits`), or None when no split is pinned."""
        if not self.has_splits:
            return None
        return tuple(item.split == "test" for item in self.items)

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the listing: class names, every relative path, label, group and
        pinned split, then every folder that could not be listed.

        Two listings with the same fingerprint list the same images in the same order
        with the same labels and groups. Names are hashed as the bytes they stand for
        (:func:`rawspace.files.name_bytes`).
        """
        digest = hashlib.sha256()
        for name in self.class_names:
            digest.update(b"class\0" + name_bytes(name) + b"\0")
        for item in self.items:
            group = b"\1" if item.group is None else b"\0" + name_bytes(item.group)
            split = b"" if item.split is None else b"\0split\0" + item.split.encode("ascii")
            digest.update(name_bytes(item.relpath) + b"\0%d" % item.label + group + split + b"\n")
        for folder, _ in self.unreadable:
            digest.update(b"unreadable\0" + name_bytes(folder) + b"\n")
        return digest.hexdigest()


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SourceError(f"{name} must be one of {choices}, got {value!r}")


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _sorted_names(names: set[str]) -> tuple[str, ...]:
    """Sorted class names: numerically when all are integers, else as strings."""
    try:
        return tuple(sorted(names, key=int))
    except ValueError:
        return tuple(sorted(names))


# ---------------------------------------------------------------------- formats
def _read_folders(folder: Path) -> Source:
    listing = find_images(folder)
    unreadable = tuple(
        (path.relative_to(folder).as_posix(), reason) for path, reason in listing.unreadable
    )
    if unreadable and unreadable[0][0] == ".":
        raise SourceError(f"SOURCE {folder} cannot be read: {unreadable[0][1]}")
    class_dirs = sorted(path.name for path in listing.folders if path.parent == folder)
    if not class_dirs:
        raise SourceError(
            f"SOURCE {folder} has no class folders: expected one subfolder per class, "
            f"a Matek-19 root with {MATEK_ANNOTATIONS}, or a CSV file"
        )
    index = {name: label for label, name in enumerate(class_dirs)}
    items = []
    for relpath in listing.relpaths:
        top, below, _ = relpath.partition("/")
        if below:  # files at the top belong to no class
            items.append(SourceItem(relpath, index[top]))
    items.sort(key=lambda item: item.label)  # by class, then (stable) by relative path
    if not items:
        unread = "".join(f"; {path} cannot be read: {reason}" for path, reason in unreadable)
        raise SourceError(
            f"SOURCE {folder} has class folders ({', '.join(class_dirs)}) but no images "
            f"({', '.join(IMAGE_SUFFIXES)}) in them{unread}"
        )
    return Source(folder, folder, "folders", tuple(items), tuple(class_dirs), unreadable=unreadable)


def _read_matek(annotations: Path, labels: LabelMode, unc: UncMode) -> Source:
    try:
        text = annotations.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{annotations} is not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise SourceError(f"SOURCE {annotations} cannot be read: {_reason(exc)}") from None
    rows: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    dropped: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 4:
            raise SourceError(
                f"{annotations}, line {number}: expected 4 columns (path, label, "
                f"re-annotation 1, re-annotation 2), got {len(fields)}: {line.strip()!r}"
            )
        relpath, original, first, _second = fields
        if original == _MATEK_NONE:
            raise SourceError(f"{annotations}, line {number}: {relpath} has no original label")
        if relpath in seen:
            raise SourceError(
                f"{annotations}, line {number}: {relpath} is listed again (first at line "
                f"{seen[relpath]})"
            )
        seen[relpath] = number
        label = first if labels == "reannotation" and first != _MATEK_NONE else original
        if label == UNC and unc == "drop":
            dropped.append(relpath)
            continue
        rows.append((relpath, label))
    if not rows:
        raise SourceError(f"{annotations} lists no images (after dropping {len(dropped)} UNC)")
    class_names = tuple(sorted({label for _, label in rows}))
    index = {name: i for i, name in enumerate(class_names)}
    items = tuple(SourceItem(relpath, index[label]) for relpath, label in rows)
    return Source(
        annotations, annotations.parent, "matek19", items, class_names,
        labels=labels, unc=unc, n_dropped=len(dropped), dropped=tuple(dropped),
    )  # fmt: skip


def _read_csv(csv_path: Path) -> Source:
    try:
        with csv_path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            body = list(enumerate(reader, start=2))
    except UnicodeDecodeError as exc:
        raise SourceError(f"{csv_path} is not UTF-8 text: {exc}") from None
    except csv.Error as exc:
        raise SourceError(f"{csv_path} is not a valid CSV file: {exc}") from None
    except OSError as exc:
        raise SourceError(f"SOURCE {csv_path} cannot be read: {_reason(exc)}") from None
    if header is None:
        raise SourceError(f"{csv_path} is empty: expected a header 'path,label[,group][,split]'")
    columns = [name.strip() for name in header]
    missing = [name for name in ("path", "label") if name not in columns]
    if missing:
        raise SourceError(
            f"{csv_path}: the header must name the columns 'path' and 'label' (and "
            f"optionally 'group'), got {columns}"
        )
    optional = ("path", "label", "group", "split")
    position = {name: columns.index(name) for name in optional if name in columns}
    has_groups = "group" in position
    rows: list[tuple[str, str, str | None, SplitName | None]] = []
    seen: dict[str, int] = {}
    for number, row in body:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise SourceError(
                f"{csv_path}, line {number}: expected {len(columns)} fields, got {len(row)}"
            )
        values = {name: row[i].strip() for name, i in position.items()}
        for name, value in values.items():
            if not value:
                raise SourceError(f"{csv_path}, line {number}: empty {name!r}")
        relpath = PurePosixPath(Path(values["path"]).as_posix()).as_posix()
        if relpath in seen:
            raise SourceError(
                f"{csv_path}, line {number}: path {relpath!r} is listed again (first at line "
                f"{seen[relpath]})"
            )
        seen[relpath] = number
        split = None
        if "split" in values:
            split = _SPLITS.get(values["split"])
            if split is None:
                raise SourceError(
                    f"{csv_path}, line {number}: split must be 'train' or 'test', "
                    f"got {values['split']!r}"
                )
        rows.append((relpath, values["label"], values.get("group"), split))
    if not rows:
        raise SourceError(f"{csv_path} lists no images")
    class_names = _sorted_names({row[1] for row in rows})
    index = {name: i for i, name in enumerate(class_names)}
    items = tuple(
        SourceItem(relpath, index[label], group, split) for relpath, label, group, split in rows
    )
    return Source(csv_path, csv_path.parent, "csv", items, class_names, has_groups=has_groups)


# ---------------------------------------------------------- pinned splits and subsets
def _read_path_list(path: Path) -> list[str]:
    """The paths named by a test list: a CSV's ``path`` column, or one path a line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"test list {path} is not UTF-8 text: {exc}") from None
    except OSError as exc:
        raise SourceError(f"test list {path} cannot be read: {_reason(exc)}") from None
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(text.splitlines()))
        columns = [name.strip() for name in rows[0]] if rows else []
        if "path" not in columns:
            raise SourceError(f"test list {path}: the header must name a 'path' column")
        at = columns.index("path")
        entries = [row[at] for row in rows[1:] if len(row) > at]
    else:
        entries = [line for line in text.splitlines() if not line.strip().startswith("#")]
    return [
        PurePosixPath(Path(entry.strip()).as_posix()).as_posix()
        for entry in entries
        if entry.strip()
    ]


def _pin(listing: Source, test_list: Path) -> Source:
    if listing.has_splits:
        raise SourceError(
            f"SOURCE {listing.location} has a 'split' column: give it or a test list "
            f"({test_list}), not both"
        )
    tested = set(_read_path_list(test_list))
    if not tested:
        raise SourceError(f"test list {test_list} names no images")
    unknown = sorted(tested - {item.relpath for item in listing.items} - set(listing.dropped))
    if unknown:
        raise SourceError(
            f"test list {test_list}: {len(unknown)} of its {len(tested)} paths are not images "
            f"of SOURCE {listing.location} (first: {unknown[0]!r}); paths are relative to "
            f"{listing.root}"
        )
    items = tuple(
        dataclasses.replace(item, split="test" if item.relpath in tested else "train")
        for item in listing.items
    )
    return dataclasses.replace(listing, items=items)


def _rank(relpath: str) -> bytes:
    return hashlib.sha256(name_bytes(relpath)).digest()


def _subset(listing: Source, per_class: int | None, limit: int | None) -> Source:
    ranked = sorted(range(len(listing.items)), key=lambda i: _rank(listing.items[i].relpath))
    if per_class is not None:
        taken: dict[int, int] = {}
        kept = []
        for i in ranked:
            label = listing.items[i].label
            if taken.get(label, 0) < per_class:
                taken[label] = taken.get(label, 0) + 1
                kept.append(i)
        ranked = kept
    if limit is not None:
        ranked = ranked[:limit]
    chosen = sorted(ranked)
    return dataclasses.replace(listing, items=tuple(listing.items[i] for i in chosen))


def read_source(
    source: str | os.PathLike[str],
    *,
    labels: LabelMode | None = None,
    unc: UncMode | None = None,
    test_list: str | os.PathLike[str] | None = None,
    per_class: int | None = None,
    limit: int | None = None,
) -> Source:
    """List the labelled images of a SOURCE (see the module notes for the formats).

    Parameters
    ----------
    source : path
        A class-folder tree, a Matek-19 root (or its ``annotations.dat``), or a CSV file.
    labels : {"original", "reannotation"}, optional
        Matek-19 only (default ``"original"``): which label column to use.
    unc : {"drop", "keep"}, optional
        Matek-19 only (default ``"drop"``): what to do with images labelled UNC.
    test_list : path, optional
        Pin the test set to the images this file names (see the module notes);
        every item then has a ``split``.
    per_class, limit : int, optional
        Keep at most this many images of each class, and overall (positive; see the
        module notes for which).

    Returns
    -------
    Source

    Raises
    ------
    FileNotFoundError
        ``source`` does not exist.
    SourceError
        ``source`` cannot be listed (no classes, malformed lines, duplicate paths, a
        ``split`` that is not train or test), ``labels``/``unc`` are given for a
        source that is not Matek-19, or ``test_list`` cannot be read, names images
        that the source does not list, or is given with a ``split`` column.
    ValueError
        ``per_class`` or ``limit`` is not a positive integer.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "cells.csv").write_text(
    ...     "path,label,split\\na.png,blast,train\\nb.png,blast,test\\nc.png,normal,train\\n"
    ... )
    >>> listing = read_source(root / "cells.csv")
    >>> listing.class_names, [item.split for item in listing.items]
    (('blast', 'normal'), ['train', 'test', 'train'])
    >>> listing.test_mask()
    (False, True, False)
    >>> len(read_source(root / "cells.csv", per_class=1))
    2
    """
    per_class = check_count("per_class", per_class, low=1, optional=True)
    limit = check_count("limit", limit, low=1, optional=True)
    listing = _read_any(source, labels=labels, unc=unc)
    if test_list is not None:
        listing = _pin(listing, Path(test_list))
    if per_class is not None or limit is not None:
        listing = _subset(listing, per_class, limit)
    return listing


def _read_any(
    source: str | os.PathLike[str], *, labels: LabelMode | None, unc: UncMode | None
) -> Source:
    location = Path(os.path.abspath(source))
    if not location.exists():
        raise FileNotFoundError(f"SOURCE not found: {source}")
    if location.is_dir() and (location / MATEK_ANNOTATIONS).is_file():
        location = location / MATEK_ANNOTATIONS
    if location.is_file() and location.suffix.lower() == ".dat":
        labels = "original" if labels is None else labels
        unc = "drop" if unc is None else unc
        _check_choice("labels", labels, LABEL_MODES)
        _check_choice("unc", unc, UNC_MODES)
        return _read_matek(location, labels, unc)
    if labels is not None or unc is not None:
        raise SourceError(
            f"labels and unc apply to Matek-19 sources (a folder with {MATEK_ANNOTATIONS}), "
            f"not to SOURCE {source}"
        )
    if location.is_dir():
        return _read_folders(location)
    if location.suffix.lower() == ".csv":
        return _read_csv(location)
    raise SourceError(
        f"SOURCE {source} must be a folder of class folders, a Matek-19 root (or its "
        f"{MATEK_ANNOTATIONS}) or a .csv file"
    )
