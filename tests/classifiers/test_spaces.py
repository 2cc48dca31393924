"""classifiers.spaces: the exact input tensor of every space."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rawspace.cache  # noqa: E402
from classifiers import augment, spaces  # noqa: E402
from rawspace.hints import LAYOUTS  # noqa: E402

BLACK, WHITE = 64, 1023  # the levels of the conftest cache (checked below)
FMT = {layout: spaces.RawFormat(layout, "RGGB", BLACK, WHITE) for layout in LAYOUTS}
S = spaces.get


def _rows(path, name: str) -> np.ndarray:
    reader = rawspace.cache.open(path)
    assert (reader.black_level, reader.white_level) == (BLACK, WHITE)
    return reader.read(name)


def _stored(space: str, path, layout: str, size: int | None) -> torch.Tensor:
    chosen = S(space)
    array = chosen.from_cache(_rows(path, chosen.source))
    return chosen.to_stored(array, fmt=FMT[layout], input_size=size)


@pytest.mark.parametrize(
    ("space", "native", "resized"),
    [
        ("rgb", (3, 32, 32), (3, 24, 24)),
        ("rgb_aug", (3, 32, 32), (3, 24, 24)),
        ("raw_bayer", (1, 32, 32), (1, 24, 24)),
        ("raw_packed", (4, 16, 16), (4, 24, 24)),
        ("raw_linear", (3, 32, 32), (3, 24, 24)),
    ],
)
def test_shapes_and_dtypes(make_cache, space: str, native: tuple, resized: tuple) -> None:
    path = make_cache(layout="linear")
    for size, shape in ((None, native), (24, resized)):
        stored = _stored(space, path, "linear", size)
        assert stored.shape == (24, *shape)
        assert S(space).stored_shape(height=32, width=32, input_size=size) == shape
        assert stored.dtype == (torch.uint8 if space.startswith("rgb") else torch.int16)


def test_every_raw_layout_gives_the_same_mosaic_and_planes(make_cache) -> None:
    paths = {layout: make_cache(f"{layout}.h5", layout=layout) for layout in LAYOUTS}
    for space in ("raw_bayer", "raw_packed"):
        for size in (None, 24):
            results = [_stored(space, paths[k], k, size) for k in LAYOUTS]
            assert torch.equal(results[0], results[1]) and torch.equal(results[0], results[2])
    mosaic = _rows(paths["bayer"], "raw")
    unit = S("raw_bayer").to_unit(
        _stored("raw_bayer", paths["bayer"], "bayer", None), fmt=FMT["bayer"]
    )
    np.testing.assert_allclose(unit[:, 0].numpy(), (mosaic - BLACK) / (WHITE - BLACK), rtol=1e-6)
    packed = _stored("raw_packed", paths["bayer"], "bayer", None)
    assert torch.equal(
        packed[:, 1], _stored("raw_bayer", paths["bayer"], "bayer", None)[:, 0, 0::2, 1::2]
    )


def test_resizing_a_mosaic_never_mixes_cfa_sites() -> None:
    site_values = np.array([[100, 400], [700, 1000]], dtype=np.uint16)
    mosaic = np.tile(site_values, (2, 20, 20))  # (2, 40, 40), constant per CFA site
    array = S("raw_bayer").from_cache(mosaic)
    for size in (16, 24, 64):
        out = S("raw_bayer").to_stored(array, fmt=FMT["bayer"], input_size=size)
        values = out[:, 0].int().numpy() + 32768
        assert out.shape == (2, 1, size, size)
        for i in (0, 1):
            for j in (0, 1):
                assert np.all(values[:, i::2, j::2] == site_values[i, j])


def test_values_map_black_to_0_and_white_to_1() -> None:
    raw = S("raw_packed").from_cache(np.array([[[[BLACK, WHITE, 0, 65535]]]], dtype=np.uint16))
    unit = S("raw_packed").to_unit(raw.permute(0, 3, 1, 2), fmt=FMT["packed"])
    expected = [0.0, 1.0, -BLACK / (WHITE - BLACK), (65535 - BLACK) / (WHITE - BLACK)]
    np.testing.assert_allclose(unit.flatten().numpy(), expected, rtol=1e-6)
    rgb = S("rgb").from_cache(np.array([[[[0, 128, 255]]]], dtype=np.uint8))
    unit = S("rgb").to_unit(rgb.permute(0, 3, 1, 2), fmt=FMT["bayer"])
    np.testing.assert_allclose(unit.flatten().numpy(), [0.0, 128 / 255, 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="raw rows must be uint16; got float32"):
        S("raw_bayer").from_cache(np.zeros((1, 2, 2), dtype=np.float32))


def test_normalisation_uses_the_given_training_samples_only(make_cache) -> None:
    path = make_cache(layout="bayer")
    stored = _stored("raw_packed", path, "bayer", None)
    train = stored[:10]
    unit = S("raw_packed").to_unit
    norm = spaces.fit_normalization(
        [unit(part, fmt=FMT["bayer"]) for part in (train[:4], train[4:])]
    )
    unit = S("raw_packed").to_unit(train, fmt=FMT["bayer"]).double()
    np.testing.assert_allclose(norm.mean, unit.mean(dim=(0, 2, 3)).numpy(), rtol=1e-9)
    np.testing.assert_allclose(norm.std, unit.std(dim=(0, 2, 3), unbiased=False).numpy(), rtol=1e-9)
    pipeline = spaces.InputPipeline(S("raw_packed"), FMT["bayer"], norm)
    x = pipeline(train, train=True)
    assert x.dtype == torch.float32 and x.shape == (10, 4, 16, 16)
    np.testing.assert_allclose(x.mean(dim=(0, 2, 3)).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(x.std(dim=(0, 2, 3), unbiased=False).numpy(), 1.0, atol=1e-4)
    assert not np.allclose(pipeline(stored[10:], train=False).mean().item(), 0.0, atol=1e-6)
    described = pipeline.describe((4, 16, 16))
    assert described["shape"] == [4, 16, 16] and described["cfa"] == "RGGB"
    assert described["scaling"] == f"(v − {BLACK}) / ({WHITE} − {BLACK})"


def test_augmentation_only_on_training_batches_of_rgb_aug(make_cache) -> None:
    path = make_cache()
    stored = _stored("rgb", path, "bayer", None)
    norm = spaces.fit_normalization([S("rgb").to_unit(stored, fmt=FMT["bayer"])])
    plain = spaces.InputPipeline(S("rgb"), FMT["bayer"], norm)
    augmented = spaces.InputPipeline(S("rgb_aug"), FMT["bayer"], norm)
    assert torch.equal(plain(stored, train=True), plain(stored, train=False))
    assert torch.equal(augmented(stored, train=False), plain(stored, train=False))
    first = augmented(stored, train=True, generator=torch.Generator().manual_seed(1))
    again = augmented(stored, train=True, generator=torch.Generator().manual_seed(1))
    assert torch.equal(first, again)
    assert not torch.allclose(first, plain(stored, train=False))
    x = S("rgb").to_unit(stored, fmt=FMT["bayer"])
    y = augment.rgb(x, generator=torch.Generator().manual_seed(2))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize(
    ("space", "twin"), [("raw_packed_aug", "raw_packed"), ("raw_bayer_aug", "raw_bayer")]
)
def test_raw_augmentation_only_on_training_batches(make_cache, space, twin) -> None:
    stored = _stored(twin, make_cache(), "bayer", None)
    norm = spaces.fit_normalization([S(twin).to_unit(stored, fmt=FMT["bayer"])])
    plain = spaces.InputPipeline(S(twin), FMT["bayer"], norm)
    augmented = spaces.InputPipeline(S(space), FMT["bayer"], norm)
    assert torch.equal(augmented(stored, train=False), plain(stored, train=False))
    first = augmented(stored, train=True, generator=torch.Generator().manual_seed(4))
    again = augmented(stored, train=True, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and first.shape == stored.shape
    unit = S(twin).to_unit(stored, fmt=FMT["bayer"])
    expected = augment.raw(
        unit, layout=S(space).layout, cfa="RGGB", generator=torch.Generator().manual_seed(4)
    )
    assert torch.equal(first, norm(expected))


def test_augmentation_geometry_without_jitter_is_a_flip_or_rotation(monkeypatch) -> None:
    monkeypatch.setattr(augment, "JITTER", 0.0)
    x = torch.rand(16, 3, 8, 8)
    y = augment.rgb(x, generator=torch.Generator().manual_seed(3))
    candidates = [
        torch.rot90(t, k, dims=(-2, -1))
        for t in (x, x.flip(-1), x.flip(-2), x.flip(-1).flip(-2))
        for k in range(4)
    ]
    for n in range(16):
        assert any(torch.allclose(y[n], c[n], atol=1e-6) for c in candidates)


def test_availability_and_colours() -> None:
    with pytest.raises(ValueError, match="needs the cache's rgb dataset"):
        S("rgb_aug").check_available(layout="bayer", has_rgb=False)
    with pytest.raises(
        ValueError, match="'raw_linear' needs a cache with layout 'linear'; got 'packed'"
    ):
        S("raw_linear").check_available(layout="packed", has_rgb=True)
    S("raw_bayer").check_available(layout="linear", has_rgb=False)
    with pytest.raises(ValueError, match=r"space must be one of rgb, rgb_aug.*got 'hsv'"):
        spaces.get("hsv")
    assert S("raw_packed").channel_colors("RGGB") == (0, 1, 1, 2)
    assert S("raw_packed").channel_colors("BGGR") == (2, 1, 1, 0)
    assert S("raw_bayer").channel_colors("RGGB") is None
    assert S("raw_linear").channel_colors("GRBG") == (0, 1, 2)
    with pytest.raises(ValueError, match="input_size must be an even integer ≥ 2 or None; got 25"):
        S("rgb").stored_shape(height=32, width=32, input_size=25)


# ------------------------------------------------------------------------------ catalogue
def _docstring_table() -> list[tuple[str, str]]:
    """(first column, C column) of each row of the spaces module's table, rows joined."""
    lines = spaces.__doc__.splitlines()
    rules = [i for i, line in enumerate(lines) if line.startswith("=====")]
    rows, current = [], None
    for line in lines[rules[1] + 1 : rules[2]]:
        tokens = line.split() if line[:1].strip() else [""]
        name = tokens[0]
        channels = tokens[1] if len(tokens) > 1 and tokens[1].strip(",").isdigit() else ""
        complete = current is None or (
            current[0].count("``") % 2 == 0 and not current[0].endswith(",")
        )
        if name.startswith("``") and complete:
            current = [name, channels]
            rows.append(current)
        elif current is not None and name:
            current[0] += name
            current[1] += channels
    return [(name, channels) for name, channels in rows]


