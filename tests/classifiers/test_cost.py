"""classifiers.cost: the study's cost figures (SPEC §1) at 224×224 with 15-class heads."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from classifiers import models  # noqa: E402
from classifiers.cost import profile, ptflops_convention  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "params", "params_1000", "params_kept", "gmacs", "flops", "acts", "conv2d"),
    [
        ("resnet50", 23.54, 25.557032, 25.572047, 4.09, 4.120, 11.11, 53),
        ("densenet121", 6.97, 7.978856, 7.993871, 2.83, 2.882, 6.90, 120),
        ("vit_b_16", 85.81, 86.567656, 86.582671, 17.56, 17.598, 16.49, 1),
    ],
)
def test_figures_of_the_study(
    name: str,
    params: float,
    params_1000: float,
    params_kept: float,
    gmacs: float,
    flops: float,
    acts: float,
    conv2d: int,
) -> None:
    """The poster's 4.12 / 2.88 / 17.6 G "FLOPs" are the ptflops convention with its 15-class
    heads. Its params follow two layouts: ResNet50's 23.54 M has the head replaced
    (``params_m``); ViT-B/16's 86.58 M has the 1000-class head kept under a 15-class
    layer (``params_kept_m``, 86,582,671), where the 1000-class head alone gives
    86,567,656 (86.57), as SPEC §1 says of torchvision."""
    model = models.create(name, num_classes=15)
    report = profile(model, (3, 224, 224))
    assert round(report.params_m, 2) == params
    assert round(report.params_1000_m, 6) == params_1000
    assert round(report.params_kept_m, 6) == params_kept
    assert report.gmacs == pytest.approx(gmacs, abs=0.01)
    assert round(report.flops_g, 3) == flops
    assert round(report.activations_m, 2) == acts
    assert report.conv2d == conv2d
    tensors = [*model.parameters(), *model.buffers()]
    assert report.weights_mb == sum(t.numel() * t.element_size() for t in tensors) / 2**20
    assert round(report.weights_mb) == {"resnet50": 90, "densenet121": 27, "vit_b_16": 327}[name]
    assert report.latency_ms is None and report.peak_mem_mb is None
    assert report.peak_mem_with_weights_mb is None
    assert report.input_size == (3, 224, 224) and report.device == "cpu"


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v3_small", "vit_b_32"])
def test_ptflops_convention_equals_ptflops(name: str) -> None:
    """Module by module as ptflops' PyTorch backend counts them (functional calls off)."""
    ptflops = pytest.importorskip("ptflops")
    size = 64
    model = models.create(name, num_classes=15, image_size=size).eval()
    expected, _ = ptflops.get_model_complexity_info(
        model, (3, size, size), as_strings=False, print_per_layer_stat=False, verbose=False,
        backend="pytorch", backend_specific_config={"count_functional": False},
    )  # fmt: skip
    assert ptflops_convention(model, torch.zeros(1, 3, size, size)) == expected


def test_ptflops_convention_by_hand() -> None:
    """Conv with bias, affine BatchNorm (×2), ReLU, pooling input, linear with bias."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3),
        torch.nn.BatchNorm2d(3),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(12, 5),
    ).eval()
    conv = 2 * 9 * 3 * 16 + 3 * 16
    expected = conv + 2 * 48 + 48 + 48 + (12 * 5 + 5)
    assert ptflops_convention(model, torch.zeros(1, 2, 6, 6)) == expected
    assert ptflops_convention(model, torch.zeros(3, 2, 6, 6)) == 3 * expected


def test_vit_attention_is_counted_even_when_frozen_or_without_grad() -> None:
    full = models.create("vit_b_32", num_classes=15, image_size=64)
    linear = models.create("vit_b_32", num_classes=15, image_size=64, mode="linear")
    expected = profile(full, (3, 64, 64))
    with torch.no_grad():
        frozen = profile(linear, (3, 64, 64))
    assert frozen.gmacs == pytest.approx(expected.gmacs)
    tokens, dim, layers = (64 // 32) ** 2 + 1, 768, 12
    attention = 2 * tokens * tokens * dim * layers  # QKᵀ and softmax·V per layer
    linear_layers = tokens * layers * (4 * dim * dim + 2 * dim * 3072)
    patches = (64 // 32) ** 2 * dim * 3 * 32 * 32
    assert expected.gmacs * 1e9 == pytest.approx(attention + linear_layers + patches + dim * 15)
    acts = tokens * layers * (4 * dim + 3072 + dim) + (64 // 32) ** 2 * dim + 15
    assert expected.activations_m * 1e6 == acts
    linear.train()
    assert linear.training and linear.heads.head.training and not linear.encoder.training
    profile(linear, (3, 64, 64))
    assert linear.training and linear.heads.head.training and not linear.encoder.training


def test_profile_leaves_the_model_as_it_was() -> None:
    model = models.create("resnet50", num_classes=3).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = profile(model, (3, 32, 32))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert report.conv2d == 53
    with pytest.raises(ValueError, match="input_size must be"):
        profile(model, (3, 32))


def test_latency_is_timed_in_true_fp32_and_the_settings_come_back() -> None:
    """TF32 off, cuDNN autotuning on and deterministic algorithms off while timing; the
    process's own settings (here deterministic, as training sets them) afterwards."""
    from classifiers import cost

    backends = torch.backends
    before = (backends.cudnn.allow_tf32, backends.cuda.matmul.allow_tf32, backends.cudnn.benchmark)
    saved = torch.are_deterministic_algorithms_enabled()
    saved_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        with cost._true_fp32_timing():
            assert not backends.cudnn.allow_tf32 and not backends.cuda.matmul.allow_tf32
            assert backends.cudnn.benchmark and not torch.are_deterministic_algorithms_enabled()
        after = (
            backends.cudnn.allow_tf32,
            backends.cuda.matmul.allow_tf32,
            backends.cudnn.benchmark,
        )
        assert after == before
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(saved, warn_only=saved_warn_only)
