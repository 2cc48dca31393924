"""Content-true caches, checked when read: digests, fingerprints, resume, schema, damage."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

import rawspace.cache
from rawspace.cache import CacheError, EmptyBuildError
from rawspace.cache.format import DESCRIPTIONS, pixel_digest
from rawspace.files import file_digest

SIZE = 32
CLASSES = ("alpha", "beta")


def _write(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))[1].tobytes())
    return path


def _tree(root: Path, image: np.ndarray, per_class: int = 5, shift: int = 0) -> Path:
    """Two classes of crops of ``image``; ``shift`` moves every crop (other pixels)."""
    for c, name in enumerate(CLASSES):
        for i in range(per_class):
            y, x = 30 * i + shift, 60 * c + shift
            _write(root / name / f"{name}{i}.png", image[y : y + 36, x : x + 30])
    return root


def _values(f: h5py.File, name: str) -> object:
    dataset = f[name]
    if h5py.check_string_dtype(dataset.dtype) is not None:
        return dataset.asstr()[:].tolist()
    data = dataset[...]
    if data.dtype.names and any(h5py.check_string_dtype(data.dtype[k]) for k in data.dtype.names):
        return data.tolist()
    return str(data.dtype), data.shape, data.tobytes()


def assert_same_datasets(a: Path, b: Path) -> None:
    """Every dataset identical (dtype, shape, bytes) and every attribute but ``created``."""
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert sorted(fa) == sorted(fb)
        for name in fa:
            assert _values(fa, name) == _values(fb, name), name
        skip = {"created"}
        assert {k: str(v) for k, v in fa.attrs.items() if k not in skip} == {
            k: str(v) for k, v in fb.attrs.items() if k not in skip
        }


@pytest.fixture(scope="module")
def image(sample_images) -> np.ndarray:
    return sample_images["astronaut"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory, image) -> Path:
    root = tmp_path_factory.mktemp("integrity")
    path = root / "cache.h5"
    rawspace.cache.build(_tree(root / "src", image), path, size=SIZE, folds=2, test_fraction=0.2)
    return path


@pytest.fixture
def copy(cache: Path, tmp_path: Path) -> Path:
    path = tmp_path / "copy.h5"
    shutil.copyfile(cache, path)
    return path


# -------------------------------------------------------------- identity by content
def test_digests_are_those_of_the_source_files_and_of_the_stored_pixels(cache):
    reader = rawspace.cache.open(cache)
    src = cache.parent / "src"
    with h5py.File(cache, "r") as f:
        sources = f["source_digest"].asstr()[:].tolist()
        digests = f["digest"].asstr()[:].tolist()
        raw, rgb = f["raw"][...], f["rgb"][...]
    assert sources == [file_digest(src / path) for path in reader.paths]
    for i in range(len(reader)):  # an independent SHA-256 of the stored bytes
        expected = hashlib.sha256(raw[i].astype("<u2").tobytes() + rgb[i].tobytes())
        assert digests[i] == expected.hexdigest()[:32] == pixel_digest(raw[i], rgb[i])
    assert reader.verify() == len(reader) and reader.test.verify() == len(reader.test)


def test_zeroing_a_stored_image_changes_the_fingerprint_and_fails_verify(copy):
    before = rawspace.cache.open(copy).fingerprint()
    assert rawspace.cache.open(copy).fingerprint() == before
    with h5py.File(copy, "r+") as f:
        f["raw"][0] = 0
    reader = rawspace.cache.open(copy)
    assert reader.fingerprint() != before
    with pytest.raises(CacheError, match=r"copy\.h5: the stored pixels of 1 of 10 .*rows 0\)"):
        reader.verify()


def test_rebuilding_from_other_pixels_under_the_same_names_changes_the_fingerprint(tmp_path, image):
    src = _tree(tmp_path / "src", image)
    cache = tmp_path / "c.h5"
    rawspace.cache.build(src, cache, size=SIZE, folds=2)
    before = rawspace.cache.open(cache)
    fingerprint, paths = before.fingerprint(), before.paths
    _tree(src, image, shift=7)  # same names, other pixels
    rawspace.cache.build(src, cache, size=SIZE, folds=2, overwrite=True)
    after = rawspace.cache.open(cache)
    assert after.paths == paths and after.fingerprint() != fingerprint


@pytest.mark.parametrize("changed", ["alpha/alpha1.png", "beta/beta0.png"])
def test_resume_converts_again_what_changed_and_equals_a_fresh_build(
    tmp_path, interrupted_build, image, changed
):
    src = _tree(tmp_path / "src", image)
    (src / "beta" / "beta3.png").write_text("not yet an image")  # fails, then is fixed
    cache = tmp_path / "c.h5"
    interrupted_build(src, cache, after=9, size=SIZE, folds=2, camera_per="image")
    # a converted image replaced by one of another size, and the failed one repaired
    _write(src / changed, image[100:160, 100:148])
    _write(src / "beta" / "beta3.png", image[:40, :40])
    report = rawspace.cache.build(src, cache, size=SIZE, folds=2, camera_per="image", resume=True)
    assert report.failed == 0 and report.built == 10
    assert report.resumed < 9  # what came after the change was converted again
    fresh = tmp_path / "fresh.h5"
    rawspace.cache.build(src, fresh, size=SIZE, folds=2, camera_per="image")
    assert_same_datasets(fresh, cache)
    assert rawspace.cache.open(cache).fingerprint() == rawspace.cache.open(fresh).fingerprint()


def test_resume_keeps_what_did_not_change(tmp_path, interrupted_build, image):
    src = _tree(tmp_path / "src", image)
    cache = tmp_path / "c.h5"
    interrupted_build(src, cache, after=8, size=SIZE, folds=2, camera_per="image")
    report = rawspace.cache.build(src, cache, size=SIZE, folds=2, camera_per="image", resume=True)
    assert report.resumed == 8 and report.processed == 2 and report.built == 10


def test_every_dataset_says_what_its_values_mean(cache):
    with h5py.File(cache, "r") as f:
        for name in f:
            assert f[name].attrs["description"] == DESCRIPTIONS[name]
        assert "0 train, 1 test" in f["split"].attrs["description"]
        assert "-1 for test samples" in f["fold"].attrs["description"]
        assert "class_names" in f["label"].attrs["description"]
        assert "black_level" in f["raw"].attrs["description"]


# ------------------------------------------------------------------- checked reads
def test_truncating_a_cache_under_an_open_reader_makes_the_next_read_fail(copy):
    reader = rawspace.cache.open(copy)
    first = reader.read("raw")
    assert first.any(axis=(1, 2)).all()
    with open(copy, "r+b") as f:
        f.truncate(copy.stat().st_size * 2 // 3)
    for read in (lambda: reader.read("raw"), lambda: reader[len(reader) - 1], reader.fingerprint):
        with pytest.raises(CacheError, match=r"copy\.h5 changed on disk since"):
            read()
    with pytest.raises(CacheError, match=r"copy\.h5"):
        rawspace.cache.open(copy)


def test_a_cache_rewritten_in_place_under_an_open_reader_is_not_read(copy, tmp_path, image):
    other = tmp_path / "other.h5"
    rawspace.cache.build(
        _tree(tmp_path / "src2", image, shift=5), other, size=SIZE, folds=2, test_fraction=0.2
    )
    reader = rawspace.cache.open(copy)
    reader.read("rgb", [0])
    with open(copy, "r+b") as f:  # as ``cp other.h5 copy.h5`` does: same file, new bytes
        f.truncate(0)
        f.write(other.read_bytes())
    with pytest.raises(CacheError, match="changed on disk"):
        reader.read("rgb", [0, 1])


def test_a_pickled_reader_refuses_a_cache_changed_since_it_was_opened(copy):
    import pickle

    reader = pickle.loads(pickle.dumps(rawspace.cache.open(copy)))
    with h5py.File(copy, "r+") as f:
        f["raw"][1] = 0
    with pytest.raises(CacheError, match="changed on disk"):
        reader[0]


def test_image_rows_that_were_never_stored_are_refused_at_open(copy):
    with h5py.File(copy, "r+") as f:
        raw = f["raw"][...]
        del f["raw"]
        dataset = f.create_dataset("raw", shape=raw.shape, dtype=raw.dtype, chunks=(1, SIZE, SIZE))
        dataset[:-1] = raw[:-1]  # the last row would read back as zeros
    with pytest.raises(CacheError, match=r"copy\.h5: dataset 'raw': only 9 of 10 chunks"):
        rawspace.cache.open(copy)


def _replace(f: h5py.File, name: str, values: np.ndarray) -> None:
    del f[name]
    f.create_dataset(name, data=values)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: f["label"].__setitem__(0, 2), r"'label': value 2 at row 0 is not"),
        (lambda f: f["label"].__setitem__(3, -1), r"'label': value -1 at row 3"),
        (lambda f: _replace(f, "label", f["label"][:] + 0.5), r"'label': must be 1-d integers"),
        (lambda f: f["split"].__setitem__(1, 7), r"'split': value 7 is neither"),
        (lambda f: f["fold"].__setitem__(0, 9), r"'fold': value 9 at row 0"),
        (lambda f: _replace(f, "label", f["label"][:-1]), r"'raw': holds 10 rows but 'label'"),
        (lambda f: _replace(f, "raw", f["raw"][:].astype(np.int8)), r"'raw': int8 .*uint16"),
        (lambda f: _replace(f, "raw", f["raw"][:, :30, :30]), r"'raw': uint16 \(30, 30\)"),
        (lambda f: _replace(f, "rgb", f["rgb"][:] / 255.0), r"'rgb': float64"),
        (
            lambda f: f.attrs.__setitem__("class_names", np.array([b"alpha"], dtype=object)),
            r"'label': value 1 at row \d+ is not an index into the 1 class_names",
        ),
        (lambda f: _replace(f, "params", np.zeros(10)), r"'params': dtype float64"),
        (lambda f: f.attrs.__setitem__("layout", "hexagonal"), r"attribute layout: unknown"),
        (lambda f: f["params"].__setitem__(0, np.zeros((), f["params"].dtype)), r"'params'"),
    ],
)
def test_the_reader_checks_what_it_reads(copy, damage, message):
    with h5py.File(copy, "r+") as f:
        damage(f)
    with pytest.raises(CacheError, match=r"copy\.h5: (dataset )?" + message):
        rawspace.cache.open(copy)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda f: f.__delitem__("label"), r"dataset 'label': missing"),
        (lambda f: f.__delitem__("params"), r"dataset 'params': missing"),
        (lambda f: _replace(f, "raw", f["raw"][:4]), r"dataset 'raw': holds 4 rows but 'label'"),
        (lambda f: f.attrs.__delitem__("class_names"), r"attribute\(s\) class_names missing"),
        (lambda f: f.attrs.__setitem__("config", "{"), r"attribute config: not the JSON"),
    ],
)
def test_foreign_or_damaged_hdf5_is_a_cache_error(copy, damage, message):
    with h5py.File(copy, "r+") as f:
        damage(f)
    with pytest.raises(CacheError, match=r"copy\.h5\b.*" + message):
        rawspace.cache.open(copy)
    with pytest.raises(CacheError, match=r"copy\.h5"):
        rawspace.cache.summary(copy)


def test_a_foreign_hdf5_file_without_labels(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as f:
        f.attrs["config"] = "{}"
        f["raw"] = np.zeros((3, 16, 16), np.uint16)
    with pytest.raises(CacheError, match=r"foreign\.h5 is not a rawspace cache \(attribute"):
        rawspace.cache.open(path)


@pytest.mark.parametrize("content", ["empty", "truncated", "text"])
def test_a_file_that_is_not_hdf5_is_a_cache_error_naming_it(cache, tmp_path, content):
    path = tmp_path / "bad.h5"
    data = {"empty": b"", "truncated": cache.read_bytes()[:5000], "text": b"label,path\n"}
    path.write_bytes(data[content])
    with pytest.raises(CacheError, match=r"bad\.h5 cannot be read as HDF5 .*damaged"):
        rawspace.cache.open(path)


# ------------------------------------------------------------------- small truths
def test_a_build_in_which_every_image_fails_writes_nothing(tmp_path):
    root = tmp_path / "matek"
    root.mkdir()
    lines = [f"{c}/{c}_{i:04d}.tiff {c} nan nan" for c in ("MON", "MYO") for i in range(3)]
    (root / "annotations.dat").write_text("\n".join(lines) + "\n", encoding="ascii")
    out = tmp_path / "out"
    with pytest.raises(EmptyBuildError, match=r"6 of 6 failed.*is SOURCE the dataset root\?"):
        rawspace.cache.build(root, out / "c.h5", size=16)
    assert not out.exists() or not list(out.iterdir())


def test_an_empty_shard_is_still_built(tmp_path, image):
    src = tmp_path / "src"
    _write(src / "a" / "x.png", image[:20, :20])
    _write(src / "b" / "y.png", image[20:40, :20])
    built = [
        rawspace.cache.build(src, tmp_path / f"s{k}.h5", size=16, folds=0, shard=(k, 3)).built
        for k in (1, 2, 3)
    ]
    assert sum(built) == 2 and 0 in built


def test_a_cache_of_format_1_still_opens_but_cannot_be_verified(copy):
    with h5py.File(copy, "r+") as f:
        for name in ("digest", "source_digest"):
            del f[name]
        f.attrs["format_version"] = 1
    reader = rawspace.cache.open(copy)
    assert len(reader) == 10 and len(reader.fingerprint()) == 64
    with pytest.raises(CacheError, match=r"no pixel digests .*rebuild it to verify it"):
        reader.verify()


def test_a_cache_of_a_newer_format_is_refused(copy):
    with h5py.File(copy, "r+") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(CacheError, match=r"format_version: 99 is newer .*upgrade rawspace"):
        rawspace.cache.open(copy)


@pytest.mark.parametrize("jobs", [1, 2])
def test_images_written_in_place_close_the_gaps_of_failed_ones(tmp_path, image, jobs):
    src = _tree(tmp_path / "src", image)
    for broken in ("alpha/alpha0.png", "alpha/alpha3.png", "beta/beta2.png"):
        (src / broken).write_bytes(b"not a png")
    placed, handed = tmp_path / "placed.h5", tmp_path / "handed.h5"
    options = {"size": SIZE, "folds": 2, "camera_per": "image", "jobs": jobs}
    report = rawspace.cache.build(src, placed, **options)  # uncompressed: written in place
    rawspace.cache.build(src, handed, compression="lzf", **options)  # written by the main
    assert report.built == 7 and report.failed == 3
    a, b = rawspace.cache.open(placed), rawspace.cache.open(handed)
    assert a.paths == b.paths and a.verify() == 7
    for name in ("raw", "rgb"):
        np.testing.assert_array_equal(a.read(name), b.read(name))


def test_a_build_is_byte_identical_for_any_number_of_jobs(tmp_path, image):
    src = _tree(tmp_path / "src", image)
    (src / "beta" / "beta1.png").write_text("not a png")  # a gap to close
    files = []
    for jobs in (1, 2):
        path = tmp_path / f"jobs{jobs}.h5"
        rawspace.cache.build(src, path, size=SIZE, folds=2, jobs=jobs)
        with h5py.File(path, "r") as f:  # the one attribute that may differ: the time
            created = str(f.attrs["created"]).encode("ascii")
        data = path.read_bytes()
        assert data.count(created) == 1
        files.append(data.replace(created, b"?" * len(created)))
    assert files[0] == files[1]


def test_multi_page_tiffs_are_refused_unless_a_page_is_chosen(tmp_path, image):
    import tifffile

    src = _tree(tmp_path / "src", image, per_class=2)
    pages = np.stack([image[:32, :32], image[40:72, 40:72]])
    tifffile.imwrite(src / "alpha" / "stack.tif", pages)
    report = rawspace.cache.build(src, tmp_path / "c.h5", size=SIZE, folds=0)
    [(path, _, reason)] = report.failures
    assert path == "alpha/stack.tif" and reason.startswith("multi-page TIFF: 2 pages")
    rawspace.cache.build(src, tmp_path / "p.h5", size=SIZE, folds=0, page=1)
    reader = rawspace.cache.open(tmp_path / "p.h5")
    row = reader.paths.index("alpha/stack.tif")
    np.testing.assert_array_equal(reader[row].rgb, pages[1])
    assert reader.config["page"] == 1
