"""The shipped learned denoiser and the weights store: loading by name, checksums, no pickle."""

import json
import multiprocessing
import shutil

import numpy as np
import pytest
import torch

from core.images import load_image
from core.learned.dncnn.denoiser import LearnedDenoiser
from core.learned.dncnn.net import DilatedDenoiser
from core.learned.dncnn.train import TRAIN_IMAGES
from core.learned.weights import (
    WeightsError,
    load_state,
    load_weights,
    read_manifest,
    save_weights,
    sha256_file,
    update_manifest,
)
from core.paths import weights_dir
from core.registry import DENOISERS


def _psnr(a, b):
    return 10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - b) ** 2))


def test_network_shapes_and_residual_form():
    net = DilatedDenoiser(channels=1, features=8)
    x = torch.rand(3, 1, 21, 17)
    assert net(x, 0.1).shape == x.shape
    assert net(x, torch.tensor([0.0, 0.1, 0.2])).shape == x.shape
    with pytest.raises(ValueError, match=r"expects \(N, 1, H, W\)"):
        net(torch.rand(1, 3, 8, 8), 0.1)
    # zero last layer: D(x, σ) = x exactly (residual output)
    torch.nn.init.zeros_(net.body[-1].weight)
    torch.nn.init.zeros_(net.body[-1].bias)
    assert torch.equal(net(x, 0.1), x)


def test_shipped_weights_load_by_name_on_cpu_with_checksum():
    entry = read_manifest()["dncnn"]
    assert entry["sha256"] == sha256_file(weights_dir() / entry["file"])
    assert (weights_dir() / entry["file"]).stat().st_size < 4_000_000
    net = DilatedDenoiser(features=entry["meta"]["features"])
    meta = load_weights("dncnn", net)
    assert meta["dilations"] == [1, 2, 3, 4, 3, 2, 1]
    assert all(p.device.type == "cpu" for p in net.parameters())


def test_denoiser_beats_noisy_input_by_3db_on_held_out_image():
    assert "camera" not in TRAIN_IMAGES
    clean = load_image("camera", size=128)
    noisy = clean + (25 / 255) * np.random.default_rng(0).standard_normal(clean.shape)
    denoiser = DENOISERS.get_entry("dncnn").factory({"denoiser_weights": "dncnn"})
    out = denoiser(torch.as_tensor(noisy[None], dtype=torch.float32), 25 / 255)
    assert out.shape == (1, 128, 128) and out.dtype == torch.float32
    gain = _psnr(out[0].numpy(), clean) - _psnr(noisy, clean)
    assert gain > 3.0, gain
    # float64 input runs in float64 and agrees with the float32 result
    out64 = denoiser(torch.as_tensor(noisy[None]), 25 / 255)
    assert out64.dtype == torch.float64
    np.testing.assert_allclose(out64.numpy(), out.numpy(), atol=1e-4)


def test_colour_and_batches_are_per_channel():
    denoiser = LearnedDenoiser("dncnn")
    x = torch.rand(2, 3, 24, 20, dtype=torch.float64)
    out = denoiser(x, torch.tensor([0.05, 0.1], dtype=torch.float64))
    assert out.shape == x.shape
    single = denoiser(x[1, 2:3], 0.1)
    np.testing.assert_allclose(out[1, 2:3].numpy(), single.numpy(), atol=1e-10)
    with pytest.raises(ValueError, match="expected"):
        denoiser(torch.rand(24, 20), 0.1)


def _copy_weights(tmp_path):
    shutil.copy(weights_dir() / "dncnn.pt", tmp_path / "dncnn.pt")
    update_manifest("dncnn", read_manifest()["dncnn"], tmp_path)


def test_tampered_weights_raise_a_clear_error(tmp_path):
    _copy_weights(tmp_path)
    assert load_state("dncnn", tmp_path)
    data = bytearray((tmp_path / "dncnn.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "dncnn.pt").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256 .* does not match the manifest"):
        load_state("dncnn", tmp_path)
    with pytest.raises(WeightsError, match="not in .*manifest.json"):
        load_state("unknown_net", tmp_path)
    (tmp_path / "dncnn.pt").unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_state("dncnn", tmp_path)


class _Payload:
    """Pickling this object makes the unpickler call os.mkdir(marker) — if it is allowed to."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.mkdir, (self.marker,))


def test_pickle_payload_is_never_executed(tmp_path):
    marker = str(tmp_path / "pwned")
    torch.save({"weight": torch.zeros(2), "evil": _Payload(marker)}, tmp_path / "evil.pt")
    # even with a matching checksum in the manifest, loading must refuse the payload
    update_manifest("evil", {"file": "evil.pt", "sha256": sha256_file(tmp_path / "evil.pt"), "meta": {}}, tmp_path)
    with pytest.raises(WeightsError, match="could not be loaded safely"):
        load_state("evil", tmp_path)
    assert not (tmp_path / "pwned").exists()


def test_weights_that_do_not_fit_the_network(tmp_path):
    save_weights("small", DilatedDenoiser(features=4), {"features": 4}, tmp_path)
    with pytest.raises(WeightsError, match="do not fit DilatedDenoiser"):
        load_weights("small", DilatedDenoiser(features=8), tmp_path)
    with pytest.raises(WeightsError, match="invalid"):
        save_weights("../escape", DilatedDenoiser(features=4), {}, tmp_path)


def _write_many(args):
    directory, prefix = args
    for i in range(15):
        update_manifest(f"{prefix}{i}", {"file": f"{prefix}{i}.pt", "sha256": "0" * 64, "meta": {"i": i}}, directory)


def test_manifest_survives_two_concurrent_writers(tmp_path):
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        pool.map(_write_many, [(str(tmp_path), "a"), (str(tmp_path), "b")])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == {f"{p}{i}" for p in "ab" for i in range(15)}
