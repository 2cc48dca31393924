"""rawspace.cameras: camera policies, noise scopes, stable seeds, reproducibility in processes."""

from __future__ import annotations

import json
import multiprocessing
import pickle
import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import rawspace
from rawspace.cameras import CAMERA_POLICIES, CameraAssigner, load_camera, stable_seed
from rawspace.params import CameraParams

GROUPS = ("BAS", "EOS", "LYT")
RELPATHS = [f"{group}/{group}_{i:04d}.tiff" for group in GROUPS for i in range(4)]


def _group(relpath: str) -> str:
    return relpath.split("/")[0]


def _cameras(assigner: CameraAssigner, relpaths: list[str]) -> list[CameraParams]:
    return [assigner.params_for(r, _group(r)) for r in relpaths]


@pytest.fixture(scope="module")
def spawn_pool() -> Iterator[ProcessPoolExecutor]:
    """Two fresh interpreters (spawn): nothing is inherited from this process."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        yield pool


# ---------------------------------------------------------------------------- stable_seed
def test_stable_seed_pinned() -> None:
    # Reference values: a change here silently changes every dataset ever converted.
    assert stable_seed(0, "camera") == 7137220364346554664
    assert stable_seed(42, "camera", "image", "LYT/LYT_0001.tiff") == 6274919309777710563
    assert stable_seed(-7, "noise", "group", "É/细胞") == 4701862914299599782


def test_stable_seed_same_in_other_processes(spawn_pool: ProcessPoolExecutor) -> None:
    cases = [(0, "camera"), (3, "noise", "image", "a/b.png"), (-5, "x", "É"), (9,)]
    remote = [spawn_pool.submit(stable_seed, *case).result() for case in cases]
    assert remote == [stable_seed(*case) for case in cases]


def test_stable_seed_properties() -> None:
    parts = [("a",), ("b",), ("a", "b"), ("ab",), ()]
    seeds = {stable_seed(s, *p) for s in range(3) for p in parts}
    assert len(seeds) == 15
    assert stable_seed(0, "ab", "c") != stable_seed(0, "a", "bc")
    assert all(0 <= s < 2**63 for s in seeds)
    assert stable_seed(np.int64(5), "a") == stable_seed(5, "a")


def test_stable_seed_rejects_bad_types() -> None:
    with pytest.raises(TypeError, match="seed must be an int"):
        stable_seed("0", "a")
    with pytest.raises(TypeError, match="seed must be an int"):
        stable_seed(True, "a")
    with pytest.raises(TypeError, match="parts must be str"):
        stable_seed(0, Path("a"))


# ---------------------------------------------------------------------------- policies
@pytest.mark.parametrize(
    ("policy", "expected"), [("dataset", 1), ("group", len(GROUPS)), ("image", len(RELPATHS))]
)
def test_number_of_distinct_cameras(policy: str, expected: int) -> None:
    cameras = _cameras(CameraAssigner(policy, seed=11), RELPATHS)
    assert len(set(cameras)) == expected


def test_group_policy_never_mixes_cameras_within_a_group() -> None:
    assigner = CameraAssigner("group", seed=3)
    by_group: dict[str, set[CameraParams]] = {}
    for relpath, camera in zip(RELPATHS, _cameras(assigner, RELPATHS), strict=True):
        by_group.setdefault(_group(relpath), set()).add(camera)
    assert all(len(cameras) == 1 for cameras in by_group.values())
    assert len(set().union(*by_group.values())) == len(GROUPS)


def test_seeds_follow_the_documented_formula() -> None:
    seed = 5
    sample = CameraParams.sample
    assert CameraAssigner(seed=seed).params_for("x.png") == sample(stable_seed(seed, "camera"))
    assert CameraAssigner("group", seed=seed).params_for("g/x.png", "g") == sample(
        stable_seed(seed, "camera", "group", "g")
    )
    assert CameraAssigner("image", seed=seed).params_for("g/x.png", "g") == sample(
        stable_seed(seed, "camera", "image", "g/x.png")
    )


def test_dataset_camera_independent_of_order() -> None:
    shuffled = RELPATHS[:]
    random.Random(1).shuffle(shuffled)
    first = _cameras(CameraAssigner(seed=8), RELPATHS)
    second = _cameras(CameraAssigner(seed=8), shuffled)
    assert set(first) == set(second) and len(set(first)) == 1


@pytest.mark.parametrize("policy", CAMERA_POLICIES)
def test_cameras_identical_in_spawned_processes(
    spawn_pool: ProcessPoolExecutor, policy: str
) -> None:
    assigner = CameraAssigner(policy, seed=21)
    order = RELPATHS[::-1]
    remote = list(spawn_pool.map(assigner.params_for, order, map(_group, order)))
    assert [c.to_dict() for c in remote] == [c.to_dict() for c in _cameras(assigner, order)]


def test_seed_changes_the_cameras() -> None:
    assert CameraAssigner(seed=0).params_for("a") != CameraAssigner(seed=1).params_for("a")


def test_group_policy_needs_a_group() -> None:
    with pytest.raises(ValueError, match=r"no group was given for 'a\.png'"):
        CameraAssigner("group").params_for("a.png")
    with pytest.raises(TypeError, match="group must be a str"):
        CameraAssigner("group").params_for("a.png", 3)


def test_sampling_options_reach_the_cameras() -> None:
    assigner = CameraAssigner("image", cfa="GBRG", black_level=64, white_level=4095)
    camera = assigner.params_for("a.png")
    assert (camera.cfa, camera.black_level, camera.white_level) == ("GBRG", 64, 4095)


def test_fixed_camera() -> None:
    camera = CameraParams.sample(99, cfa="BGGR")
    assigner = CameraAssigner(camera=camera)
    assert all(c is camera for c in _cameras(assigner, RELPATHS))
    assert assigner.camera_seed_for("a") is None
    with pytest.raises(ValueError, match="policy must be 'dataset'"):
        CameraAssigner("image", camera=camera)
    with pytest.raises(ValueError, match="brings its own"):
        CameraAssigner(camera=camera, cfa="GRBG")
    with pytest.raises(TypeError, match="camera must be a CameraParams"):
        CameraAssigner(camera=camera.to_dict())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"policy": "patient"}, "policy must be one of"),
        ({"noise": "gaussian"}, "noise must be one of"),
        ({"noise_per": "class"}, "noise_per must be one of"),
        ({"cfa": "RGBG"}, "cfa must be one of"),
        ({"black_level": 20000}, "levels must satisfy"),
    ],
)
def test_bad_options(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CameraAssigner(**kwargs)


def test_policy_is_the_only_positional_argument() -> None:
    with pytest.raises(TypeError):
        CameraAssigner("dataset", 3)


# ------------------------------------------------------------------------------- noise
def test_no_noise() -> None:
    assigner = CameraAssigner("image")
    assert assigner.noise_levels_for("a") is None and assigner.noise_seed_for("a") is None
    raw = assigner.invert(np.full((16, 16, 3), 128, np.uint8), "a")
    assert raw.noise is None and raw.seed is None


@pytest.mark.parametrize(
    ("noise_per", "expected"), [("dataset", 1), ("group", len(GROUPS)), ("image", len(RELPATHS))]
)
def test_noise_levels_per_scope(noise_per: str, expected: int) -> None:
    assigner = CameraAssigner(seed=4, noise="brooks", noise_per=noise_per)
    levels = {assigner.noise_levels_for(r, _group(r)) for r in RELPATHS}
    assert len(levels) == expected
    for shot, read in levels:
        assert 1e-4 <= shot <= 0.012 and read > 0


@pytest.mark.parametrize("noise_per", CAMERA_POLICIES)
def test_noise_realisation_is_always_per_image(noise_per: str) -> None:
    assigner = CameraAssigner(seed=4, noise="brooks", noise_per=noise_per)
    seeds = {assigner.noise_seed_for(r, _group(r)) for r in RELPATHS}
    assert len(seeds) == len(RELPATHS)
    assert assigner.noise_seed_for("a/b.png") == stable_seed(
        4, "noise-realisation", "image", "a/b.png"
    )
    rgb = np.full((32, 32, 3), 120, np.uint8)
    first, second = (assigner.invert(rgb, r, _group(r)).data for r in RELPATHS[:2])
    assert not np.array_equal(first, second)


def test_noise_seed_needs_no_group_but_noise_levels_per_group_do() -> None:
    assigner = CameraAssigner(noise="brooks", noise_per="group")
    assert assigner.noise_seed_for("a.png") == assigner.noise_seed_for("a.png", "g")
    with pytest.raises(ValueError, match="no group"):
        assigner.noise_levels_for("a.png")


# ------------------------------------------------------------------------------ invert
def test_invert_equals_the_core_call(ihc: np.ndarray) -> None:
    assigner = CameraAssigner("group", seed=2, noise="brooks", noise_per="dataset")
    raw = assigner.invert(ihc, "g/a.png", "g", layout="packed", dtype=np.float32)
    expected = rawspace.invert(
        ihc,
        assigner.params_for("g/a.png", "g"),
        seed=assigner.noise_seed_for("g/a.png", "g"),
        layout="packed",
        dtype=np.float32,
        noise=assigner.noise_levels_for("g/a.png", "g"),
    )
    assert raw.layout == "packed" and raw.data.dtype == np.float32
    np.testing.assert_array_equal(raw.data, expected.data)
    assert raw.noise == assigner.noise_levels_for("g/a.png", "g")


def test_invert_identical_in_a_spawned_process(
    spawn_pool: ProcessPoolExecutor, ihc: np.ndarray
) -> None:
    assigner = CameraAssigner("image", seed=6, noise="brooks")
    local = assigner.invert(ihc, "x/y.png", "x")
    remote = spawn_pool.submit(assigner.invert, ihc, "x/y.png", "x").result()
    assert remote.data.tobytes() == local.data.tobytes()
    assert remote.params == local.params and remote.noise == local.noise


# ------------------------------------------------------------------------------ record
def test_to_dict_round_trip() -> None:
    for assigner in (
        CameraAssigner("group", seed=9, noise="brooks", noise_per="dataset", cfa="BGGR"),
        CameraAssigner(camera=CameraParams.sample(1), noise="brooks"),
    ):
        record = json.loads(json.dumps(assigner.to_dict()))
        camera = record["camera"]
        assert camera is None or CameraParams.from_dict(camera) == assigner.camera
        assert pickle.loads(pickle.dumps(assigner)) == assigner
    assert CameraAssigner(seed=9).to_dict() == {
        "policy": "dataset",
        "seed": 9,
        "camera": None,
        "noise": None,
        "noise_per": "image",
        "cfa": "RGGB",
        "black_level": 0,
        "white_level": 16383,
    }


# --------------------------------------------------------------------------- load_camera
def test_load_camera_from_json(tmp_path: Path) -> None:
    camera = CameraParams.sample(12, black_level=100)
    (tmp_path / "cam.json").write_text(camera.to_json())
    assert load_camera(tmp_path / "cam.json") == camera
    (tmp_path / "sidecar.json").write_text(json.dumps({"relpath": "a", "params": camera.to_dict()}))
    assert load_camera(tmp_path / "sidecar.json") == camera


def test_load_camera_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.json"):
        load_camera(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_camera(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"rgb_gain": 1}')
    with pytest.raises(ValueError, match="does not describe a camera"):
        load_camera(tmp_path / "other.json")


def test_load_camera_from_dng(tmp_path: Path, ihc: np.ndarray) -> None:
    from rawspace.rawio import write_dng

    camera = CameraParams.sample(13, cfa="GRBG", black_level=64, white_level=4095)
    write_dng(rawspace.invert(ihc, camera), tmp_path / "cam.dng")
    assert load_camera(tmp_path / "cam.dng") == camera


# ------------------------------------------------------------------ catalogue cameras
def test_sample_camera_sources():
    from rawspace.cameras import camera_pool, sample_camera
    from rawspace.catalogue import find_camera, held_out_cameras, training_cameras

    assert sample_camera(4, source="brooks") == CameraParams.sample(4)
    assert camera_pool("training") == training_cameras()
    assert camera_pool("held-out") == held_out_cameras() and camera_pool("brooks") == ()
    for seed in range(30):
        assert find_camera(sample_camera(seed, source="held-out").name).part == "held-out"
        assert find_camera(sample_camera(seed).name).part == "training"
    camera = sample_camera(2, source="catalogue", cfa="BGGR", white_level=4095)
    assert camera == CameraParams.sample(2, matrices="catalogue", cfa="BGGR", white_level=4095)
    with pytest.raises(ValueError, match="source must be one of"):
        sample_camera(0, source="adobe")


def test_assigner_draws_catalogue_cameras_reproducibly():
    from rawspace.cameras import sample_camera
    from rawspace.catalogue import find_camera

    assigner = CameraAssigner("image", seed=5, cameras="held-out")
    cameras = _cameras(assigner, RELPATHS)
    assert all(find_camera(c.name).part == "held-out" for c in cameras)
    assert len({c.name for c in cameras}) > 1
    seed = stable_seed(5, "camera", "image", RELPATHS[0])
    assert cameras[0] == sample_camera(seed, source="held-out")
    assert assigner.to_dict()["cameras"] == "held-out"
    assert "cameras" not in CameraAssigner().to_dict()  # records of Brooks' cameras unchanged
    with pytest.raises(ValueError, match="cameras must be one of"):
        CameraAssigner(cameras="all")
    with pytest.raises(ValueError, match="brings its own"):
        CameraAssigner(camera=CameraParams.sample(0), cameras="training")


def test_camera_noise_follows_the_assigned_cameras_profile():
    import dataclasses

    profile = ((2e-3, 1e-5),)
    camera = dataclasses.replace(CameraParams.sample(2), noise_profile=profile)
    assigner = CameraAssigner(camera=camera, noise="camera")
    assert assigner.noise_levels_for("a.png") == (2e-3, 1e-5)
    assert assigner.noise_seed_for("a.png") is not None
    with pytest.raises(ValueError, match="noise"):
        CameraAssigner(seed=1, noise="camera").noise_levels_for("a.png")
