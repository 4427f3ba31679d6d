"""Trainers ``lista_m100_t{0,1,3,7}`` and ``lista_m400_t{0,1,3,7}`` (core.learned.lista.net.LISTA).

``tT`` is the paper's count: T iterations of S after the first shrinkage, T + 1 layers (T = 0 is
the paper's baseline encoder h_α(W_e x); see core.learned.lista.net).

Data: mean-removed 8×8 patches (augmented by negation and transposition, exact symmetries of
the lasso targets) of the catalogue training images (core.learned.dncnn.train's
``TRAIN_IMAGES``), multiplied by one global factor so that the pixel standard deviation is 1.
Targets: the lasso codes z* of (1) over the overcomplete DCT dictionary (m = 100 or 400 atoms,
α = 1), computed by FISTA (500 iterations for m = 100, 1500 for m = 400) and cached under
``out/checkpoints``. Validation patches come from the held-out ``camera`` image.
Loss: prediction error ½·mean‖z* − f_e(x)‖² (Gregor & LeCun's criterion). Every T starts from the ISTA
parameters (layer-wise growth from the smaller T was tried and was worse for m = 400).

CPU default: 20 epochs × 200 steps, batch 256 (a few minutes; the targets of the 40,000 training
patches once, then cached). GPU setting: ``--device cuda --epochs 40 --steps-per-epoch 500``.
"""

from __future__ import annotations

import torch

from ...metrics import psnr
from ..training import register_trainer
from ..training.common import LoopSpec, TrainSettings, random_patches, train_loop
from .net import LISTA, fista_codes, overcomplete_dct_dictionary

PATCH = 8
ALPHA = 1.0
TRAIN_PATCHES = {100: 40000, 400: 40000}
VALIDATION_PATCHES = 1000
TARGET_ITERATIONS = {100: 500, 400: 1500}
ITERATION_COUNTS = (0, 1, 3, 7)  # the paper's T (Table 1: baseline encoder, 1, 3, 7 iterations)


def centred_patches(images, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` random mean-removed 8×8 patches of ``images`` as float64 rows (count, 64)."""
    rows = random_patches(images, count, PATCH, generator).reshape(count, -1).double()
    return rows - rows.mean(dim=1, keepdim=True)


def lista_dataset(atoms: int, cache_dir=None) -> dict[str, torch.Tensor]:
    """Scaled training/validation patches and their lasso codes z* for ``atoms`` atoms.

    Returns
    -------
    dict
        ``dictionary`` (64, m), ``scale`` (0-d), ``train_x``, ``train_z``, ``val_x``, ``val_z``
        (float64). Cached as ``lista_data_m{atoms}_n{patches}.pt`` in ``cache_dir`` when given.
    """
    name = f"lista_data_m{atoms}_n{TRAIN_PATCHES[atoms]}.pt"
    cache = None if cache_dir is None else cache_dir / name
    if cache is not None and cache.exists():
        return torch.load(cache, weights_only=True)
    from ..training.common import load_training_images, load_validation_image

    generator = torch.Generator().manual_seed(2010)
    train = centred_patches(load_training_images(), TRAIN_PATCHES[atoms], generator)
    camera = [load_validation_image(256)]
    val = centred_patches(camera, VALIDATION_PATCHES, generator)
    scale = 1.0 / train.std()
    dictionary = overcomplete_dct_dictionary(PATCH, atoms)
    data = {"dictionary": dictionary, "scale": scale, "train_x": train * scale, "val_x": val * scale}
    for part in ("train", "val"):
        data[f"{part}_z"], _ = fista_codes(data[f"{part}_x"], dictionary, ALPHA, TARGET_ITERATIONS[atoms])
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(data, cache)
    return data


def prediction_error(codes: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over patches of ½‖z* − z‖²."""
    return 0.5 * ((target - codes) ** 2).sum(-1).mean()


def lista_loop_spec(data: dict, model: LISTA) -> LoopSpec:
    """LoopSpec training ``model`` on ``data`` from :func:`lista_dataset`."""
    train_x, train_z = data["train_x"].float(), data["train_z"].float()

    side = int(round(train_z.shape[1] ** 0.5))

    def make_batch(generator, batch_size):
        pick = torch.randint(train_x.shape[0], (batch_size,), generator=generator)
        x, z = train_x[pick], train_z[pick]
        sign = torch.randint(0, 2, (batch_size, 1), generator=generator) * 2.0 - 1.0
        flip = torch.randint(0, 2, (batch_size,), generator=generator).bool()
        # exact symmetries of the lasso over the separable DCT dictionary: x ↦ −x gives z ↦ −z,
        # transposing the patch swaps atom (j1, j2) with (j2, j1)
        x_t = x.reshape(-1, PATCH, PATCH).transpose(1, 2).reshape(x.shape)
        z_t = z.reshape(-1, side, side).transpose(1, 2).reshape(z.shape)
        x = torch.where(flip[:, None], x_t, x) * sign
        z = torch.where(flip[:, None], z_t, z) * sign
        return x, z

    def loss(net, batch):
        x, z = batch
        return prediction_error(net(x), z)

    def validate(net, device):
        x = data["val_x"].to(device=device, dtype=torch.float32)
        z = net(x)
        err = prediction_error(z, data["val_z"].to(device=device, dtype=torch.float32))
        scale = net.patch_scale  # back to intensities
        value = psnr(z @ net.dictionary.T / scale, x / scale, image_dims=(0, 1), clip=False)
        return {"psnr": value, "prediction_error": err}

    atoms = model.dictionary.shape[1]
    return LoopSpec(
        make_batch=make_batch,
        loss=loss,
        validate=validate,
        lr=1e-3,
        lr_floor=0.05,
        steps_per_epoch=200,
        batch_size=256,
        meta={
            "class": "LISTA",
            "atoms": atoms,
            "layers": model.layers,
            "iterations": model.iterations,
            "alpha": ALPHA,
            "patch": PATCH,
        },
        data={
            "train": f"{train_x.shape[0]} mean-removed 8x8 patches of the catalogue training images",
            "validation": f"{VALIDATION_PATCHES} patches of camera (256 px)",
            "targets": f"lasso codes, FISTA {TARGET_ITERATIONS[atoms]} iterations, alpha {ALPHA}",
            "dictionary": f"overcomplete DCT, {atoms} atoms",
        },
    )


def train_lista(settings: TrainSettings, atoms: int, iterations: int) -> dict:
    """Train LISTA with ``atoms`` atoms and the paper's T = ``iterations``; write weights + log."""
    torch.manual_seed(settings.seed)
    data = lista_dataset(atoms, settings.checkpoint_path.parent)
    model = LISTA(data["dictionary"].float(), ALPHA, iterations + 1, float(data["scale"]))
    return train_loop(settings, model, lista_loop_spec(data, model))


def _register(atoms: int, iterations: int) -> None:
    @register_trainer(
        f"lista_m{atoms}_t{iterations}",
        default_epochs=20,
        doc=f"LISTA, {atoms}-atom DCT dictionary, T = {iterations} ({iterations + 1} layers), 8x8 patches",
    )
    def _train(settings: TrainSettings) -> dict:
        return train_lista(settings, atoms, iterations)


for _atoms in (100, 400):
    for _iterations in ITERATION_COUNTS:
        _register(_atoms, _iterations)
