"""rawspace.sources: pinned splits (a CSV split column, a test list) and deterministic subsets."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest

from rawspace.sources import SourceError, read_source


def _write_csv(path: Path, rows: list[tuple[str, ...]], header: str = "path,label") -> Path:
    path.write_text(header + "\n" + "".join(",".join(row) + "\n" for row in rows))
    return path


@pytest.fixture
def listed(tmp_path: Path) -> Path:
    """A CSV of 30 images in three classes (the files need not exist to be listed)."""
    rows = [(f"{name}/{name}_{i:03d}.png", name) for name in ("b", "a", "c") for i in range(10)]
    return _write_csv(tmp_path / "cells.csv", rows)


# ------------------------------------------------------------------------- split column
def test_csv_split_column_pins_the_test_set(tmp_path: Path) -> None:
    rows = [("x.png", "a", "train"), ("y.png", "a", "test"), ("z.png", "b", "TRAIN")]
    source = _write_csv(tmp_path / "s.csv", rows[:2], header="path,label,split")
    listing = read_source(source)
    assert listing.has_splits and [item.split for item in listing.items] == ["train", "test"]
    assert listing.test_mask() == (False, True)
    _write_csv(source, rows, header="path,label,split")
    with pytest.raises(SourceError, match=r"line 4: split must be 'train' or 'test', got 'TRAIN'"):
        read_source(source)


def test_sources_without_pins_keep_their_fingerprint(listed: Path) -> None:
    listing = read_source(listed)
    assert not listing.has_splits and listing.test_mask() is None
    digest = hashlib.sha256()  # the fingerprint as it was before splits could be pinned
    for name in listing.class_names:
        digest.update(b"class\0" + name.encode() + b"\0")
    for item in listing.items:
        digest.update(item.relpath.encode() + b"\0%d" % item.label + b"\1\n")
    assert listing.fingerprint() == digest.hexdigest()
    pinned = dataclasses.replace(
        listing, items=tuple(dataclasses.replace(i, split="train") for i in listing.items)
    )
    assert pinned.fingerprint() != listing.fingerprint()


# ---------------------------------------------------------------------------- test list
@pytest.mark.parametrize("kind", ["csv", "txt"])
def test_test_list_pins_exactly_its_images(listed: Path, tmp_path: Path, kind: str) -> None:
    chosen = ["a/a_003.png", "c/c_009.png", "b/b_000.png"]
    if kind == "csv":
        test_list = _write_csv(tmp_path / "test.csv", [(p, p[0]) for p in chosen])
    else:
        test_list = tmp_path / "test.txt"
        test_list.write_text("# held out\n" + "\n".join(chosen) + "\n\n")
    listing = read_source(listed, test_list=test_list)
    assert {item.relpath for item in listing.items if item.split == "test"} == set(chosen)
    assert sum(item.split == "train" for item in listing.items) == 27
    assert [item.relpath for item in listing.items] == [
        item.relpath for item in read_source(listed).items
    ]  # order and labels unchanged


def test_test_list_errors_name_the_problem(listed: Path, tmp_path: Path) -> None:
    unknown = _write_csv(tmp_path / "t.csv", [("a/a_001.png", "a"), ("a/zzz.png", "a")])
    with pytest.raises(SourceError, match=r"1 of its 2 paths are not images .*'a/zzz.png'"):
        read_source(listed, test_list=unknown)
    headless = tmp_path / "h.csv"
    headless.write_text("file\na/a_001.png\n")
    with pytest.raises(SourceError, match="must name a 'path' column"):
        read_source(listed, test_list=headless)
    with pytest.raises(SourceError, match="cannot be read"):
        read_source(listed, test_list=tmp_path / "missing.txt")
    split_csv = _write_csv(tmp_path / "s.csv", [("x.png", "a", "test")], "path,label,split")
    with pytest.raises(SourceError, match="has a 'split' column: give it or a test list"):
        read_source(split_csv, test_list=unknown)


@pytest.mark.shared
def test_dinobloom_split_of_matek19(shared_dir: Path) -> None:
    root = shared_dir / "data" / "matek19"
    listing = read_source(root, test_list=root / "dinobloom_test.csv")
    with open(root / "dinobloom_test.csv", newline="") as f:
        published = {row["path"] for row in csv.DictReader(f)}
    assert len(published) == 3673
    assert {item.relpath for item in listing.items if item.split == "test"} == published
    assert sum(item.split == "train" for item in listing.items) == 14692
    reannotated = read_source(
        root, labels="reannotation", test_list=root / "dinobloom_test.csv"
    )  # images dropped as UNC may be in the list
    assert len(reannotated) == 18365 - 63
    assert sum(item.split == "test" for item in reannotated.items) == len(
        published - set(reannotated.dropped)
    )


# ------------------------------------------------------------------------------ subsets
def _rank(relpath: str) -> bytes:
    return hashlib.sha256(relpath.encode()).digest()


def test_per_class_keeps_the_first_n_of_each_class_by_path_hash(listed: Path) -> None:
    full = read_source(listed)
    subset = read_source(listed, per_class=3)
    expected = set()
    for label in range(len(full.class_names)):
        members = [item.relpath for item in full.items if item.label == label]
        expected |= set(sorted(members, key=_rank)[:3])
    assert {item.relpath for item in subset.items} == expected
    assert np.bincount([item.label for item in subset.items]).tolist() == [3, 3, 3]
    kept = [item.relpath for item in full.items if item.relpath in expected]
    assert [item.relpath for item in subset.items] == kept  # in the listing's order
    assert subset.class_names == full.class_names


def test_subsets_are_nested_and_independent_of_listing_order(listed: Path, tmp_path: Path):
    rows = list(csv.reader(listed.read_text().splitlines()))[1:]
    order = np.random.default_rng(1).permutation(len(rows))
    shuffled = _write_csv(tmp_path / "shuffled.csv", [tuple(rows[i]) for i in order])
    for per_class, limit in ((4, None), (None, 7), (5, 8)):
        one = {i.relpath for i in read_source(listed, per_class=per_class, limit=limit).items}
        two = {i.relpath for i in read_source(shuffled, per_class=per_class, limit=limit).items}
        assert one == two
    small = {i.relpath for i in read_source(listed, limit=5).items}
    large = {i.relpath for i in read_source(listed, limit=12).items}
    assert len(small) == 5 and small < large
    assert small == set(sorted((r[0] for r in rows), key=_rank)[:5])


def test_subset_after_pinning_keeps_each_images_set(listed: Path, tmp_path: Path) -> None:
    test_list = tmp_path / "test.txt"
    test_list.write_text("\n".join(f"a/a_{i:03d}.png" for i in range(10)))
    subset = read_source(listed, test_list=test_list, per_class=2)
    assert len(subset) == 6
    assert all((item.split == "test") == item.relpath.startswith("a/") for item in subset.items)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_subset_sizes_must_be_positive_integers(listed: Path, bad) -> None:
    with pytest.raises(
        ValueError, match=f"per_class must be None or a positive integer, got {bad!r}"
    ):
        read_source(listed, per_class=bad)
    with pytest.raises(ValueError, match=f"limit must be None or a positive integer, got {bad!r}"):
        read_source(listed, limit=bad)


# ------------------------------------------------------------------ through the build
def test_pinned_split_build_puts_exactly_the_listed_images_in_test(tmp_path: Path) -> None:
    import rawspace.cache
    from rawspace.images import write_png

    rng = np.random.default_rng(0)
    rows = []
    for name in ("blast", "normal"):
        for i in range(8):
            relpath = f"{name}/{name}_{i}.png"
            (tmp_path / name).mkdir(exist_ok=True)
            write_png(tmp_path / relpath, rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
            rows.append((relpath, name, "test" if i % 3 == 0 else "train"))
    published = {row[0] for row in rows if row[2] == "test"}
    split_csv = _write_csv(tmp_path / "split.csv", rows, header="path,label,split")
    plain_csv = _write_csv(tmp_path / "plain.csv", [row[:2] for row in rows])
    test_list = tmp_path / "test.txt"
    test_list.write_text("\n".join(sorted(published)))
    for name, source, extra in (
        ("column", split_csv, {}),
        ("list", plain_csv, {"test_list": test_list}),
    ):
        cache = tmp_path / f"{name}.h5"
        rawspace.cache.build(source, cache, size=16, folds=2, test_fraction=0.5, **extra)
        reader = rawspace.cache.open(cache)
        assert set(reader.test.paths) == published
        assert set(reader.train.paths) == {row[0] for row in rows} - published

    # the command line: --test-list, --per-class and real cameras of the held-out part
    from rawspace.catalogue import held_out_cameras
    from rawspace.cli import main
    from rawspace.spec import RGB2XYZ

    cache = tmp_path / "cli.h5"
    argv = [str(plain_csv), str(cache), "--test-list", str(test_list), "--per-class", "6",
            "--size", "16", "--folds", "2", "--cameras", "held-out",
            "--camera-per", "image"]  # fmt: skip
    assert main(["build", *argv]) == 0
    reader = rawspace.cache.open(cache)
    subset = read_source(plain_csv, test_list=test_list, per_class=6)
    assert set(reader.paths) == {item.relpath for item in subset.items}
    assert len(reader.paths) == 12 and set(reader.test.paths) == published & set(reader.paths)

    def rgb2cam(xyz2cam: np.ndarray) -> bytes:  # as CameraParams normalises it
        m = xyz2cam @ RGB2XYZ
        return np.round(m / m.sum(axis=1, keepdims=True), 6).tobytes()

    used = {rgb2cam(reader.params(i).xyz2cam) for i in range(len(reader))}
    held = {rgb2cam(camera.xyz2cam) for camera in held_out_cameras()}
    assert len(used) > 1 and used <= held  # one camera per image, each a held-out one


@pytest.mark.parametrize("kind", ["csv", "matek19"])
def test_unreadable_source_file_is_one_line(tmp_path: Path, monkeypatch, kind: str) -> None:
    if kind == "csv":
        source = _write_csv(tmp_path / "s.csv", [("x.png", "a")])
    else:
        source = tmp_path / "annotations.dat"
        source.write_text("A/A_1.tiff A nan nan\n")
    real_open = Path.open

    def refusing(self: Path, *args, **kwargs):
        if self == source:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing)
    with pytest.raises(SourceError, match=f"SOURCE {source} cannot be read: Permission denied"):
        read_source(source)
