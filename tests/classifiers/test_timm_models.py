"""classifiers.models with timm: timm:NAME, ImageNet-21k ViTs and DinoBloom, on weights the
tests write themselves; classifiers.pretrained: checkpoints, normalisation, recipes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from classifiers import models, pretrained, timm_models  # noqa: E402
from classifiers.train import TrainConfig  # noqa: E402


def test_any_timm_model_with_its_own_first_layer_adaptation(tmp_path) -> None:
    source = timm.create_model("resnet18", num_classes=1000)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    plain = models.create("timm:resnet18", num_classes=5, weights=path)
    assert torch.equal(plain.conv1.weight, source.conv1.weight)
    assert plain.fc.out_features == 5  # the 1000-class head is not loaded
    four = models.create("timm:resnet18", num_classes=5, in_channels=4, weights=path)
    expected = timm.models.adapt_input_conv(4, source.conv1.weight.detach())
    assert torch.equal(four.conv1.weight, expected)
    coloured = models.create(
        "timm:resnet18", num_classes=5, in_channels=4, weights=path, channel_colors=(0, 1, 1, 2)
    )
    by_colour = models.adapt_first_layer(source.conv1.weight.detach(), 4, (0, 1, 1, 2))
    assert torch.equal(coloured.conv1.weight, by_colour)
    assert torch.equal(coloured.layer1[0].conv1.weight, source.layer1[0].conv1.weight)
    assert coloured.eval()(torch.zeros(1, 4, 32, 32)).shape == (1, 5)
    assert models.first_layer_name("timm:resnet18") == "conv1"
    assert models.head_name("timm:resnet18") == "fc"


def test_timm_names_are_checked() -> None:
    with pytest.raises(ValueError, match=r"or timm:NAME .*; got 'timm:no_such_net'"):
        models.create("timm:no_such_net", num_classes=3)
    with pytest.raises(ValueError, match="weights 'imagenet21k' do not exist for resnet50"):
        models.create("resnet50", num_classes=3, weights="imagenet21k")


def test_linear_mode_of_a_timm_model_trains_only_its_head() -> None:
    model = models.create("timm:resnet18", num_classes=3, mode="linear")
    trainable = {k for k, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"fc.weight", "fc.bias"}
    model.train()
    assert model.training and model.fc.training and not model.layer1.training


def _dinov2_checkpoint(path, model) -> None:
    """A checkpoint in DinoBloom's layout: DINOv2 names under ``teacher`` with a
    ``backbone.`` prefix, a mask token, and the DINO and iBOT heads."""
    state = {f"backbone.{k}": v for k, v in model.state_dict().items() if not k.startswith("head")}
    state["backbone.mask_token"] = torch.zeros(1, model.embed_dim)
    state["dino_head.mlp.0.weight"] = torch.zeros(8, model.embed_dim)
    state["ibot_head.last_layer.weight"] = torch.zeros(8, 8)
    torch.save({"teacher": state}, path)


@pytest.mark.slow
def test_dinobloom_loads_its_checkpoint_and_adapts_one_and_four_channels(tmp_path) -> None:
    source = timm.create_model("vit_small_patch14_dinov2", img_size=224, num_classes=0).eval()
    path = tmp_path / "DinoBloom-S.pth"
    _dinov2_checkpoint(path, source)
    model = models.create("dinobloom-s", num_classes=4, weights=path).eval()
    x = torch.rand(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model.forward_features(x), source.forward_features(x))
    assert model(x).shape == (1, 4) and models.patch_size("dinobloom-s") == 14
    kernels = source.patch_embed.proj.weight.detach()
    four = models.create(
        "dinobloom-s", num_classes=4, in_channels=4, weights=path, channel_colors=(0, 1, 1, 2)
    )
    assert torch.equal(
        four.patch_embed.proj.weight, models.adapt_first_layer(kernels, 4, (0, 1, 1, 2))
    )
    one = models.create("dinobloom-s", num_classes=4, in_channels=1, weights=path)
    torch.testing.assert_close(one.patch_embed.proj.weight, kernels.sum(1, keepdim=True))
    assert one.eval()(torch.rand(2, 1, 224, 224)).shape == (2, 4)


def test_dinobloom_without_its_file_says_where_to_put_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"DinoBloom-B\.pth"):
        models.create("dinobloom-b", num_classes=3, weights="dinobloom")


def test_imagenet21k_checkpoint_from_the_local_file(tmp_path, monkeypatch) -> None:
    """The ImageNet-21k path on a tiny ViT of the same family (a base ViT's file is 400 MB):
    the checkpoint at imagenet21k_checkpoint_path is loaded by timm, its 21k head dropped,
    position embeddings resampled to the input size."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setitem(
        timm_models.IN21K_CHECKPOINTS, "vit_b_16", "vit_tiny_patch16_224.augreg_in21k"
    )
    source = timm.create_model("vit_tiny_patch16_224", num_classes=21843)
    target = timm_models.imagenet21k_checkpoint_path("vit_b_16")
    assert target.name == "vit_tiny_patch16_224.augreg_in21k.safetensors"
    target.parent.mkdir(parents=True)
    from safetensors.torch import save_file

    save_file(source.state_dict(), str(target))
    model = models.create("vit_b_16", num_classes=3, weights="imagenet21k", image_size=112)
    assert torch.equal(model.blocks[0].attn.qkv.weight, source.blocks[0].attn.qkv.weight)
    assert model.pos_embed.shape == (1, 7 * 7 + 1, 192) and model.head.out_features == 3
    assert model.eval()(torch.zeros(1, 3, 112, 112)).shape == (1, 3)
    assert models.first_layer_name("vit_b_16", weights="imagenet21k") == "patch_embed.proj"
    assert pretrained.checkpoint_name("vit_b_16", weights="imagenet21k").startswith(
        "timm vit_tiny_patch16_224.augreg_in21k"
    )


