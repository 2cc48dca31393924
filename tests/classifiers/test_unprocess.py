"""classifiers.unprocess: batched sRGB → raw in torch, the same formulas as rawspace.invert."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skimage import data  # noqa: E402

import rawspace  # noqa: E402
from classifiers import unprocess  # noqa: E402
from classifiers.unprocess import Cameras, invert, sample_noise_levels  # noqa: E402
from rawspace import CameraParams  # noqa: E402
from rawspace._reference import invert_reference  # noqa: E402
from rawspace.hints import CFA_PATTERNS, GAMMAS, LAYOUTS, TONES  # noqa: E402

H, W = 32, 48
TOL = 1e-5


# ------------------------------------------------------------------------------ helpers
def _images() -> np.ndarray:
    """Three (H, W, 3) uint8 images: a real photo crop, a bright near-white one (the
    highlight blend is active there), and a saturated corner of the range."""
    astronaut = data.astronaut()
    photo = astronaut[180 : 180 + H, 200 : 200 + W]
    bright = (255 - photo // 86).astype(np.uint8)  # 253 … 255: the blend starts at ~253.4
    edges = np.zeros((H, W, 3), np.uint8)
    edges[::2, :, 0] = 255
    edges[:, ::3, 1] = 255
    edges[H // 2 :, :, 2] = np.arange(W, dtype=np.uint8)[None, :] * 5
    return np.stack([photo, bright, edges])


IMAGES = _images()


def _nchw(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)


def _core(image: np.ndarray, camera: CameraParams, layout: str) -> np.ndarray:
    """rawspace.invert as float32, channel-first."""
    raw = rawspace.invert(image, camera, layout=layout, dtype=np.float32).data
    return raw[None] if layout == "bayer" else np.moveaxis(raw, -1, 0)


def _max_error(out: torch.Tensor, images: np.ndarray, cameras, layout: str) -> float:
    assert out.dtype == torch.float32
    return max(
        float(np.abs(out[i].numpy() - _core(images[i], cameras[i], layout)).max())
        for i in range(len(images))
    )


def _camera(seed: int, *, cfa="RGGB", tone="smoothstep", gamma="power2.2", blend=True):
    p = CameraParams.sample(seed, cfa=cfa, tone=tone, gamma=gamma)
    return p if blend else dataclasses.replace(p, highlight_blend=False)


def _mixed_cameras(n: int) -> list[CameraParams]:
    options = list(itertools.product(CFA_PATTERNS, TONES, GAMMAS, (True, False)))
    rng = np.random.default_rng(7)
    picks = rng.permutation(len(options))[:n]
    return [
        _camera(100 + i, cfa=cfa, tone=tone, gamma=gamma, blend=blend)
        for i, (cfa, tone, gamma, blend) in enumerate(options[k] for k in picks)
    ]


# ------------------------------------------------------------------------------ parity
@pytest.mark.parametrize(
    ("cfa", "tone", "gamma", "blend"),
    list(itertools.product(CFA_PATTERNS, TONES, GAMMAS, (True, False))),
)
def test_matches_the_core_for_every_camera_option(cfa, tone, gamma, blend) -> None:
    cameras = [_camera(s, cfa=cfa, tone=tone, gamma=gamma, blend=blend) for s in range(3)]
    floats = (IMAGES / 255.0).astype(np.float32)
    for layout in LAYOUTS:
        for images in (IMAGES, floats):
            out = invert(_nchw(images), cameras, layout=layout)
            assert _max_error(out, images, cameras, layout) <= TOL, (layout, images.dtype)


def test_the_bright_image_exercises_the_highlight_blend() -> None:
    camera = _camera(0)
    x = _nchw(IMAGES[1:2])
    with_blend = invert(x, camera, layout="linear")
    without = invert(x, dataclasses.replace(camera, highlight_blend=False), layout="linear")
    assert float((with_blend - without).abs().max()) > 0.05


def test_shapes_and_site_order_of_the_layouts() -> None:
    camera = _camera(3, cfa="GBRG")
    x = _nchw(IMAGES)
    bayer = invert(x, camera, layout="bayer")
    packed = invert(x, camera, layout="packed")
    linear = invert(x, camera, layout="linear")
    assert bayer.shape == (3, 1, H, W)
    assert packed.shape == (3, 4, H // 2, W // 2)
    assert linear.shape == (3, 3, H, W)
    for s, (dy, dx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        assert torch.equal(packed[:, s], bayer[:, 0, dy::2, dx::2])
        channel = "RGB".index(camera.cfa[s])
        assert torch.allclose(packed[:, s], linear[:, channel, dy::2, dx::2], atol=1e-6, rtol=0)
    assert float(bayer.min()) >= 0.0 and float(bayer.max()) <= 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_input_near_0_and_1_for_every_curve(dtype) -> None:
    """The inverse smoothstep is steep at 0 and 1: float input must still match there."""
    values = np.concatenate(
        [
            np.linspace(0.0, 1.0, 1001),
            np.geomspace(1e-12, 1e-2, 200),
            1 - np.geomspace(1e-12, 1e-2, 200),
        ]
    )
    values = values[: len(values) // 12 * 12].astype(dtype).reshape(-1, 2, 3)  # even height
    images = np.stack([values, values[::-1]])
    for tone, gamma in itertools.product(TONES, GAMMAS):
        camera = _camera(1, tone=tone, gamma=gamma)
        for layout in LAYOUTS:
            out = invert(_nchw(images), camera, layout=layout)
            assert _max_error(out, images, [camera] * 2, layout) <= TOL, (tone, gamma, layout)


def test_float16_input_equals_its_float32_value() -> None:
    x = _nchw(IMAGES / 255.0).to(torch.float16)
    camera = _camera(2)
    assert torch.equal(invert(x, camera), invert(x.float(), camera))


def test_mixed_cameras_in_one_batch() -> None:
    n = 12
    cameras = _mixed_cameras(n)
    assert len({(c.cfa, c.tone, c.gamma, c.highlight_blend) for c in cameras}) == n
    images = IMAGES[np.arange(n) % len(IMAGES)]
    for layout in LAYOUTS:
        for kind in (images, (images / 255.0).astype(np.float64)):
            out = invert(_nchw(kind), cameras, layout=layout)
            assert _max_error(out, kind, cameras, layout) <= TOL, layout
            table = Cameras.stack(cameras)
            assert torch.equal(invert(_nchw(kind), table, layout=layout), out)


def test_one_camera_is_used_for_every_image() -> None:
    camera = _camera(5, cfa="BGGR")
    x = _nchw(IMAGES)
    expected = invert(x, [camera] * 3)
    assert torch.equal(invert(x, camera), expected)
    assert torch.equal(invert(x, [camera]), expected)
    assert torch.equal(invert(x, Cameras.stack(camera)), expected)


def test_parts_of_a_cpu_batch_give_the_same_result(monkeypatch) -> None:
    """On CPU the batch is processed in cache-sized parts; the result must not change."""
    cameras = _mixed_cameras(6)
    x = _nchw(IMAGES[np.arange(6) % 3])
    g = torch.Generator().manual_seed(3)
    whole = invert(x, cameras, layout="bayer", noise="brooks", generator=g)
    monkeypatch.setattr(unprocess.pipeline, "_CPU_PART_PIXELS", 2 * H * W)
    assert len(unprocess.pipeline._chunks(6, H * W, torch.device("cpu"))) == 3
    g = torch.Generator().manual_seed(3)
    parts = invert(x, cameras, layout="bayer", noise="brooks", generator=g)
    assert torch.equal(parts, whole)
    levels = [(0.01, 1e-4), (torch.tensor(0.01), torch.full((6,), 1e-4, dtype=torch.float64))]
    a, b = (invert(x, cameras, noise=v, generator=torch.Generator().manual_seed(1)) for v in levels)
    assert torch.equal(a, b)


# ------------------------------------------------------------------------------ Cameras
def test_cameras_stack_round_trips_the_params() -> None:
    cameras = _mixed_cameras(5)
    table = Cameras.stack(cameras)
    assert len(table) == 5 and table.device == torch.device("cpu")
    assert table.to_params() == cameras
    assert torch.equal(table.rgb2cam, torch.from_numpy(np.stack([c.rgb2cam for c in cameras])))
    wb = np.stack([c.wb_gains for c in cameras])
    assert np.array_equal(table.wb_gains.numpy(), wb)
    assert table.rgb_gain.tolist() == [c.rgb_gain for c in cameras]
    assert [CFA_PATTERNS[i] for i in table.cfa.tolist()] == [c.cfa for c in cameras]
    assert table.highlight_blend.tolist() == [c.highlight_blend for c in cameras]
    assert table.tone.dtype == torch.int64 and table.black_level.tolist() == [0] * 5
    assert "n=5" in repr(table)


def test_cameras_sample_draws_as_camera_params_sample() -> None:
    table = Cameras.sample(4, seed=11, cfa="GRBG", gamma="srgb", tone="none", white_level=4095)
    rng = np.random.default_rng(11)
    expected = [
        CameraParams.sample(rng, cfa="GRBG", gamma="srgb", tone="none", white_level=4095)
        for _ in range(4)
    ]
    assert table.to_params() == expected
    same = Cameras.sample(4, seed=11, cfa="GRBG", gamma="srgb", tone="none", white_level=4095)
    assert same.to_params() == expected
    assert Cameras.sample(4, seed=12).to_params() != Cameras.sample(4, seed=11).to_params()


def test_cameras_indexing_takes_the_cameras_of_a_batch() -> None:
    params = _mixed_cameras(10)
    table = Cameras.stack(params)
    picks = [7, 2, 2, 9]
    expected = [params[i] for i in picks]
    for index in (torch.tensor(picks), np.array(picks), picks, torch.tensor(picks).int()):
        assert table[index].to_params() == expected
    assert table[3].to_params() == [params[3]]
    assert table[-1].to_params() == [params[-1]]
    assert table[2:5].to_params() == params[2:5]
    mask = torch.zeros(10, dtype=torch.bool)
    mask[[1, 4]] = True
    assert table[mask].to_params() == [params[1], params[4]]
    x = _nchw(IMAGES[[0, 1, 2, 0]])
    for layout in LAYOUTS:
        batch = table[torch.tensor(picks)]
        assert torch.equal(invert(x, batch, layout=layout), invert(x, expected, layout=layout))
    assert table.to("cpu") is table


def test_cameras_bad_input() -> None:
    with pytest.raises(TypeError, match=r"params\[1\] must be a CameraParams, got dict"):
        Cameras.stack([_camera(0), {}])
    with pytest.raises(ValueError, match="at least one CameraParams"):
        Cameras.stack([])
    with pytest.raises(TypeError, match="params must be a CameraParams or a sequence"):
        Cameras.stack("RGGB")
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        Cameras.sample(0, seed=1)
    table = Cameras.sample(3, seed=1)
    with pytest.raises(IndexError, match="index 3 is out of range for 3 cameras"):
        table[3]
    with pytest.raises(
        TypeError, match=r"index must be integer or boolean, got dtype torch\.float32"
    ):
        table[torch.tensor([0.0])]
    with pytest.raises(ValueError, match=r"index must be one-dimensional, got shape \(1, 1\)"):
        table[torch.zeros(1, 1, dtype=torch.long)]
    with pytest.raises(TypeError, match="index must be an int, a slice or a tensor"):
        table["a"]


# ------------------------------------------------------------------------------ noise
@pytest.mark.parametrize("layout", LAYOUTS)
def test_explicit_noise_is_added_after_the_mosaic_from_the_generator(layout) -> None:
    cameras = _mixed_cameras(3)
    x = _nchw(IMAGES)
    shot, read = 4e-3, 2e-4
    clean = invert(x, cameras, layout=layout)
    g = torch.Generator().manual_seed(5)
    noisy = invert(x, cameras, layout=layout, noise=(shot, read), generator=g)
    z = torch.Generator().manual_seed(5)
    z = torch.randn(clean.shape, generator=z)
    expected = (clean.double() + (clean.double() * shot + read).sqrt() * z.double()).clamp(0, 1)
    assert float((noisy.double() - expected).abs().max()) <= 1e-6
    assert float((noisy - clean).abs().max()) > 0.01
    assert float(noisy.min()) >= 0.0 and float(noisy.max()) <= 1.0
    # the core's own formulas and order (mosaic, clip, noise, clip), with the same normals
    for i, camera in enumerate(cameras):
        z_i = z[i, 0].numpy() if layout == "bayer" else np.moveaxis(z[i].numpy(), 0, -1)
        ref = invert_reference(
            IMAGES[i], camera, layout=layout, dtype=np.float32, noise=(shot, read), noise_z=z_i
        )
        ref = ref[None] if layout == "bayer" else np.moveaxis(ref, -1, 0)
        assert np.abs(noisy[i].numpy() - ref).max() <= TOL


def test_noise_levels_per_sample() -> None:
    x = _nchw(IMAGES)
    cameras = _mixed_cameras(3)
    shot = torch.tensor([0.0, 1e-3, 1e-2])
    read = torch.tensor([0.0, 1e-5, 1e-3])
    out = invert(x, cameras, noise=(shot, read), generator=torch.Generator().manual_seed(2))
    clean = invert(x, cameras)
    z = torch.randn(clean.shape, generator=torch.Generator().manual_seed(2))
    s, r = shot[:, None, None, None], read[:, None, None, None]
    assert torch.allclose(out, (clean + (clean * s + r).sqrt() * z).clamp(0, 1), atol=1e-6)
    assert torch.equal(out[0], clean[0])  # no noise at zero levels


def test_noise_levels_follow_brooks() -> None:
    """log_shot ~ U(ln 1e-4, ln 0.012); log_read = 2.18 log_shot + 1.20 + N(0, 0.26)."""
    n = 20000
    shot, read = sample_noise_levels(n, generator=torch.Generator().manual_seed(0))
    assert shot.shape == read.shape == (n,) and shot.dtype == torch.float64
    g = torch.Generator().manual_seed(0)
    u = torch.rand(n, generator=g, dtype=torch.float64)
    e = torch.randn(n, generator=g, dtype=torch.float64)
    log_shot = math.log(1e-4) + (math.log(0.012) - math.log(1e-4)) * u
    assert torch.allclose(shot.log(), log_shot, rtol=0, atol=1e-12)
    assert torch.allclose(read.log(), 2.18 * log_shot + 1.20 + 0.26 * e, rtol=0, atol=1e-12)
    # the distribution itself, as rawspace.noise.sample_noise_levels draws it
    ls, lr = shot.log().numpy(), read.log().numpy()
    assert ls.min() >= math.log(1e-4) and ls.max() <= math.log(0.012)
    assert np.quantile(ls, 0.5) == pytest.approx(0.5 * (math.log(1e-4) + math.log(0.012)), abs=0.05)
    residual = lr - 2.18 * ls - 1.20
    assert abs(residual.mean()) < 0.01 and residual.std() == pytest.approx(0.26, abs=0.01)
    rng = np.random.default_rng(0)
    core = np.array([rawspace.noise.sample_noise_levels(rng) for _ in range(2000)])
    core_residual = np.log(core[:, 1]) - 2.18 * np.log(core[:, 0]) - 1.20
    assert core_residual.std() == pytest.approx(residual.std(), abs=0.02)


def test_brooks_noise_draws_levels_per_sample_then_normals() -> None:
    cameras = _mixed_cameras(3)
    x = _nchw(IMAGES)
    out = invert(x, cameras, noise="brooks", generator=torch.Generator().manual_seed(9))
    g = torch.Generator().manual_seed(9)
    shot, read = sample_noise_levels(3, generator=g)
    assert len(set(shot.tolist())) == 3  # one level pair per sample
    explicit = invert(x, cameras, noise=(shot, read), generator=g.manual_seed(9))
    # same levels, but the normals now start where the levels were drawn before
    g = torch.Generator().manual_seed(9)
    sample_noise_levels(3, generator=g)
    clean = invert(x, cameras)
    z = torch.randn(clean.shape, generator=g)
    s = shot.float()[:, None, None, None]
    r = read.float()[:, None, None, None]
    expected = (clean + (clean * s + r).sqrt() * z).clamp(0, 1)
    assert float((out - expected).abs().max()) <= 1e-6
    assert not torch.equal(out, explicit)
    again = invert(x, cameras, noise="brooks", generator=torch.Generator().manual_seed(9))
    assert torch.equal(out, again)


# ------------------------------------------------------------------------------ bad input
def test_bad_input_is_named() -> None:
    camera = _camera(0)
    x = _nchw(IMAGES)
    with pytest.raises(TypeError, match=r"rgb must be a torch\.Tensor, got ndarray"):
        invert(IMAGES, camera)
    with pytest.raises(
        ValueError, match=r"rgb must have shape \(N, 3, H, W\), got shape \(3, 48\)"
    ):
        invert(x[:, 0, 0], camera)
    with pytest.raises(ValueError, match=r"channel-first.*got shape \(3, 32, 48, 3\)"):
        invert(torch.from_numpy(IMAGES), camera)
    with pytest.raises(
        TypeError, match=r"rgb must be uint8 or float in \[0, 1\], got dtype torch\.int16"
    ):
        invert(x.to(torch.int16), camera)
    with pytest.raises(TypeError, match=r"got dtype torch\.bool"):
        invert(x > 0, camera)
    with pytest.raises(ValueError, match="rgb must not be empty"):
        invert(x[:0], camera)
    for layout in ("bayer", "packed"):
        message = rf"even height and width for layout='{layout}', got 31×48"
        with pytest.raises(ValueError, match=message):
            invert(x[:, :, :31], camera, layout=layout)
    assert invert(x[:, :, :31, :47], camera, layout="linear").shape == (3, 3, 31, 47)
    message = r"layout must be one of \('bayer', 'packed', 'linear'\), got 'rgb'"
    with pytest.raises(ValueError, match=message):
        invert(x, camera, layout="rgb")
    with pytest.raises(ValueError, match=r"one camera per image \(N = 3\) or one for all, got 2"):
        invert(x, [camera, camera])
    with pytest.raises(ValueError, match=r"one camera per image \(N = 3\) or one for all, got 5"):
        invert(x, Cameras.sample(5, seed=0))
    with pytest.raises(TypeError, match="cameras must be a Cameras, a CameraParams or a sequence"):
        invert(x, "RGGB")
    with pytest.raises(TypeError, match=r"cameras\[1\] must be a CameraParams, got int"):
        invert(x, [camera, 1, camera])
    floats = x / 255.0
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got values in \[0, 1.5\]"):
        invert(floats * 1.5, camera)
    with pytest.raises(ValueError, match=r"got values in \[-0.5"):
        invert(floats - 0.5, camera)
    nan = floats.clone()
    nan[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="must lie in"):
        invert(nan, camera)
    with pytest.raises(ValueError, match="noise must be None, 'brooks' or"):
        invert(x, camera, noise="poisson")
    with pytest.raises(ValueError, match="noise levels must be finite and >= 0"):
        invert(x, camera, noise=(0.01, -1.0))
    message = r"noise read level must be a float or a float tensor of shape \(3,\)"
    with pytest.raises(ValueError, match=message):
        invert(x, camera, noise=(0.01, torch.zeros(2)))
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator, got int"):
        invert(x, camera, generator=0)


def test_unchecked_float_input_is_clipped_like_the_core() -> None:
    camera = _camera(0, gamma="srgb")
    floats = _nchw(IMAGES / 255.0).float()
    wild = floats * 1.4 - 0.2
    out = invert(wild, camera, check_range=False)
    assert torch.allclose(out, invert(wild.clamp(0, 1), camera), atol=1e-7, rtol=0)


def test_the_input_is_not_modified() -> None:
    x = _nchw(IMAGES).clone()
    floats = x / 255.0
    before, before_f = x.clone(), floats.clone()
    invert(x, _mixed_cameras(3), layout="bayer", noise="brooks")
    invert(floats, _mixed_cameras(3), layout="linear", noise=(0.01, 0.001))
    assert torch.equal(x, before) and torch.equal(floats, before_f)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_the_cpu() -> None:
    cameras = _mixed_cameras(6)
    device = torch.device("cuda")
    table = Cameras.stack(cameras, device=device)
    for images in (IMAGES[np.arange(6) % 3], (IMAGES[np.arange(6) % 3] / 255.0).astype(np.float32)):
        x = _nchw(images)
        for layout in LAYOUTS:
            gpu = invert(x.to(device), table, layout=layout)
            assert gpu.device.type == "cuda"
            assert float((gpu.cpu() - invert(x, cameras, layout=layout)).abs().max()) <= TOL
    g = torch.Generator(device=device).manual_seed(0)
    out = invert(x.to(device), table[torch.arange(6, device=device)], noise="brooks", generator=g)
    assert out.shape == (6, 4, H // 2, W // 2)
    with pytest.raises(ValueError, match="generator must be on rgb's device"):
        invert(x, cameras, noise="brooks", generator=g)


@pytest.mark.slow
def test_torch_compile_traces_one_graph_and_matches_eager() -> None:
    """The compiled path (functional writes, no CPU parts) gives the eager result."""
    torch._dynamo.reset()
    compiled = torch.compile(invert, dynamic=False, fullgraph=True)
    table = Cameras.stack(_mixed_cameras(3))
    for x, layout in ((_nchw(IMAGES), "bayer"), (_nchw(IMAGES / 255.0).float(), "linear")):
        got = compiled(x, table, layout=layout, check_range=False)
        assert float((got - invert(x, table, layout=layout)).abs().max()) <= 1e-6
    noisy = compiled(_nchw(IMAGES), table, layout="packed", noise=(1e-3, 1e-5))
    clean = invert(_nchw(IMAGES), table, layout="packed")
    assert noisy.shape == clean.shape and 0 < float((noisy - clean).abs().max()) < 0.5
    torch._dynamo.reset()


# ------------------------------------------------------------------------------ catalogue
def _rgb2cam(camera) -> np.ndarray:
    return CameraParams.from_xyz2cam(
        camera.xyz2cam, rgb_gain=1.0, red_gain=2.0, blue_gain=1.7
    ).rgb2cam


def test_no_held_out_camera_is_in_a_training_pool() -> None:
    from classifiers.unprocess import CameraSchedule, unseen_cameras
    from rawspace.catalogue import find_camera, held_out_cameras, training_cameras

    evaluation = CameraParams.sample(0, cfa="GRBG", black_level=64)
    schedule = CameraSchedule.create(
        train_rows=np.arange(50), evaluation=evaluation, seed=3, pool_size=300, source="training"
    )
    pool = schedule.pool.rgb2cam.numpy()
    train = np.stack([_rgb2cam(c) for c in training_cameras()])
    held = np.stack([_rgb2cam(c) for c in held_out_cameras()])

    def matches(matrices: np.ndarray, table: np.ndarray) -> np.ndarray:
        return np.abs(matrices[:, None] - table[None]).max(axis=(2, 3)).min(axis=1) < 1e-12

    assert matches(pool, train).all() and not matches(pool, held).any()
    assert len(np.unique(pool.round(9), axis=0)) > 100  # many real cameras, not one
    assert len(schedule.pool_cameras) > 100
    assert {find_camera(name).part for name in schedule.pool_cameras} == {"training"}
    assert schedule.with_evaluation(evaluation).pool_cameras == schedule.pool_cameras
    unseen = unseen_cameras(6, 1, like=evaluation)
    assert {find_camera(c.name).part for c in unseen} == {"held-out"}
    assert all((c.cfa, c.black_level) == ("GRBG", 64) for c in unseen)
    got = np.stack([c.rgb2cam for c in unseen])
    assert matches(got, held).all() and not matches(got, pool).any()
    brooks = CameraSchedule.create(train_rows=np.arange(5), evaluation=evaluation, seed=3,
                                   pool_size=20)  # fmt: skip
    assert not matches(brooks.pool.rgb2cam.numpy(), train).any()
    assert brooks.pool_cameras == ()
    with pytest.raises(ValueError, match="source must be one of"):
        Cameras.sample(2, 0, source="real")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be a positive integer"):
        unseen_cameras(0, 1, like=evaluation)
