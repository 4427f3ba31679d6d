"""Degradation operators: adjoints, normal solves, forward models against references, masks,
seeding, kernel files and input errors. Everything in float64 on small images."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.ndimage
import torch
import torch.nn.functional as F

from core import wavelets
from core.operators.base import conjugate_gradient, inner
from core.operators.blur import BlurOperator
from core.operators.kernels import line_kernel, load_kernel_file, motion_kernel
from core.operators.sr import BoxDownsample, bicubic_resize
from core.registry import DEGRADATIONS

SHAPE = (2, 24, 24)

CASES = [
    ("blur", {"kernel": "gaussian"}),
    ("blur", {"kernel": "motion"}),
    ("blur", {"kernel": "line", "motion_angle": 20.0}),
    ("blur", {"kernel": "box", "kernel_size": 5}),
    ("sr", {"scale": 2, "method": "box"}),
    ("sr", {"scale": 3, "method": "box"}),
    ("sr", {"scale": 4, "method": "box"}),
    ("sr", {"scale": 2, "method": "bicubic"}),
    ("sr", {"scale": 3, "method": "bicubic"}),
    ("sr", {"scale": 4, "method": "bicubic"}),
    ("inpaint", {"mode": "random"}),
    ("inpaint", {"mode": "center"}),
    ("inpaint", {"mode": "blocks", "n_blocks": 4, "block_fraction": 0.2}),
    ("cs", {"ratio": 25, "block": 33}),
    ("cs", {"ratio": 30, "block": 8}),
    ("cs", {"ratio": 10, "block": 6}),
    ("cs", {"ratio": 40, "block": 7}),
    ("mri", {"mask": "cartesian"}),
    ("mri", {"mask": "radial"}),
    ("mri", {"mask": "gaussian"}),
    ("denoise", {}),
    ("sparse_sr", {"scale": 2}),
    ("sparse_sr", {"scale": 4, "wavelet": "db4", "levels": 2}),
]
IDS = [f"{name}-{'-'.join(str(v) for v in p.values()) or 'default'}" for name, p in CASES]


def build(name, params=None, shape=SHAPE, seed=0):
    entry = DEGRADATIONS.get_entry(name)
    return entry.factory(shape, entry.resolve(params or {}), torch.Generator().manual_seed(seed))


def random_observation(op, x, g):
    y = op.forward(x)
    if y.is_complex():
        return torch.complex(
            torch.randn(y.shape, generator=g, dtype=torch.float64),
            torch.randn(y.shape, generator=g, dtype=torch.float64),
        )
    return torch.randn(y.shape, generator=g, dtype=torch.float64)


def dense_gram(op, shape):
    """AᵀA as a dense matrix, one basis vector at a time."""
    n = int(np.prod(shape))
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
    return op.adjoint(op.forward(basis)).reshape(n, n).T


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_adjoint_identity_with_batch(name, params):
    op = build(name, params)
    g = torch.Generator().manual_seed(1)
    x = torch.randn((3, *SHAPE), generator=g, dtype=torch.float64)
    y = random_observation(op, x, g)
    lhs, rhs = inner(op.forward(x), y), inner(x, op.adjoint(y))
    assert abs(float(lhs - rhs)) <= 1e-10 * abs(float(lhs)) + 1e-12
    # broadcasting over the batch dimension gives the per-sample results
    assert torch.allclose(op.forward(x)[1], op.forward(x[1]), atol=1e-12)
    assert torch.allclose(op.adjoint(y)[2], op.adjoint(y[2]), atol=1e-12)
    assert op.adjoint(y).shape == x.shape and not op.adjoint(y).is_complex()


@pytest.mark.parametrize("name,params", CASES, ids=IDS)
def test_normal_solve_matches_conjugate_gradient(name, params):
    op = build(name, params)
    g = torch.Generator().manual_seed(2)
    b = torch.randn((2, *SHAPE), generator=g, dtype=torch.float64)
    for rho in (0.05, 2.0):
        z = op.normal_solve(b, rho)
        ref = conjugate_gradient(lambda v: op.adjoint(op.forward(v)) + rho * v, b, max_iter=3000, tol=1e-13)  # noqa: B023
        assert float((z - ref).norm() / ref.norm()) < 1e-6
        residual = op.adjoint(op.forward(z)) + rho * z - b
        assert float(residual.norm() / b.norm()) < 1e-10


TINY_CASES = [
    ("blur", {"kernel": "line", "motion_length": 5.0}, (1, 8, 10)),
    ("sr", {"scale": 2, "method": "box"}, (1, 8, 10)),
    ("sr", {"scale": 3, "method": "bicubic"}, (2, 9, 6)),
    ("inpaint", {"mode": "random"}, (2, 7, 8)),
    ("cs", {"ratio": 30, "block": 4}, (1, 9, 10)),
    ("mri", {"mask": "cartesian", "ratio": 40}, (1, 8, 9)),
    ("mri", {"mask": "gaussian", "ratio": 30}, (1, 9, 8)),
    ("mri", {"mask": "radial", "ratio": 30}, (1, 10, 10)),
    ("denoise", {}, (1, 5, 6)),
    ("sparse_sr", {"scale": 2, "levels": 2}, (1, 8, 12)),
]


@pytest.mark.parametrize("name,params,shape", TINY_CASES, ids=[c[0] + str(i) for i, c in enumerate(TINY_CASES)])
def test_normal_solve_and_lipschitz_against_dense_matrices(name, params, shape):
    op = build(name, params, shape)
    gram = dense_gram(op, shape)
    assert torch.allclose(gram, gram.T, atol=1e-12)
    g = torch.Generator().manual_seed(3)
    b = torch.randn(shape, generator=g, dtype=torch.float64)
    rho = 0.3
    ref = torch.linalg.solve(gram + rho * torch.eye(len(gram), dtype=torch.float64), b.flatten())
    assert torch.allclose(op.normal_solve(b, rho).flatten(), ref, rtol=0, atol=1e-10)
    largest = float(torch.linalg.eigvalsh(gram).max())
    assert op.lipschitz() == pytest.approx(largest, rel=1e-9)


# --- forward models against independent references ------------------------------------------
def test_blur_equals_scipy_wrap_convolution_for_asymmetric_kernel():
    g = torch.Generator().manual_seed(4)
    kernel = torch.rand(5, 5, generator=g, dtype=torch.float64).numpy()
    kernel[0, :] = 0.0  # clearly non-symmetric
    op = BlurOperator(kernel, (2, 16, 20))
    x = torch.rand(2, 16, 20, generator=g, dtype=torch.float64)
    got = op.forward(x).numpy()
    for c in range(2):
        ref = scipy.ndimage.convolve(x[c].numpy(), kernel, mode="wrap")
        np.testing.assert_allclose(got[c], ref, atol=1e-12)
    assert torch.equal(op.initial_estimate(op.forward(x)), op.forward(x))


def test_blur_kernels_are_normalised_and_shaped():
    for params, side in (
        ({"kernel": "gaussian", "kernel_size": 7}, 7),
        ({"kernel": "box", "kernel_size": 3}, 3),
        ({"kernel": "line", "motion_length": 9.0, "motion_angle": 0.0}, 11),
    ):
        k = build("blur", params).kernel
        assert k.shape == (side, side) and float(k.sum()) == pytest.approx(1.0, abs=1e-12)
    # a horizontal line kernel lies on the centre row and is symmetric
    k = line_kernel(9.0, 0.0)
    assert np.allclose(k[5], k[5][::-1]) and k[5].sum() == pytest.approx(1.0)
    # a vertical one is its transpose
    np.testing.assert_allclose(line_kernel(9.0, 90.0), k.T, atol=1e-12)
    # the Gaussian matches the formula
    k = build("blur", {"kernel": "gaussian", "kernel_sigma": 1.5, "kernel_size": 5}).kernel.numpy()
    r = np.arange(5) - 2
    ref = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * 1.5**2))
    np.testing.assert_allclose(k, ref / ref.sum(), atol=1e-14)


def test_motion_kernel_is_a_centred_connected_path_of_the_right_length():
    for seed in range(3):
        k = motion_kernel(15.0, torch.Generator().manual_seed(seed))
        assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
        assert k.min() >= 0 and k.sum() == pytest.approx(1.0)
        rows, cols = np.indices(k.shape)
        centre = k.shape[0] // 2
        assert abs((k * rows).sum() - centre) < 1.0 and abs((k * cols).sum() - centre) < 1.0
        # support is one connected curve of roughly the path length (bilinear splat: ≤ 4 px/step)
        labels, count = scipy.ndimage.label(k > 0, structure=np.ones((3, 3)))
        assert count == 1
        assert 8 <= int((k > 0).sum()) <= 4 * 16
        assert max(k.shape) <= 15 + 3


def test_box_sr_equals_block_mean():
    x = torch.rand(2, 2, 12, 18, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    for s in (2, 3):
        got = BoxDownsample((2, 12, 18), s).forward(x).numpy()
        ref = x.numpy().reshape(2, 2, 12 // s, s, 18 // s, s).mean(axis=(3, 5))
        np.testing.assert_allclose(got, ref, atol=1e-14)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_sr_matches_antialiased_reference_and_keeps_ramps(scale):
    x = torch.rand(1, 2, 24, 36, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    op = build("sr", {"scale": scale, "method": "bicubic"}, (2, 24, 36))
    # torch's antialiased bicubic (PIL-style Keys a = -0.5, pixel-centre aligned) as reference
    ref = F.interpolate(x, scale_factor=1 / scale, mode="bicubic", antialias=True, align_corners=False)
    assert torch.allclose(op.forward(x), ref, atol=1e-12)
    # a linear ramp is sampled exactly at the output pixel centres away from the borders
    rows = torch.arange(24, dtype=torch.float64)[:, None]
    cols = torch.arange(36, dtype=torch.float64)[None, :]
    ramp = (0.5 * rows + 0.25 * cols).expand(2, 24, 36)
    out = op.forward(ramp)
    ci = (torch.arange(24 // scale, dtype=torch.float64) + 0.5) * scale - 0.5
    cj = (torch.arange(36 // scale, dtype=torch.float64) + 0.5) * scale - 0.5
    expected = 0.5 * ci[:, None] + 0.25 * cj[None, :]
    inner_rows = slice(2, 24 // scale - 2)
    inner_cols = slice(2, 36 // scale - 2)
    assert torch.allclose(out[0, inner_rows, inner_cols], expected[inner_rows, inner_cols], atol=1e-12)
    # x0 = bicubic upsampling of y, same as the display image
    y = op.forward(x[0])
    up = F.interpolate(y[None], scale_factor=scale, mode="bicubic", antialias=True, align_corners=False)[0]
    assert torch.allclose(op.initial_estimate(y), up, atol=1e-12)
    assert torch.allclose(op.observation_image(y), up, atol=1e-12)


def test_bicubic_upsampling_of_smooth_image_is_accurate():
    i = torch.arange(64, dtype=torch.float64)
    smooth = torch.sin(i[:, None] / 9.0) * torch.cos(i[None, :] / 7.0)
    up = bicubic_resize(BoxDownsample((1, 64, 64), 2).forward(smooth[None]), (64, 64))[0]
    assert float((up - smooth)[4:-4, 4:-4].abs().max()) < 0.02


def test_inpaint_masks():
    op = build("inpaint", {"mode": "center", "box_fraction": 0.5}, (1, 20, 30))
    assert int((op.mask == 0).sum()) == 10 * 15
    assert torch.all(op.mask[5:15, 7:22] == 0) and float(op.mask.sum()) == 600 - 150
    op = build("inpaint", {"mode": "blocks", "n_blocks": 1, "block_fraction": 0.25}, (1, 20, 32))
    assert int((op.mask == 0).sum()) == 5 * 8
    op = build("inpaint", {"mode": "random", "keep_rate": 0.3}, (1, 64, 64))
    assert abs(float(op.mask.mean()) - 0.3) < 0.03
    y = op.forward(torch.ones(1, 64, 64, dtype=torch.float64))
    assert torch.equal(op.initial_estimate(y), op.mask.expand(1, 64, 64))


def test_cs_phi_has_orthonormal_rows_and_x0_is_block_adjoint():
    op = build("cs", {"ratio": 25, "block": 33}, (1, 40, 50))
    m = round(0.25 * 33 * 33)
    assert op.phi.shape == (m, 33 * 33)
    assert torch.allclose(op.phi @ op.phi.T, torch.eye(m, dtype=torch.float64), atol=1e-12)
    x = torch.rand(1, 40, 50, dtype=torch.float64)
    y = op.forward(x)
    assert y.shape == (1, 2, 2, m)
    # first block measured directly with Φ
    assert torch.allclose(y[0, 0, 0], op.phi @ x[0, :33, :33].flatten(), atol=1e-12)
    # the bottom-right block is zero padded
    corner = torch.zeros(33, 33, dtype=torch.float64)
    corner[:7, :17] = x[0, 33:, 33:]
    assert torch.allclose(y[0, 1, 1], op.phi @ corner.flatten(), atol=1e-12)
    x0 = op.initial_estimate(y)
    assert torch.allclose(x0[0, :33, :33].flatten(), op.phi.T @ y[0, 0, 0], atol=1e-12)
    assert torch.allclose(op.from_blocks(op.to_blocks(x)), x)


def test_mri_masks_ratio_layout_and_zero_filled_start():
    shape = (1, 64, 64)
    for kind, tol in (("cartesian", 1 / 64), ("gaussian", 1 / 4096), ("radial", 0.03)):
        op = build("mri", {"mask": kind, "ratio": 25, "center_fraction": 0.08}, shape)
        frac = float(op.mask.mean())
        assert abs(frac - 0.25) <= tol, (kind, frac)
        assert float(op.mask[0, 0]) == 1.0  # DC sampled (unshifted layout)
        x = torch.rand(shape, dtype=torch.float64)
        y = op.forward(x)
        assert y.is_complex()
        zero_filled = torch.fft.ifft2(op.mask * torch.fft.fft2(x, norm="ortho"), norm="ortho").real
        assert torch.allclose(op.initial_estimate(y), zero_filled, atol=1e-12)
    cart = torch.fft.fftshift(build("mri", {"mask": "cartesian", "center_fraction": 0.125}, shape).mask)
    assert torch.all(cart == cart[:, :1])  # full rows
    assert torch.all(cart[28:36] == 1)  # fully sampled centre band of 8 rows
    radial = build("mri", {"mask": "radial", "ratio": 25}, shape)
    assert float(radial.mask.mean()) >= 0.25  # spokes added until the ratio is reached
    gauss = torch.fft.fftshift(build("mri", {"mask": "gaussian", "ratio": 20}, shape).mask)
    centre_density = float(gauss[24:40, 24:40].mean())
    edge_density = float(torch.cat([gauss[:8].flatten(), gauss[-8:].flatten()]).mean())
    assert centre_density > 2 * edge_density


def test_sparse_sr_is_box_downsampling_of_wavelet_synthesis():
    op = build("sparse_sr", {"scale": 2, "levels": 3}, (1, 32, 32))
    x = torch.rand(1, 32, 32, dtype=torch.float64)
    alpha = op.from_image(x)
    assert torch.allclose(alpha, wavelets.wavedec(x, "haar", 3), atol=1e-12)
    assert torch.allclose(op.to_image(alpha), x, atol=1e-12)
    y = op.forward(alpha)
    assert torch.allclose(y, BoxDownsample((1, 32, 32), 2).forward(x), atol=1e-12)
    assert torch.allclose(op.initial_estimate(y), wavelets.wavedec(bicubic_resize(y, (32, 32)), "haar", 3))
    assert torch.allclose(op.observation_image(y), bicubic_resize(y, (32, 32)), atol=1e-12)


def test_operators_move_to_float32():
    for name, params in CASES:
        op = build(name, params)
        x = torch.rand(SHAPE, dtype=torch.float64)
        ref_y, ref_z = op.forward(x), op.normal_solve(x, 0.5)
        op.to(dtype=torch.float32)
        y = op.forward(x.float())
        assert y.dtype in (torch.float32, torch.complex64), name
        assert torch.allclose(y.to(ref_y.dtype), ref_y, atol=1e-4), name
        z = op.normal_solve(x.float(), 0.5)
        assert z.dtype == torch.float32 and torch.allclose(z.double(), ref_z, atol=1e-4), name


# --- seeding ---------------------------------------------------------------------------------
SEEDED = [
    ("blur", {"kernel": "motion"}, lambda op: op.kernel),
    ("inpaint", {"mode": "random"}, lambda op: op.mask),
    ("inpaint", {"mode": "blocks"}, lambda op: op.mask),
    ("cs", {"block": 8}, lambda op: op.phi),
    ("mri", {"mask": "cartesian"}, lambda op: op.mask),
    ("mri", {"mask": "radial"}, lambda op: op.mask),
    ("mri", {"mask": "gaussian"}, lambda op: op.mask),
]


@pytest.mark.parametrize("name,params,get", SEEDED, ids=[f"{n}-{list(p.values())[0]}" for n, p, _ in SEEDED])
def test_seeded_reproducibility(name, params, get):
    shape = (1, 48, 48)
    a, b, c = (get(build(name, params, shape, seed)) for seed in (7, 7, 8))
    assert torch.equal(a, b)
    assert a.shape != c.shape or not torch.equal(a, c)


# --- kernel files ----------------------------------------------------------------------------
def _asymmetric_kernel():
    k = np.zeros((5, 5))
    k[2, 1:4] = [1.0, 2.0, 3.0]
    k[0, 4] = 2.0
    return k


def test_kernel_files_png_npy_mat(tmp_path):
    import h5py
    import imageio.v3 as iio

    k = _asymmetric_kernel()
    expected = k / k.sum()
    np.save(tmp_path / "k.npy", k)
    iio.imwrite(tmp_path / "k.png", (k * 50).astype(np.uint8))
    scipy.io.savemat(tmp_path / "k5.mat", {"psf": k})
    with h5py.File(tmp_path / "k73.mat", "w") as f:  # MATLAB v7.3 stores arrays transposed
        ds = f.create_dataset("kernel", data=k.T)
        ds.attrs["MATLAB_class"] = np.bytes_("double")
    for name in ("k.npy", "k.png", "k5.mat", "k73.mat"):
        np.testing.assert_allclose(load_kernel_file(tmp_path / name), expected, atol=1e-12, err_msg=name)
    op = build("blur", {"kernel": "file", "kernel_path": str(tmp_path / "k73.mat")}, (1, 16, 16))
    np.testing.assert_allclose(op.kernel.numpy(), expected, atol=1e-12)


def test_levin_style_cell_files(tmp_path):
    import h5py

    kernels = [_asymmetric_kernel(), np.ones((3, 3)), np.eye(7)]
    with h5py.File(tmp_path / "levin73.mat", "w") as f:  # cell array of refs, as Levin09.mat
        refs = f.create_group("#refs#")
        handles = []
        for i, k in enumerate(kernels):
            ds = refs.create_dataset(str(i), data=k.T)
            ds.attrs["MATLAB_class"] = np.bytes_("double")
            handles.append(ds.ref)
        cell = f.create_dataset("kernels", data=np.array([handles], dtype=h5py.ref_dtype))
        cell.attrs["MATLAB_class"] = np.bytes_("cell")
    cells = np.empty((3, 1), dtype=object)
    for i, k in enumerate(kernels):
        cells[i, 0] = k
    scipy.io.savemat(tmp_path / "levin5.mat", {"kernels": cells})
    for name in ("levin73.mat", "levin5.mat"):
        for index, k in enumerate(kernels, start=1):
            op = build(
                "blur", {"kernel": "levin", "levin_index": index, "kernel_path": str(tmp_path / name)}, (1, 16, 16)
            )
            np.testing.assert_allclose(op.kernel.numpy(), k / k.sum(), atol=1e-12)
    with pytest.raises(ValueError, match="index 5 out of range"):
        build("blur", {"kernel": "levin", "levin_index": 5, "kernel_path": str(tmp_path / "levin5.mat")})


def test_bad_kernels_and_parameters_raise_clear_errors(tmp_path):
    np.save(tmp_path / "rect.npy", np.ones((3, 5)))
    np.save(tmp_path / "empty.npy", np.ones((0, 0)))
    np.save(tmp_path / "nan.npy", np.full((3, 3), np.nan))
    np.save(tmp_path / "zero.npy", np.zeros((3, 3)))
    np.save(tmp_path / "obj.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    np.save(tmp_path / "big.npy", np.ones((21, 21)))
    cases = [
        ("missing.npy", "does not exist"),
        ("rect.npy", "square"),
        ("empty.npy", "empty"),
        ("nan.npy", "NaN"),
        ("zero.npy", "positive"),
        ("obj.npy", "obj.npy"),
        ("junk.mat", "junk.mat"),
        ("junk.png", "junk.png"),
    ]
    for name, message in cases:
        with pytest.raises(ValueError, match=message):
            build("blur", {"kernel": "file", "kernel_path": str(tmp_path / name)})
    with pytest.raises(ValueError, match="kernel_path"):
        build("blur", {"kernel": "file"})
    with pytest.raises(ValueError, match="does not fit"):
        build("blur", {"kernel": "file", "kernel_path": str(tmp_path / "big.npy")}, (1, 16, 16))
    with pytest.raises(ValueError, match="kernel_size must be an odd"):
        build("blur", {"kernel": "gaussian", "kernel_size": 8})
    with pytest.raises(ValueError, match="Levin"):
        build("blur", {"kernel": "levin", "kernel_path": str(tmp_path / "nowhere.mat")})
    for method in ("box", "bicubic"):
        with pytest.raises(ValueError, match="not a multiple of scale 3"):
            build("sr", {"scale": 3, "method": method}, (1, 16, 18))
    with pytest.raises(ValueError, match="not a multiple of scale 4"):
        build("sparse_sr", {"scale": 4}, (1, 24, 18))
    with pytest.raises(ValueError, match="2\\*\\*levels"):
        build("sparse_sr", {"scale": 2, "levels": 3}, (1, 24, 20))
    with pytest.raises(ValueError, match="scale"):
        build("sr", {"scale": 5})
    with pytest.raises(ValueError, match="ratio"):
        build("cs", {"ratio": 80})
    with pytest.raises(ValueError, match="mask"):
        build("mri", {"mask": "spiral"})