def test_the_study_vits_name_their_in21k_checkpoints() -> None:
    assert timm_models.IN21K_CHECKPOINTS == {
        "vit_b_16": "vit_base_patch16_224.augreg_in21k",
        "vit_b_32": "vit_base_patch32_224.augreg_in21k",
        "vit_l_16": "vit_large_patch16_224.augreg_in21k",
        "vit_l_32": "vit_large_patch32_224.orig_in21k",
    }
    for tag in timm_models.IN21K_CHECKPOINTS.values():
        cfg = timm.models.get_pretrained_cfg(tag)
        # the original L/32 checkpoint comes without its 21k head
        assert cfg is not None and cfg.num_classes == (0 if "orig" in tag else 21843)


def test_pretrained_backbones_bring_their_own_normalisation() -> None:
    imagenet = pretrained.input_normalization("resnet50", weights="imagenet")
    assert imagenet is not None
    assert (imagenet.mean, imagenet.std) == (pretrained.IMAGENET_MEAN, pretrained.IMAGENET_STD)
    packed = pretrained.input_normalization(
        "dinobloom-s", weights="dinobloom", in_channels=4, channel_colors=(0, 1, 1, 2)
    )
    assert packed is not None and packed.std == (0.229, 0.224, 0.224, 0.225)
    bayer = pretrained.input_normalization("vit_b_16", weights="imagenet21k", in_channels=1)
    assert bayer is not None and bayer.mean == (0.5,) and bayer.std == (0.5,)
    timm_net = pretrained.input_normalization("timm:resnet18", weights="imagenet")
    assert timm_net is not None and "resnet18.a1_in1k" in timm_net.source
    assert pretrained.input_normalization("resnet50", weights=None) is None


def test_recipes_per_model() -> None:
    assert pretrained.recipe("resnet50", weights=None).lr == 1e-3
    assert pretrained.recipe("resnet50", weights="imagenet").lr == 1e-4
    assert pretrained.recipe("resnet50", weights="imagenet", mode="linear").layer_decay == 1.0
    large = pretrained.recipe("vit_l_16", weights="imagenet21k")
    assert (large.lr, large.layer_decay, large.warmup_epochs) == (1e-4, 0.75, 3.0)
    assert pretrained.recipe("dinobloom-s", weights="dinobloom").layer_decay == 0.65
    config = large.apply(TrainConfig(epochs=3, lr=0.5))
    assert (config.lr, config.layer_decay, config.epochs) == (1e-4, 0.75, 3)
    with pytest.raises(ValueError, match=r"layer_decay must lie in \(0, 1\]; got 0.0"):
        TrainConfig(layer_decay=0.0)


def test_layer_decay_groups_a_timm_vit_by_depth() -> None:
    from classifiers.optim import build_optimizer

    vit = timm.create_model("vit_tiny_patch16_224", num_classes=3, img_size=32, depth=2)
    optimizer = build_optimizer(vit, lr=1e-3, weight_decay=0.05, layer_decay=0.5)
    rates = sorted({g["lr"] for g in optimizer.param_groups})
    assert rates == [1e-3 * 0.5**k for k in (3, 2, 1, 0)]
    by_name = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    assert by_name[id(vit.pos_embed)]["weight_decay"] == 0.0
    assert by_name[id(vit.head.weight)]["lr"] == 1e-3


def test_compare_runs_timm_and_dinobloom_end_to_end(tmp_path, make_cache, run_compare) -> None:
    """``rawspace compare --models timm:resnet18,dinobloom-s`` on the CPU, with weights the
    test writes itself: both train on RGB and packed raw, and the report names their
    checkpoints."""
    import json

    resnet = tmp_path / "resnet18.pth"
    torch.save(timm.create_model("resnet18", num_classes=1000).state_dict(), resnet)
    dino = tmp_path / "DinoBloom-S.pth"
    _dinov2_checkpoint(dino, timm.create_model("vit_small_patch14_dinov2", num_classes=0))
    cache = make_cache("e2e.h5")
    out = tmp_path / "out"
    argv = [str(cache), "--models", "timm:resnet18,dinobloom-s", "--spaces", "rgb,raw_packed",
            "--weights", f"timm:resnet18={resnet},dinobloom-s={dino}", "--input-size", "224",
            "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--workers", "0", "-q",
            "--out", str(out)]  # fmt: skip
    assert run_compare(argv) == 0
    results = json.loads((out / "results.json").read_text())
    rows = {(row["model"], row["space"]) for row in results["rows"]}
    assert rows == {(m, s) for m in ("timm:resnet18", "dinobloom-s") for s in ("rgb", "raw_packed")}
    cells = [json.loads(p.read_text()) for p in (out / "cells").glob("*__fold*.json")]
    assert len(cells) == 4 and all(cell["input"]["shape"][1:] == [224, 224] for cell in cells)
    # pretrained backbones keep their own normalisation, and the cells say whose
    assert all(cell["input"]["normalization"] != "the training samples' mean/std" for cell in cells)
    assert all(cell["checkpoint"] for cell in cells)
