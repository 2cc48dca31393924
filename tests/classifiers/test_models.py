"""classifiers.models: every architecture, channel adaptation, regimes and weight loading."""

from __future__ import annotations

import urllib.error

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

from torch import nn  # noqa: E402

from classifiers import models  # noqa: E402


def _first(model: nn.Module, name: str) -> nn.Conv2d:
    return model.get_submodule(models.first_layer_name(name))


def _head(model: nn.Module, name: str) -> nn.Linear:
    return model.get_submodule(models.head_name(name))


@pytest.mark.parametrize("name", models.MODELS)
@pytest.mark.parametrize("channels", models.IN_CHANNELS)
def test_create_every_model_and_channel_count(name: str, channels: int) -> None:
    with torch.device("meta"):
        model = models.create(name, num_classes=15, in_channels=channels)
    assert _first(model, name).in_channels == channels
    assert _head(model, name).out_features == 15
    assert all(p.requires_grad for p in model.parameters())


def test_parameter_counts_of_large_models_on_meta() -> None:
    with torch.device("meta"):
        counts = {
            n: sum(p.numel() for p in models.create(n, num_classes=1000).parameters())
            for n in ("vit_l_16", "vit_l_32", "vit_b_16", "mobilenet_v3_small")
        }
    assert counts["vit_l_16"] == 304_326_632
    assert counts["vit_l_32"] == 306_535_400
    assert counts["vit_b_16"] == 86_567_656
    assert counts["mobilenet_v3_small"] == 2_542_856  # torchvision's documented figure


def test_small_model_batch_norm_momentum() -> None:
    model = models.create("mobilenet_v3_small", num_classes=3)
    momenta = {m.momentum for m in model.modules() if isinstance(m, nn.BatchNorm2d)}
    assert momenta == {0.1}


def test_vit_takes_any_multiple_of_the_patch_size() -> None:
    with torch.device("meta"):
        model = models.create("vit_b_16", num_classes=3, image_size=96)
    assert model.encoder.pos_embedding.shape == (1, (96 // 16) ** 2 + 1, 768)
    with pytest.raises(ValueError, match="multiple of vit_b_32's patch size 32; got 48"):
        models.create("vit_b_32", num_classes=3, image_size=48)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "resnet18"}, "model must be one of resnet50, densenet121.*got 'resnet18'"),
        ({"mode": "partial"}, "mode must be one of full, linear; got 'partial'"),
        ({"in_channels": 2}, "in_channels must be one of 1, 3, 4; got 2"),
        ({"num_classes": 1}, "num_classes must be an integer ≥ 2; got 1"),
    ],
)
def test_bad_arguments_name_the_value(kwargs: dict, message: str) -> None:
    arguments = {"name": "resnet50", "num_classes": 3} | kwargs
    name = arguments.pop("name")
    with pytest.raises(ValueError, match=message):
        models.create(name, **arguments)


def test_first_layer_adaptation_keeps_the_response_to_gray(tmp_path) -> None:
    torch.manual_seed(0)
    path = tmp_path / "rgb.pth"
    torch.save(models.create("resnet50", num_classes=3).state_dict(), path)
    rgb = models.create("resnet50", num_classes=3, weights=path).eval()
    one = models.create("resnet50", num_classes=3, in_channels=1, weights=path).eval()
    four = models.create("resnet50", num_classes=3, in_channels=4, weights=path).eval()
    rggb = models.create(
        "resnet50", num_classes=3, in_channels=4, weights=path, channel_colors=(0, 1, 1, 2)
    ).eval()
    gray = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        expected = rgb(gray.expand(-1, 3, -1, -1))
        for model, channels in ((one, 1), (four, 4), (rggb, 4)):
            torch.testing.assert_close(
                model(gray.expand(-1, channels, -1, -1)), expected, rtol=1e-4, atol=1e-4
            )
        colour = torch.rand(2, 3, 32, 32)
        assert not torch.allclose(rgb(colour), one(colour.mean(1, keepdim=True)), atol=1e-3)
    w = rgb.conv1.weight
    torch.testing.assert_close(one.conv1.weight, w.sum(1, keepdim=True))
    torch.testing.assert_close(four.conv1.weight, w.mean(1, keepdim=True).repeat(1, 4, 1, 1) * 0.75)
    torch.testing.assert_close(
        rggb.conv1.weight, torch.stack([w[:, 0], w[:, 1] / 2, w[:, 1] / 2, w[:, 2]], dim=1)
    )


