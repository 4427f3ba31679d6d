"""Training framework: registry, CLI, a short run that lowers the loss, exact resume, log + manifest."""

import json

import pytest
import torch

from core.images import load_image
from core.learned.dncnn.net import DilatedDenoiser
from core.learned.dncnn.train import denoiser_loop_spec
from core.learned.training import TRAINERS, get_trainer, load_trainers, register_trainer
from core.learned.training.cli import main as train_main
from core.learned.training.common import (
    TrainSettings,
    cosine_lr,
    random_patches,
    train_loop,
)
from core.learned.weights import load_state, read_manifest, sha256_file


def _tiny_setup(features=6):
    torch.manual_seed(0)
    model = DilatedDenoiser(features=features, dilations=(1, 2, 1))
    images = [torch.as_tensor(load_image(n, size=64), dtype=torch.float32) for n in ("moon", "coins")]
    validation = torch.as_tensor(load_image("camera", size=32), dtype=torch.float32)
    spec = denoiser_loop_spec(images, validation, model, patch=16)
    spec.steps_per_epoch, spec.batch_size, spec.lr = 15, 4, 3e-3
    return model, spec


def _settings(tmp_path, epochs, **kw):
    return TrainSettings(name="tiny", epochs=epochs, out=tmp_path, progress=False, threads=1, **kw)


def test_registry_holds_the_networks_and_rejects_duplicates(scratch_registries):
    load_trainers()
    assert {"dncnn", "relaxed_podm"} <= set(TRAINERS)
    original = TRAINERS["dncnn"]
    with pytest.raises(ValueError, match="registered twice"):
        register_trainer("dncnn")(lambda s: {})
    assert TRAINERS["dncnn"] is original  # the refused registration replaced nothing
    with pytest.raises(ValueError, match="unknown network 'nope'"):
        get_trainer("nope")


def test_cli_bad_input_exits_2(capsys):
    assert train_main(["nope"]) == 2
    assert "unknown network" in capsys.readouterr().err
    assert train_main(["dncnn", "--epochs", "0"]) == 2
    assert train_main(["--list"]) == 0
    assert "relaxed_podm" in capsys.readouterr().out


def test_short_training_lowers_loss_and_writes_weights_log_manifest(tmp_path):
    model, spec = _tiny_setup()
    fixed = spec.make_batch(torch.Generator().manual_seed(123), 16)
    with torch.no_grad():
        before = float(spec.loss(model, fixed))
    summary = train_loop(_settings(tmp_path, 2), model, spec)
    with torch.no_grad():
        after = float(spec.loss(model, fixed))
    assert after < 0.7 * before
    assert summary["history"][1]["loss"] < summary["history"][0]["loss"]
    # weights + checksum + log
    entry = read_manifest(tmp_path)["tiny"]
    assert entry["sha256"] == sha256_file(tmp_path / "tiny.pt")
    assert entry["meta"]["features"] == 6 and "final_validation" in entry["meta"]["training"]
    state = load_state("tiny", tmp_path)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    log = (tmp_path / "tiny.log").read_text()
    for needle in ("wall time", "data:", "settings:", "final validation", "train_images"):
        assert needle in log
    parsed = json.loads(log.split("--- json ---\n", 1)[1])
    assert parsed["final_validation"]["psnr"] == pytest.approx(summary["history"][-1]["val_psnr"])


class _Interrupt(Exception):
    pass


def test_resume_from_checkpoint_is_exact(tmp_path):
    model_a, spec_a = _tiny_setup()
    train_loop(_settings(tmp_path / "a", 2), model_a, spec_a)

    def crash_after_first_epoch(record):
        if record["epoch"] == 1:
            raise _Interrupt

    model_b, spec_b = _tiny_setup()
    with pytest.raises(_Interrupt):
        train_loop(_settings(tmp_path / "b", 2, on_epoch=crash_after_first_epoch), model_b, spec_b)
    assert (tmp_path / "b" / "checkpoints" / "tiny.ckpt.pt").exists() and not (tmp_path / "b" / "tiny.pt").exists()
    model_c, spec_c = _tiny_setup()  # fresh process state: weights come from the checkpoint
    summary = train_loop(_settings(tmp_path / "b", 2, resume=True), model_c, spec_c)
    assert [r["epoch"] for r in summary["history"]] == [1, 2]
    for key, value in model_a.state_dict().items():
        assert torch.equal(value, model_c.state_dict()[key]), key