def test_the_docstring_table_lists_the_catalogue() -> None:
    import re

    from classifiers.space_catalogue import SPACE_CATALOGUE

    listed, channels = [], {}
    for cell, c in _docstring_table():
        names = re.findall(r"``([a-z_]+)``", cell)
        listed += names
        for name, value in zip(names, c.split(","), strict=True):
            channels[name] = int(value)
    assert tuple(listed) == spaces.SPACES == tuple(e.name for e in SPACE_CATALOGUE)
    for entry in SPACE_CATALOGUE:
        assert channels[entry.name] == entry.channels == spaces.get(entry.name).channels


def test_spaces_declare_their_layout_from_the_catalogue() -> None:
    from classifiers.space_catalogue import SPACE_CATALOGUE, SpaceEntry, help_text

    for entry in SPACE_CATALOGUE:
        space = spaces.get(entry.name)
        assert (space.layout, space.source, space.augment, space.camera) == (
            entry.layout, entry.source, entry.augmented, entry.camera,
        )  # fmt: skip
        assert space.description == entry.detail
        assert f"{entry.name} ({entry.description})" in help_text()
    assert [spaces.get(n).layout for n in ("rgb_aug", "raw_linear", "raw_bayer_cam")] == [
        "rgb", "linear", "bayer",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="layout must be one of"):
        SpaceEntry("x", "planar", "", False, False, "")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a camera space must be bayer or packed"):
        SpaceEntry("x", "rgb", "", True, True, "")


def test_the_catalogue_imports_no_torch() -> None:
    """Loaded on its own (as the CLI's help may), the catalogue module loads no torch."""
    import subprocess
    import sys

    from classifiers import space_catalogue

    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('c', {space_catalogue.__file__!r})\n"
        "module = sys.modules['c'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(len(module.SPACE_CATALOGUE), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(len(spaces.SPACES)), "False"]


def test_readme_lists_the_spaces_of_the_catalogue() -> None:
    from pathlib import Path

    from classifiers.space_catalogue import markdown_list

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert markdown_list() in readme, "README's list of input spaces is not markdown_list()"