def test_adapt_first_layer_rejects_bad_colours() -> None:
    with pytest.raises(ValueError, match=r"channel_colors.*got \(0, 1, 1, 1\)"):
        models.adapt_first_layer(torch.ones(8, 3, 3, 3), 4, (0, 1, 1, 1))


def test_vit_weights_are_interpolated_to_another_size(tmp_path) -> None:
    path = tmp_path / "vit.pth"
    source = models.create("vit_b_32", num_classes=5)
    torch.save(source.state_dict(), path)
    model = models.create("vit_b_32", num_classes=5, image_size=64, in_channels=1, weights=path)
    assert model.encoder.pos_embedding.shape == (1, 5, 768)
    torch.testing.assert_close(
        model.encoder.pos_embedding[:, 0], source.encoder.pos_embedding[:, 0]
    )
    torch.testing.assert_close(model.conv_proj.weight, source.conv_proj.weight.sum(1, keepdim=True))
    with torch.no_grad():
        assert model.eval()(torch.rand(1, 1, 64, 64)).shape == (1, 5)


def test_linear_mode_trains_only_the_head() -> None:
    model = models.create("resnet50", num_classes=3, mode="linear")
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]
    model.train()
    assert model.training and model.fc.training
    assert not any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    before = model.bn1.running_mean.clone()
    model(torch.rand(2, 3, 32, 32)).sum().backward()
    torch.testing.assert_close(model.bn1.running_mean, before)
    assert model.conv1.weight.grad is None and model.fc.weight.grad is not None
    model.eval()
    assert not model.training and not model.fc.training
    full = models.create("resnet50", num_classes=3, mode="full").train()
    assert all(m.training for m in full.modules())


def test_resnet50_state_dict_with_module_prefix_loads_without_its_head(tmp_path) -> None:
    source = torchvision.models.resnet50()
    path = tmp_path / "resnet.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    model = models.create("resnet50", num_classes=15, weights=path)
    torch.testing.assert_close(model.layer4[2].conv3.weight, source.layer4[2].conv3.weight)
    torch.testing.assert_close(model.bn1.running_var, source.bn1.running_var)
    assert model.fc.out_features == 15


def test_kimianet_style_densenet_state_dict_loads(tmp_path) -> None:
    source = torchvision.models.densenet121()
    state = {}
    for key, value in source.state_dict().items():
        if key.startswith("features."):
            key = key.replace("features.", "module.model.0.", 1)
            key = key.replace("denselayer1.norm1.", "denselayer1.norm.1.")
            state[key] = value
    state["module.fc_4.weight"] = torch.zeros(30, 1024)
    state["module.fc_4.bias"] = torch.zeros(30)
    path = tmp_path / "KimiaNetPyTorchWeights.pth"
    torch.save(state, path)
    model = models.create("densenet121", num_classes=15, in_channels=4, weights=path)
    features = source.features
    torch.testing.assert_close(
        model.features.denseblock1.denselayer1.norm1.weight,
        features.denseblock1.denselayer1.norm1.weight,
    )
    torch.testing.assert_close(
        model.features.conv0.weight,
        features.conv0.weight.mean(1, keepdim=True).repeat(1, 4, 1, 1) * 0.75,
    )
    assert model.classifier.out_features == 15


def test_weights_that_do_not_fit_are_reported(tmp_path) -> None:
    state = torchvision.models.resnet50().state_dict()
    del state["layer1.0.conv1.weight"]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(
        ValueError,
        match=r"1 missing keys \[layer1.0.conv1.weight\].*1 unexpected keys \[extra.weight\]",
    ):
        models.create("resnet50", num_classes=3, weights=path)
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        models.create("resnet50", num_classes=3, weights=tmp_path / "absent.pth")


def test_imagenet_weights_unavailable_says_where_to_put_them(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    target = models.imagenet_checkpoint_path("resnet50")
    assert target == tmp_path / "hub" / "checkpoints" / "resnet50-11ad3fa6.pth"
    with pytest.raises(
        models.WeightsUnavailableError, match=r"put the file at .*resnet50-11ad3fa6\.pth"
    ):
        models.create("resnet50", num_classes=3, weights="imagenet")
    target.parent.mkdir(parents=True, exist_ok=True)
    source = torchvision.models.resnet50()
    torch.save(source.state_dict(), target)
    model = models.create("resnet50", num_classes=3, weights="imagenet")
    torch.testing.assert_close(model.conv1.weight, source.conv1.weight)
