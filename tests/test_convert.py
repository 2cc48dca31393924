"""rawspace convert: mirrored outputs, exact sidecars, reruns, failures, exit codes, processes."""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

import rawspace
from rawspace.cli import convert as convert_cli
from rawspace.cli import main as cli_main
from rawspace.convert import FAILURES_NAME, convert, find_inputs
from rawspace.files import OutputError
from rawspace.images import fit_image, read_image
from rawspace.params import CameraParams

GOOD = ["A/a1.png", "A/a2.JPG", "B/gray.png", "B/sub/b1.tif", "top.bmp"]
BAD = {"A/trunc.jpg": "truncated JPEG", "B/bad.png": "not an image", "B/tiny.png": "too small"}


def _stem(relpath: str) -> str:
    return relpath.rsplit(".", 1)[0]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, sample_images: dict) -> Path:
    """A small image tree: good PNG/JPEG/TIFF/BMP files, bad files, and files to ignore."""
    root = tmp_path_factory.mktemp("tree") / "input"
    for folder in ("A", "B/sub", ".hidden"):
        (root / folder).mkdir(parents=True)
    photo = sample_images["astronaut"]
    bgr = np.ascontiguousarray(photo[..., ::-1])
    cv2.imwrite(str(root / "A/a1.png"), bgr[:40, :52])
    cv2.imwrite(str(root / "A/a2.JPG"), bgr[60:110, 10:50])
    cv2.imwrite(str(root / "B/gray.png"), photo[:34, :30, 1])
    tifffile.imwrite(root / "B/sub/b1.tif", photo[:36, :36].astype(np.uint16) * 257)
    cv2.imwrite(str(root / "top.bmp"), bgr[100:130, 100:144])
    jpeg = cv2.imencode(".jpg", bgr[:64, :64])[1].tobytes()
    (root / "A/trunc.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (root / "B/bad.png").write_text("not an image")
    cv2.imwrite(str(root / "B/tiny.png"), bgr[:4, :4])
    (root / "notes.txt").write_text("ignored: not an image suffix")
    cv2.imwrite(str(root / ".hidden/x.png"), bgr[:32, :32])
    cv2.imwrite(str(root / "A/._a1.png"), bgr[:32, :32])
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def _digests(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in folder.rglob("*")
        if p.is_file()
    }


def _failures(output: Path) -> dict[str, str]:
    with open(output / FAILURES_NAME, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["path", "reason"]
    return {Path(path).name: reason for path, reason in rows[1:]}


def _run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    convert_cli.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


def _recreate(sidecar: Path) -> np.ndarray:
    """Re-create an output from its JSON with the core API only."""
    record = json.loads(sidecar.read_text())
    options = record["options"]
    rgb = fit_image(read_image(record["source"]), options["size"], fit=options["fit"])
    raw = rawspace.invert(
        rgb,
        CameraParams.from_dict(record["params"]),
        seed=record["noise_seed"],
        layout=options["layout"],
        dtype=np.dtype(options["dtype"]),
        noise=tuple(record["noise"]) if record["noise"] is not None else None,
    )
    return raw.data


# ---------------------------------------------------------------------------- outputs
def test_outputs_mirror_the_tree(tree: Path, tmp_path: Path) -> None:
    report = convert(tree, tmp_path / "out", size=32)
    assert (report.converted, report.skipped, report.failed) == (5, 0, 3)
    expected = {f"{_stem(r)}.{ext}" for r in GOOD for ext in ("npy", "json")} | {FAILURES_NAME}
    assert set(_files(tmp_path / "out")) == expected
    for relpath in GOOD:
        data = np.load(tmp_path / "out" / f"{_stem(relpath)}.npy")
        assert data.shape == (32, 32) and data.dtype == np.uint16
        record = json.loads((tmp_path / "out" / f"{_stem(relpath)}.json").read_text())
        assert record["relpath"] == relpath
        assert record["group"] == (relpath.split("/")[0] if "/" in relpath else ".")
        assert record["rawspace_version"] == rawspace.__version__
        assert record["source"] == os.path.abspath(tree / relpath)
    assert report.images_per_second > 0
    assert "converted 5, skipped 0, failed 3" in report.summary()


@pytest.mark.parametrize(
    "options",
    [
        {"size": 32},
        {"size": 48, "fit": "resize", "layout": "packed", "dtype": "float32",
         "camera_per": "image", "noise": "brooks", "noise_per": "group", "seed": 3},
        {"size": None, "layout": "linear", "noise": "brooks", "camera_per": "group"},
    ],
)  # fmt: skip
def test_sidecars_recreate_outputs_exactly(tree: Path, tmp_path: Path, options: dict) -> None:
    report = convert(tree, tmp_path / "out", **options)
    assert report.converted == len(GOOD)
    for relpath in GOOD:
        stem = tmp_path / "out" / _stem(relpath)
        stored = np.load(f"{stem}.npy")
        recreated = _recreate(Path(f"{stem}.json"))
        assert stored.dtype == recreated.dtype
        np.testing.assert_array_equal(stored, recreated)


def test_noise_and_cameras_are_recorded(tree: Path, tmp_path: Path) -> None:
    convert(tree, tmp_path / "out", size=32, camera_per="group", noise="brooks")
    records = {r: json.loads((tmp_path / "out" / f"{_stem(r)}.json").read_text()) for r in GOOD}
    cameras = {r: json.dumps(rec["params"]) for r, rec in records.items()}
    assert cameras["A/a1.png"] == cameras["A/a2.JPG"]
    assert cameras["B/gray.png"] == cameras["B/sub/b1.tif"]
    assert len({cameras["A/a1.png"], cameras["B/gray.png"], cameras["top.bmp"]}) == 3
    seeds = [rec["noise_seed"] for rec in records.values()]
    assert len(set(seeds)) == len(GOOD) and all(isinstance(s, int) for s in seeds)
    assert all(len(rec["noise"]) == 2 for rec in records.values())
    assert records["A/a1.png"]["options"]["cameras"]["policy"] == "group"


def test_jobs_do_not_change_a_byte(tree: Path, tmp_path: Path) -> None:
    options = {"size": 32, "camera_per": "image", "noise": "brooks", "seed": 5}
    one = convert(tree, tmp_path / "one", jobs=1, **options)
    two = convert(tree, tmp_path / "two", jobs=2, **options)
    assert (one.converted, one.failures) == (two.converted, two.failures)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_fixed_camera_from_json(tree: Path, tmp_path: Path) -> None:
    camera = CameraParams.sample(77, cfa="BGGR", black_level=256, white_level=4095)
    (tmp_path / "camera.json").write_text(camera.to_json())
    convert(tree, tmp_path / "out", size=32, camera=tmp_path / "camera.json")
    for relpath in GOOD:
        record = json.loads((tmp_path / "out" / f"{_stem(relpath)}.json").read_text())
        assert CameraParams.from_dict(record["params"]) == camera
        data = np.load(tmp_path / "out" / f"{_stem(relpath)}.npy")
        assert 256 <= data.min() and data.max() <= 4095


def test_dng_output_readable_by_rawio(tree: Path, tmp_path: Path) -> None:
    from rawspace.rawio import read_raw

    report = convert(tree, tmp_path / "out", size=32, file_format="dng", noise="brooks")
    assert report.converted == len(GOOD)
    for relpath in GOOD:
        stem = tmp_path / "out" / _stem(relpath)
        raw = read_raw(f"{stem}.dng")
        record = json.loads(Path(f"{stem}.json").read_text())
        assert raw.params == CameraParams.from_dict(record["params"])
        np.testing.assert_array_equal(raw.data, _recreate(Path(f"{stem}.json")))
    assert not list((tmp_path / "out").rglob("*.npy"))


# ------------------------------------------------------------------------------ reruns
def test_rerun_skips_and_overwrite_rewrites(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert(tree, out, size=32)
    inodes = {p: p.stat().st_ino for p in out.rglob("*.*")}
    again = convert(tree, out, size=32)
    assert (again.converted, again.skipped, again.failed) == (0, 5, 3)
    assert {p: p.stat().st_ino for p in out.rglob("*.*") if p.name != FAILURES_NAME} == {
        p: i for p, i in inodes.items() if p.name != FAILURES_NAME
    }
    before = _files(out)
    redone = convert(tree, out, size=32, overwrite=True)
    assert (redone.converted, redone.skipped) == (5, 0)
    data_files = [p for p in inodes if p.suffix in (".npy", ".json")]
    assert all(p.stat().st_ino != inodes[p] for p in data_files)
    assert _files(out) == before  # rewritten, and identical


def test_rerun_with_other_options_refuses_to_mix(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert(tree, out, size=32)
    before = _files(out)
    report = convert(tree, out, size=32, seed=1)
    assert report.converted == 0 and report.failed == len(GOOD) + len(BAD)
    assert "a1.json describes an output made with other cameras" in _failures(out)["a1.png"]
    assert {k: v for k, v in _files(out).items() if k != FAILURES_NAME} == {
        k: v for k, v in before.items() if k != FAILURES_NAME
    }


def test_other_format_does_not_take_over_a_sidecar(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert(tree, out, size=32)
    report = convert(tree, out, size=32, file_format="dng")
    assert report.converted == 0
    assert "other format" in _failures(out)["a1.png"]
    assert not list(out.rglob("*.dng"))


def test_incomplete_output_is_redone(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert(tree, out, size=32)
    (out / "A/a1.json").unlink()
    (out / "B/gray.npy").write_bytes(b"partial")
    (out / "B/gray.json").unlink()
    report = convert(tree, out, size=32)
    assert (report.converted, report.skipped) == (2, 3)
    np.testing.assert_array_equal(np.load(out / "B/gray.npy"), _recreate(out / "B/gray.json"))


def test_no_temporary_files_left(tree: Path, tmp_path: Path) -> None:
    convert(tree, tmp_path / "out", size=32)
    assert not [p for p in (tmp_path / "out").rglob("*") if p.name.startswith(".")]


def test_dry_run_writes_nothing(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = convert(tree, out, size=32, dry_run=True)
    assert not out.exists()
    assert report.dry_run and report.converted == 0
    assert sorted(Path(s).relative_to(tree).as_posix() for s, _ in report.planned) == sorted(
        [*GOOD, *BAD]
    )
    convert(tree, out, size=32)
    before = _digests(out)
    again = convert(tree, out, size=32, dry_run=True)
    assert again.skipped == len(GOOD) and len(again.planned) == len(BAD)
    assert _digests(out) == before


# ---------------------------------------------------------------------------- failures
def test_failures_csv_lists_exactly_the_bad_files(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = convert(tree, out, size=32)
    failures = _failures(out)
    assert set(failures) == {Path(r).name for r in BAD}
    for relpath, reason in BAD.items():
        assert reason in failures[Path(relpath).name]
    assert report.failures == sorted(report.failures)


def test_clean_rerun_removes_stale_failures(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert(tree, out, size=32)
    assert (out / FAILURES_NAME).exists()
    good_only = tmp_path / "good.txt"
    good_only.write_text("\n".join(str(tree / r) for r in GOOD))
    report = convert(good_only, out, size=32)
    assert report.failed == 0 and report.skipped == len(GOOD)
    assert not (out / FAILURES_NAME).exists()


def test_two_inputs_for_one_output_both_fail(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rgb = np.zeros((20, 20, 3), np.uint8)
    cv2.imwrite(str(folder / "x.png"), rgb)
    cv2.imwrite(str(folder / "x.jpg"), rgb)
    cv2.imwrite(str(folder / "y.png"), rgb)
    report = convert(folder, tmp_path / "out", size=20)
    assert report.converted == 1 and report.failed == 2
    assert all("would be written by x.jpg, x.png" in reason for _, reason in report.failures)


def test_inputs_never_touched(tree: Path, tmp_path: Path) -> None:
    before = _digests(tree)
    convert(tree, tmp_path / "out", size=32, file_format="dng")
    convert(tree, tmp_path / "out", size=32, file_format="dng", overwrite=True)
    assert _digests(tree) == before


# ------------------------------------------------------------------------------ inputs
def test_list_file(tree: Path, tmp_path: Path) -> None:
    listing = tree.parent / "list.txt"
    listing.write_text(
        "# images to convert\n"
        "input/A/a1.png\n"
        "\n"
        f"  {tree / 'B/sub/b1.tif'}  \n"
        "input/A/missing.png\n"
        "input/A/a1.png\n"
    )
    items = find_inputs(listing).items
    assert [i.relpath for i in items] == ["A/a1.png", "B/sub/b1.tif", "A/missing.png"]
    assert [i.group for i in items] == ["A", "B", "A"]
    report = convert(listing, tmp_path / "out", size=32)
    assert report.converted == 2
    assert _failures(tmp_path / "out") == {"missing.png": "file not found"}
    assert (tmp_path / "out/B/sub/b1.npy").exists()


def test_sequence_of_paths_and_single_file(tree: Path, tmp_path: Path) -> None:
    items = find_inputs([tree / "A/a1.png", tree / "top.bmp"]).items
    assert [(i.relpath, i.group) for i in items] == [("A/a1.png", "A"), ("top.bmp", ".")]
    report = convert(tree / "B/sub/b1.tif", tmp_path / "out", size=32)
    assert report.converted == 1
    assert set(_files(tmp_path / "out")) == {"b1.npy", "b1.json"}


def test_folder_search_is_sorted_case_insensitive_and_skips_hidden(tree: Path) -> None:
    assert [i.relpath for i in find_inputs(tree).items] == sorted([*GOOD, *BAD])


# ---------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layout": "linear", "file_format": "dng"}, "layout 'linear' cannot be written"),
        ({"dtype": "float32", "file_format": "dng"}, "uint16"),
        ({"size": 15}, "size must be None or an even integer"),
        ({"size": 33}, "size must be None or an even integer"),
        ({"jobs": 0}, "jobs must be a positive integer"),
        ({"dtype": "int8"}, "dtype must be one of"),
        ({"camera_per": "patient"}, "camera_per must be one of"),
        ({"noise": "gauss"}, "noise must be one of"),
    ],
)
def test_bad_options_raise_before_any_work(
    tree: Path, tmp_path: Path, kwargs: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        convert(tree, tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_output_inside_input_refused(tree: Path) -> None:
    with pytest.raises(OutputError, match="inside the input folder"):
        convert(tree, tree / "A" / "out")
    with pytest.raises(OutputError, match="is the input"):
        convert(tree, tree)
    assert not (tree / "A" / "out").exists()


def test_missing_input_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="INPUT not found"):
        convert(tmp_path / "nothing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        convert(tmp_path / "empty", tmp_path / "out")


def test_binary_file_is_not_a_list(tmp_path: Path) -> None:
    (tmp_path / "data.bin").write_bytes(bytes(range(256)))
    with pytest.raises(ValueError, match="neither an image"):
        convert(tmp_path / "data.bin", tmp_path / "out")


# -------------------------------------------------------------------------------- CLI
def test_cli_exit_codes_and_summary(
    tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    assert _run_cli(["convert", str(tree), str(out), "--size", "32", "-q"]) == 1
    err = capsys.readouterr().err
    assert "converted 5, skipped 0, failed 3" in err and "images/s" in err
    assert "%|" not in err  # -q: no progress bar
    assert FAILURES_NAME in err
    assert _run_cli(["convert", str(tree / "A/a1.png"), str(tmp_path / "one"), "--size", "0"]) == 0
    assert np.load(tmp_path / "one/a1.npy").shape == (40, 52)
    err = capsys.readouterr().err
    assert "converted 1, skipped 0, failed 0" in err and "100%" in err


def test_cli_verbose_logs_every_image(tree: Path, tmp_path: Path, capsys) -> None:
    assert _run_cli(["convert", str(tree), str(tmp_path / "out"), "--size", "32", "-v"]) == 1
    err = capsys.readouterr().err
    assert f"failed {tree / 'B/bad.png'}: not an image" in err
    assert f"converted {tree / 'A/a1.png'} -> {tmp_path / 'out/A/a1.npy'}" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--layout", "linear", "--format", "dng"],
        ["--dtype", "float32", "--format", "dng"],
        ["--size", "15"],
        ["--jobs", "0"],
        ["--camera", "MISSING.json"],
    ],
)
def test_cli_usage_errors_exit_2(tree: Path, tmp_path: Path, argv: list[str], capsys) -> None:
    assert _run_cli(["convert", str(tree), str(tmp_path / "out"), *argv]) == 2
    assert "rawspace convert: error:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_fixed_camera_with_per_image_cameras_is_a_usage_error(
    tree: Path, tmp_path: Path, capsys
) -> None:
    (tmp_path / "cam.json").write_text(CameraParams.sample(1).to_json())
    argv = ["--camera", str(tmp_path / "cam.json"), "--camera-per", "image"]
    assert _run_cli(["convert", str(tree), str(tmp_path / "out"), *argv]) == 2
    assert "policy must be 'dataset'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--layout", "raw"], ["--size", "big"], ["-q", "-v"], []])
def test_cli_argument_errors_exit_2(tree: Path, tmp_path: Path, argv: list[str]) -> None:
    positional = [str(tree), str(tmp_path / "out")] if argv else [str(tree)]
    with pytest.raises(SystemExit) as info:
        cli_main(["convert", *positional, *argv])
    assert info.value.code == 2


def test_main_runs_convert(tree: Path, tmp_path: Path, capsys) -> None:
    code = cli_main(["convert", str(tree / "top.bmp"), str(tmp_path / "out"), "--size", "32"])
    assert code == 0
    assert (tmp_path / "out/top.npy").exists()
    assert "converted 1" in capsys.readouterr().err


def test_cli_dry_run_lists_work(tree: Path, tmp_path: Path, capsys) -> None:
    assert _run_cli(["convert", str(tree), str(tmp_path / "out"), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if line.startswith("convert ")]) == len(GOOD) + len(BAD)
    assert not (tmp_path / "out").exists()


def test_python_dash_m_with_workers(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "rawspace", "convert", str(tree), str(out)]
    result = subprocess.run(
        [*command, "--size", "32", "--jobs", "2", "--noise", "brooks", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 1, result.stderr
    assert "converted 5, skipped 0, failed 3" in result.stderr
    reference = convert(tree, tmp_path / "ref", size=32, noise="brooks")
    assert reference.converted == 5
    assert _files(out) == _files(tmp_path / "ref")


# ------------------------------------------------------------------------ reliability
def _small_tree(root: Path, names: list[str]) -> Path:
    image = np.zeros((20, 24, 3), np.uint8)
    image[:, :12] = (200, 90, 40)
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(cv2.imencode(".png", image)[1].tobytes())
    return root


def test_cli_camera_with_an_overflowing_gain_is_a_usage_error(tree, tmp_path, capsys) -> None:
    values = CameraParams.sample(1).to_dict()
    (tmp_path / "cam.json").write_text(json.dumps({**values, "rgb_gain": 1e5, "red_gain": 1e5}))
    argv = ["convert", str(tree), str(tmp_path / "out"), "--camera", str(tmp_path / "cam.json")]
    assert _run_cli(argv) == 2
    assert "rgb_gain * red_gain must be in [1e-06, 1e+06]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_folder_links_convert_each_image_once(tmp_path: Path) -> None:
    root = _small_tree(tmp_path / "in", ["A/a.png", "A/sub/b.png", "B/c.png"])
    (root / "A" / "loop").symlink_to("..")
    (root / "A" / "sub" / "to_b").symlink_to("../../B")
    report = convert(root, tmp_path / "out", size=20)
    assert report.converted == 3 and report.failed == 0
    assert sorted(_files(tmp_path / "out")) == [
        "A/a.json", "A/a.npy", "A/sub/b.json", "A/sub/b.npy", "B/c.json", "B/c.npy",
    ]  # fmt: skip


def test_an_output_never_overwrites_an_input(tmp_path: Path) -> None:
    root = _small_tree(tmp_path / "in", ["a.png"])
    out = tmp_path / "out"
    out.mkdir()
    listing = out / "a.json"  # the sidecar of a.png would replace the list itself
    listing.write_text(f"{root / 'a.png'}\n")
    for overwrite in (False, True):
        with pytest.raises(OutputError, match=r"a\.json is the input"):
            convert(listing, out, size=20, overwrite=overwrite)
    assert listing.read_text() == f"{root / 'a.png'}\n" and sorted(_files(out)) == ["a.json"]
    assert _run_cli(["convert", str(listing), str(out), "--overwrite"]) == 2


def _non_utf8(root: Path, name: bytes) -> Path:
    path = root / os.fsdecode(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pytest.skip("the file system refuses names that are not UTF-8")
    return path


def test_names_that_are_not_utf8_round_trip(tmp_path: Path, capsys) -> None:
    root = _small_tree(tmp_path / "in", ["A/ok.png"])
    good = _non_utf8(root, b"A/caf\xe9.png")
    good.write_bytes((root / "A/ok.png").read_bytes())
    bad = _non_utf8(root, b"B\xff/bad\xfe.png")
    bad.write_text("not an image")
    out = tmp_path / "out"
    assert _run_cli(["convert", str(root), str(out), "--size", "20", "-q"]) == 1
    sidecar = out / "A" / os.fsdecode(b"caf\xe9.json")
    assert b'"relpath": "A/caf\xe9.png"' in sidecar.read_bytes()  # the name's own bytes
    record = json.loads(sidecar.read_text(encoding="utf-8", errors="surrogateescape"))
    assert Path(record["source"]) == good and record["relpath"] == "A/caf\udce9.png"
    assert bytes(bad) in (out / FAILURES_NAME).read_bytes()
    assert "failed 1" in capsys.readouterr().err
    assert _run_cli(["convert", str(root), str(tmp_path / "dry"), "--dry-run"]) == 0
    printed = capsys.readouterr().out  # printable on any terminal
    assert "in/A/caf\\xe9.png -> " in printed and "in/B\\xff/bad\\xfe.png -> " in printed
    assert convert(root, out, size=20).skipped == 2  # the sidecars are read back


def test_a_write_failure_is_fatal_not_a_bad_image(tmp_path, monkeypatch, capsys) -> None:
    root = _small_tree(tmp_path / "in", [f"A/{i}.png" for i in range(5)])
    out = tmp_path / "out"
    save = np.save
    calls = {"n": 0}

    def disk_full_at_the_third(file, array, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        save(file, array, **kwargs)

    monkeypatch.setattr(np, "save", disk_full_at_the_third)
    assert _run_cli(["convert", str(root), str(out), "--size", "20", "-q"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "cannot write" in err and "A/2.npy: No space left on device" in err
    assert not (out / FAILURES_NAME).exists()
    assert sorted(_files(out)) == ["A/0.json", "A/0.npy", "A/1.json", "A/1.npy"]
    monkeypatch.setattr(np, "save", save)
    report = convert(root, out, size=20)
    assert (report.skipped, report.converted, report.failed) == (2, 3, 0)


def test_an_unreadable_folder_is_a_listed_failure(tmp_path, make_unreadable, capsys) -> None:
    root = _small_tree(tmp_path / "in", ["A/a.png", "B/b.png", "B/sub/c.png"])
    make_unreadable(root / "B" / "sub")
    out = tmp_path / "out"
    assert _run_cli(["convert", str(root), str(out), "--size", "20", "-q"]) == 1
    assert "converted 2, skipped 0, failed 1" in capsys.readouterr().err
    assert _failures(out) == {"sub": "folder cannot be read: Permission denied"}


def test_output_in_a_read_only_folder_exits_3(tree, read_only_folder, capsys) -> None:
    out = read_only_folder / "out"
    assert _run_cli(["convert", str(tree), str(out), "--size", "32", "-q"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err and "Traceback" not in err


def test_negative_seed_is_refused(tree: Path, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli_main(["convert", str(tree), str(tmp_path / "out"), "--seed", "-5"])
    assert info.value.code == 2
    assert "--seed: must be a non-negative integer, got '-5'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -5"):
        convert(tree, tmp_path / "out", seed=-5)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ identity by content
@pytest.fixture
def own_tree(tree: Path, tmp_path: Path) -> Path:
    """A copy of the tree that a test may change."""
    import shutil

    return Path(shutil.copytree(tree, tmp_path / "input"))


def test_sidecar_records_the_digest_of_its_input(own_tree: Path, tmp_path: Path) -> None:
    import hashlib

    convert(own_tree, tmp_path / "out", size=32)
    for relpath in GOOD:
        record = json.loads((tmp_path / "out" / f"{_stem(relpath)}.json").read_text())
        data = (own_tree / relpath).read_bytes()
        expected = hashlib.blake2b(data, digest_size=16).hexdigest()
        assert record["source_digest"] == f"blake2b-128:{expected}:{len(data)}"


def test_changed_input_is_redone_and_only_it(
    own_tree: Path, tmp_path: Path, sample_images: dict, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    convert(own_tree, out, size=32)
    before = _digests(out)
    other = np.ascontiguousarray(sample_images["coffee"][:40, :52, ::-1])  # same size, new pixels
    cv2.imwrite(str(own_tree / "A/a1.png"), other)
    with caplog.at_level("WARNING", logger="rawspace"):
        report = convert(own_tree, out, size=32)
    assert (report.converted, report.skipped, report.redone) == (1, len(GOOD) - 1, 1)
    assert "1 changed since last conversion: redone" in report.summary()
    assert f"{own_tree / 'A/a1.png'}: changed since last conversion: redone" in caplog.text
    after = _digests(out)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"A/a1.npy", "A/a1.json", FAILURES_NAME}  # the failure list is rewritten
    fresh = convert(own_tree / "A/a1.png", tmp_path / "fresh", size=32)
    assert fresh.converted == 1
    assert (out / "A/a1.npy").read_bytes() == (tmp_path / "fresh/a1.npy").read_bytes()
    np.testing.assert_array_equal(np.load(out / "A/a1.npy"), _recreate(out / "A/a1.json"))
    assert convert(own_tree, out, size=32).skipped == len(GOOD)  # and now it is current


def test_sidecar_without_a_digest_is_redone(
    own_tree: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    convert(own_tree, out, size=32)
    sidecar = out / "B/gray.json"
    record = json.loads(sidecar.read_text())
    del record["source_digest"]  # as an older version wrote it
    sidecar.write_text(json.dumps(record))
    with caplog.at_level("WARNING", logger="rawspace"):
        report = convert(own_tree, out, size=32)
    assert (report.converted, report.redone, report.skipped) == (1, 1, len(GOOD) - 1)
    assert "gray.png: no digest of its input recorded: redone" in caplog.text
    assert "source_digest" in json.loads(sidecar.read_text())


def test_changed_input_that_fails_leaves_no_stale_output(own_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    convert(own_tree, out, size=32)
    (own_tree / "A/a1.png").write_bytes(b"no longer an image")
    report = convert(own_tree, out, size=32)
    assert report.redone == 1 and report.converted == 0
    assert "not an image" in _failures(out)["a1.png"]
    assert not (out / "A/a1.npy").exists() and not (out / "A/a1.json").exists()


def test_cli_says_which_inputs_changed(own_tree: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert _run_cli(["convert", str(own_tree / "A"), str(out), "--size", "32", "-q"]) == 1
    capsys.readouterr()
    data = (own_tree / "A/a1.png").read_bytes()
    (own_tree / "A/a1.png").write_bytes(data + b"trailing")  # other bytes, same pixels
    assert _run_cli(["convert", str(own_tree / "A"), str(out), "--size", "32", "-q"]) == 1
    err = capsys.readouterr().err
    assert "a1.png: changed since last conversion: redone" in err
    assert "converted 1, skipped 1, failed 1" in err


def test_multi_page_tiff_listed_unless_a_page_is_chosen(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(5)
    stack = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    tifffile.imwrite(folder / "stack.tif", stack, photometric="rgb")
    report = convert(folder, tmp_path / "out", size=32)
    assert report.converted == 0
    reason = "multi-page TIFF: 3 pages; choose one with page (--page K, 0 to 2)"
    assert report.failures == [(str(folder / "stack.tif"), reason)]
    assert (
        _run_cli(["convert", str(folder), str(tmp_path / "two"), "--size", "32", "--page", "2"])
        == 0
    )
    record = json.loads((tmp_path / "two/stack.json").read_text())
    assert record["options"]["page"] == 2
    with Image.open(folder / "stack.tif") as image:  # page 2 as Pillow reads it
        image.seek(2)
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")), stack[2])
    np.testing.assert_array_equal(np.load(tmp_path / "two/stack.npy"), _recreate_page(record))


def _recreate_page(record: dict) -> np.ndarray:
    options = record["options"]
    rgb = read_image(record["source"], page=options["page"])
    raw = rawspace.invert(
        fit_image(rgb, options["size"], fit=options["fit"]),
        CameraParams.from_dict(record["params"]),
        seed=record["noise_seed"],
        layout=options["layout"],
        dtype=np.dtype(options["dtype"]),
    )
    return raw.data


# ---------------------------------------------------------------------------- options
def test_options_record_equals_keywords(tree: Path, tmp_path: Path) -> None:
    from rawspace.convert import ConvertOptions

    options = ConvertOptions(size=32, layout="packed", seed=4)
    convert(tree, tmp_path / "a", options)
    convert(tree, tmp_path / "b", size=32, layout="packed", seed=4)
    convert(tree, tmp_path / "c", ConvertOptions(size=32, seed=9), layout="packed", seed=4)

    def data(folder: Path) -> dict[str, bytes]:
        return {k: v for k, v in _files(folder).items() if k.endswith(".npy")}

    assert data(tmp_path / "a") == data(tmp_path / "b") == data(tmp_path / "c")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layout": "hex"}, "layout must be one of .* got 'hex'"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"page": -2}, "page must be None or a non-negative integer, got -2"),
        ({"fit": "stretch"}, "fit must be one of .* got 'stretch'"),
        ({"jobs": 1.5}, "jobs must be a positive integer, got 1.5"),
    ],
)
def test_options_name_the_field_and_the_value(kwargs: dict, message: str) -> None:
    from rawspace.convert import ConvertOptions

    with pytest.raises(ValueError, match=message):
        ConvertOptions(**kwargs)


def test_unknown_option_and_wrong_record_are_refused(tree: Path, tmp_path: Path) -> None:
    from rawspace.options import ConversionOptions

    with pytest.raises(TypeError, match="unknown option 'colour'"):
        convert(tree, tmp_path / "out", colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="options must be a ConvertOptions, got ConversionOptions"):
        convert(tree, tmp_path / "out", ConversionOptions())  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_submodules_are_not_shadowed() -> None:
    import importlib
    import types

    for name in (
        "convert",
        "images",
        "files",
        "sources",
        "splits",
        "shards",
        "processes",
        "options",
    ):
        module = importlib.import_module(f"rawspace.{name}")
        assert isinstance(module, types.ModuleType)
        assert isinstance(getattr(rawspace, name, module), types.ModuleType)
