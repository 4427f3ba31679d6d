"""LISTA: dictionary, lasso reference, ISTA equivalence of the untrained net, training, lane."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.config import ProblemSpec
from core.learned.lista.lane import untrained_lista
from core.learned.lista.net import (
    LISTA,
    assemble_patches,
    fista_codes,
    image_patches,
    lasso_objective,
    overcomplete_dct_dictionary,
)
from core.learned.lista.train import lista_loop_spec, prediction_error
from core.learned.training.common import TrainSettings, train_loop
from core.learned.weights import load_state, weights_meta
from core.problem import build_problem
from core.registry import DEGRADATIONS, SOLVERS


def make_problem(degradation="denoise", size=48, sigma=0.05, **params):
    spec = ProblemSpec(
        image="camera",
        size=size,
        degradation=degradation,
        noise_sigma=sigma,
        params=DEGRADATIONS.get_entry(degradation).resolve(params),
    )
    return build_problem(spec, dtype="float64")


def numpy_soft(v, t):
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def random_patch_rows(count, seed=0):
    rng = np.random.default_rng(seed)
    dct = overcomplete_dct_dictionary(8, 100).numpy()
    codes = rng.standard_normal((count, 100)) * (rng.random((count, 100)) < 0.08)
    return torch.from_numpy(codes @ dct.T + 0.1 * rng.standard_normal((count, 64)))


def test_dct_dictionary_unit_columns_and_rejects_bad_sizes():
    d = overcomplete_dct_dictionary(8, 400).numpy()
    assert d.shape == (64, 400)
    np.testing.assert_allclose(np.linalg.norm(d, axis=0), 1.0, atol=1e-12)
    assert np.linalg.matrix_rank(d) == 64
    with pytest.raises(ValueError, match="atoms"):
        overcomplete_dct_dictionary(8, 50)


def test_fista_codes_satisfy_lasso_optimality():
    x = random_patch_rows(20)
    d = overcomplete_dct_dictionary(8, 100)
    alpha = 0.3
    z, _ = fista_codes(x, d, alpha, 3000)
    grad = ((x - z @ d.T) @ d).numpy()  # Dᵀ(x − Dz) must lie in α∂‖z‖₁
    zn = z.numpy()
    on = zn != 0
    np.testing.assert_allclose(grad[on], alpha * np.sign(zn[on]), atol=2e-4)
    assert np.abs(grad[~on]).max() <= alpha + 2e-4
    # and no random perturbation lowers the objective
    base = lasso_objective(x, z, d, alpha)
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        pert = z + 1e-3 * torch.randn(z.shape, generator=g, dtype=z.dtype)
        assert torch.all(lasso_objective(x, pert, d, alpha) >= base - 1e-9)


def test_untrained_lista_is_ista_independently_computed():
    torch.set_default_dtype(torch.float64)
    try:
        d = overcomplete_dct_dictionary(8, 100)
        net = LISTA(d, alpha=0.4, layers=3)
    finally:
        torch.set_default_dtype(torch.float32)
    x = random_patch_rows(10, seed=3)
    dn, xn = d.numpy(), x.numpy()
    lip = 1.001 * np.linalg.svd(dn, compute_uv=False)[0] ** 2
    z = np.zeros((10, 100))
    for t in range(3):
        z = numpy_soft(z - (z @ dn.T - xn) @ dn / lip, 0.4 / lip)  # ISTA step
        if t == 0:
            np.testing.assert_allclose(net(x, layers=1).detach().numpy(), z, atol=1e-12)
    np.testing.assert_allclose(net(x).detach().numpy(), z, atol=1e-12)


def test_patches_round_trip():
    image = torch.rand(2, 21, 30, dtype=torch.float64)
    rows, means, layout = image_patches(image, 8, 3)
    np.testing.assert_allclose(rows.sum(1).numpy(), 0.0, atol=1e-12)
    back = assemble_patches(rows + means, layout)
    np.testing.assert_allclose(back.numpy(), image.numpy(), atol=1e-12)


def synthetic_data(count=400):
    x = random_patch_rows(count + 100, seed=5)
    d = overcomplete_dct_dictionary(8, 100)
    z, _ = fista_codes(x, d, 1.0, 300)
    return {
        "dictionary": d,
        "scale": torch.tensor(1.0),
        "train_x": x[:count],
        "train_z": z[:count],
        "val_x": x[count:],
        "val_z": z[count:],
    }


def test_short_training_lowers_prediction_error(tmp_path):
    data = synthetic_data()
    torch.manual_seed(0)
    model = LISTA(data["dictionary"].float(), 1.0, 2, 1.0)
    with torch.no_grad():
        before = float(prediction_error(model(data["val_x"].float()), data["val_z"].float()))
    settings = TrainSettings(
        name="lista_test", epochs=2, out=tmp_path, steps_per_epoch=40, batch_size=64, threads=1, progress=False
    )
    summary = train_loop(settings, model, lista_loop_spec(data, model))
    after = summary["final_validation"]["prediction_error"]
    assert after < 0.8 * before
    state = load_state("lista_test", tmp_path)
    loaded = LISTA.from_state_dict(state)
    np.testing.assert_allclose(loaded.thresholds.detach().numpy(), model.thresholds.detach().numpy())


@pytest.mark.parametrize("atoms", [100, 400])
@pytest.mark.parametrize("iterations", [0, 1, 3, 7])
def test_shipped_weights_load_with_declared_shapes(atoms, iterations):
    name = f"lista_m{atoms}_t{iterations}"  # the paper's T iterations: T + 1 shrinkage layers
    net = LISTA.from_state_dict(load_state(name))
    meta = weights_meta(name)
    assert (net.iterations, net.layers, meta["iterations"]) == (iterations, iterations + 1, iterations)
    assert net.dictionary.shape[1] == atoms == meta["atoms"] and meta["layers"] == net.layers
    assert net.encoder.shape == (atoms, 64) and net.mutual_inhibition.shape == (atoms, atoms)


def test_lane_untrained_first_stage_is_patchwise_ista():
    problem = make_problem()
    lane = SOLVERS.get_entry("lista").factory(problem, weights="none", stride=4)
    step = next(lane)
    ref = untrained_lista(LISTA.from_state_dict(load_state("lista_m100_t7"))).double()
    rows, means, layout = image_patches(problem.x0, 8, 4)
    d = ref.dictionary.numpy()
    scale = float(ref.patch_scale)
    lip = 1.001 * np.linalg.svd(d, compute_uv=False)[0] ** 2
    z1 = numpy_soft((rows.numpy() * scale) @ d / lip, float(ref.alpha) / lip)
    expected = assemble_patches(torch.from_numpy(z1 @ d.T / scale) + means, layout)
    np.testing.assert_allclose(step.x.numpy(), expected.numpy(), atol=1e-6)
    assert step.k == 1 and set(step.extras) == {"input", "output", "residual"}


def test_lane_trained_denoises_then_ends_after_its_trained_layers():
    problem = make_problem(sigma=0.08, size=64)
    steps = list(SOLVERS.get_entry("lista").factory(problem, weights="lista_m100_t3"))  # ends by itself
    err0 = float(((problem.x0 - problem.x_true) ** 2).mean())
    err3 = float(((steps[2].x - problem.x_true) ** 2).mean())
    assert err3 < 0.7 * err0  # patchwise sparse coding removes noise
    assert [s.k for s in steps] == [1, 2, 3, 4] and [s.info["ended"] for s in steps] == [False, False, False, True]
    untrained = SOLVERS.get_entry("lista").factory(problem, weights="none", stride=4)
    assert [next(untrained).info["ended"] for _ in range(5)] == [False] * 5  # plain ISTA runs on


@pytest.mark.parametrize("atoms", [100, 400])
def test_shipped_one_iteration_lista_beats_fista_with_many_more_iterations(atoms):
    """Gregor & LeCun's claim on held-out patches (camera): the error of T = 1 (two shrinkages)
    is reached by FISTA only after several times as many iterations."""
    from core.learned.lista.train import ALPHA, centred_patches
    from core.learned.training.common import load_validation_image

    net = LISTA.from_state_dict(load_state(f"lista_m{atoms}_t1")).double()
    rows = centred_patches([load_validation_image(256)], 300, torch.Generator().manual_seed(5)) * net.patch_scale
    dictionary = net.dictionary
    z_star, _ = fista_codes(rows, dictionary, ALPHA, 1500)
    _, curve = fista_codes(rows, dictionary, ALPHA, 40, z_star)
    with torch.no_grad():
        error = float(prediction_error(net(rows), z_star))
    assert error < float(curve[11])  # better than 12 FISTA iterations (six times the shrinkages)
    assert error < 0.3 * float(curve[1])  # and under a third of FISTA's with the same two shrinkages