def test_init_starts_from_earlier_weights_and_logs_them(tmp_path):
    model_a, spec_a = _tiny_setup()
    train_loop(_settings(tmp_path / "a", 1), model_a, spec_a)
    digest = read_manifest(tmp_path / "a")["tiny"]["sha256"]

    started = {}
    model_b, spec_b = _tiny_setup()
    first_loss = spec_b.loss

    def loss_at_init(net, batch):
        started.setdefault("state", {k: v.clone() for k, v in net.state_dict().items()})
        return first_loss(net, batch)

    spec_b.loss = loss_at_init
    summary = train_loop(_settings(tmp_path / "a", 1, init="tiny"), model_b, spec_b)
    for key, value in model_a.state_dict().items():  # step 0 of run b is run a's final network
        assert torch.equal(started["state"][key], value), key
    init = summary["settings"]["init"]
    assert init["from"] == "tiny" and init["sha256"] == digest and init["earlier_wall_seconds"] > 0
    assert '"init"' in (tmp_path / "a" / "tiny.log").read_text()

    wider, spec_w = _tiny_setup(features=8)  # another architecture: a one-line error naming the key
    with pytest.raises(ValueError, match=r"--init tiny: the weights do not fit this network \(size mismatch"):
        train_loop(_settings(tmp_path / "a", 1, init="tiny"), wider, spec_w)


def test_cancel_keeps_last_checkpoint(tmp_path):
    model, spec = _tiny_setup()
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > spec.steps_per_epoch + 3  # cancel during epoch 2

    summary = train_loop(_settings(tmp_path, 3, should_stop=stop), model, spec)
    assert summary["cancelled"] and len(summary["history"]) == 1
    ckpt = torch.load(tmp_path / "checkpoints" / "tiny.ckpt.pt", weights_only=True)
    assert ckpt["epoch"] == 1 and not (tmp_path / "tiny.pt").exists()


def test_random_patches_are_seeded_crops():
    img = torch.arange(400, dtype=torch.float32).reshape(20, 20)
    a = random_patches([img], 5, 8, torch.Generator().manual_seed(4))
    b = random_patches([img], 5, 8, torch.Generator().manual_seed(4))
    assert a.shape == (5, 1, 8, 8) and torch.equal(a, b)
    # every patch is a rotated/flipped crop: its sorted values equal some 8×8 window's
    windows = {tuple(sorted(img[i : i + 8, j : j + 8].flatten().tolist())) for i in range(13) for j in range(13)}
    assert all(tuple(sorted(p.flatten().tolist())) in windows for p in a)


def test_cosine_lr_endpoints():
    assert cosine_lr(1e-3, 0.1, 0, 100) == pytest.approx(1e-3)
    assert cosine_lr(1e-3, 0.1, 50, 100) == pytest.approx(0.55e-3)
    assert cosine_lr(1e-3, 0.1, 100, 100) == pytest.approx(1e-4)


def test_cli_output_that_is_a_file_and_a_corrupt_checkpoint_are_one_line_errors(tmp_path, capsys):
    quick = ["--epochs", "1", "--steps-per-epoch", "1", "--no-progress", "--threads", "1"]
    out_file = tmp_path / "out_file"
    out_file.write_text("x")
    assert train_main(["admm_net", "--out", str(out_file), *quick]) == 2
    err = capsys.readouterr().err.strip()
    assert "out_file" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    resume = tmp_path / "resume"
    checkpoint = resume / "checkpoints" / "admm_net.ckpt.pt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(b"PK\x03\x04garbage")
    assert train_main(["admm_net", "--resume", "--out", str(resume), *quick]) == 2
    err = capsys.readouterr().err.strip()
    assert "admm_net.ckpt.pt" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert checkpoint.read_bytes() == b"PK\x03\x04garbage"  # the damaged file is left for the user
