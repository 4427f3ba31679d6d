"""Reproduction ``lista``: FISTA iterations needed to match LISTA with T = 0, 1, 3, 7 iterations.

Gregor & LeCun 2010, Table 1: T = 0 is the baseline encoder h_α(W_e x), T iterations have T + 1
shrinkage layers (core.learned.lista.net).

Writes ``bench/results/lista.md`` and ``lista.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...reproduce import markdown_table, register_reproducer, write_text
from ...reproduce.plot import line_panel, save_panels

PAPER_LISTA = {
    100: {0: 3.29, 1: 1.50, 3: 0.98, 7: 0.52, "fista1": 21.0, "match1": 18},
    400: {0: 4.82, 1: 2.45, 3: 2.12, 7: 1.62, "fista1": 22.0, "match1": 35},
}
COLORS = {
    "FISTA": "#1f77b4",
    "LISTA T=0": "#8c564b",
    "LISTA T=1": "#d62728",
    "LISTA T=3": "#2ca02c",
    "LISTA T=7": "#9467bd",
}


def fista_iterations_to_reach(curve: np.ndarray, level: float) -> str:
    """Smallest k with curve[k−1] ≤ level, as text ("> K" when never reached)."""
    hit = np.nonzero(curve <= level)[0]
    return str(int(hit[0]) + 1) if hit.size else f"> {curve.size}"


@register_reproducer("lista", doc="LISTA vs FISTA: FISTA iterations needed to match T = 0, 1, 3, 7 LISTA iterations")
@torch.no_grad()
def reproduce_lista(out_dir: Path, quick: bool) -> list[Path]:
    """Prediction error of trained LISTA (T = 0, 1, 3, 7; m = 100, 400) vs FISTA iterations."""
    from ...paths import out_dir as scratch_dir
    from ..weights import load_state
    from .net import LISTA, fista_codes
    from .train import ALPHA, ITERATION_COUNTS, TRAIN_PATCHES, lista_dataset, prediction_error

    rows, panels = [], []
    iterations = 100 if quick else 400
    for atoms in (100, 400):
        data = lista_dataset(atoms, scratch_dir() / "checkpoints")
        x, z_star = data["val_x"], data["val_z"]
        if quick:
            x, z_star = x[:200], z_star[:200]
        _, curve = fista_codes(x, data["dictionary"], ALPHA, iterations, z_star)
        curve = curve.numpy()
        series = {"FISTA": (np.arange(1, iterations + 1), curve)}
        for t in ITERATION_COUNTS:
            net = LISTA.from_state_dict(load_state(f"lista_m{atoms}_t{t}")).double()
            err = float(prediction_error(net(x), z_star))
            paper = PAPER_LISTA[atoms]
            rows.append(
                [
                    atoms,
                    t,
                    net.layers,
                    err,
                    fista_iterations_to_reach(curve, err),
                    err / float(curve[0]),
                    paper[t],
                    paper[t] / paper["fista1"],
                ]
            )
            series[f"LISTA T={t}"] = (np.array([1.0, iterations]), np.array([err, err]))
        panels.append(line_panel(series, COLORS, f"m = {atoms}: prediction error vs FISTA iteration", log_y=True))
    png = save_panels(panels, out_dir / "lista.png")
    worse = [
        f"m = {a}, T = {t}" for (a, t, _, e, *_), (a0, _, _, e0, *_) in zip(rows[1:], rows[:-1]) if a == a0 and e > e0
    ]
    note = "" if not worse else "\nNot monotone in T for " + ", ".join(worse) + " (see the training logs).\n"
    match = {r[0]: r[4] for r in rows if r[1] == 1}
    table = markdown_table(
        [
            "atoms m",
            "LISTA iterations T",
            "layers",
            "LISTA error",
            "FISTA iterations to match",
            "LISTA / FISTA-1 error",
            "paper LISTA error",
            "paper LISTA / FISTA-1",
        ],
        rows,
    )
    text = (
        f"# LISTA vs FISTA (Gregor & LeCun 2010, Table 1 / §4){' — quick mode' if quick else ''}\n\n"
        "Prediction error = mean over validation patches of ½‖z* − z‖², z* the lasso code "
        f"(α = {ALPHA}) of mean-removed 8×8 patches of `camera` (scaled to unit pixel std) over an "
        "overcomplete DCT dictionary, computed by long FISTA runs. FISTA starts at z = 0.\n\n"
        + table
        + f"\nTraining: {TRAIN_PATCHES[100]} / {TRAIN_PATCHES[400]} patches for m = 100 / 400 (logs in "
        "resources/weights/lista_m*_t*.log). Counting as the paper's Algorithm 3: T iterations of S after a "
        "first shrinkage, T + 1 layers; T = 0 is its baseline encoder h_α(W_e x) (Table 1's third "
        "non-linearity row, 3.29 / 4.82).\n\n"
        f"One LISTA iteration matches {match.get(100)} FISTA iterations for m = 100 and {match.get(400)} for "
        "m = 400 here; the paper: 18 and 35. Its errors (FISTA-1 21 / 22) are on its own scale (a learned "
        "dictionary, 10×10 patches), so the comparable figures are the iteration counts and the ratio "
        "to FISTA's first iteration.\n" + note + "\n![curves](lista.png)\n"
    )
    return [write_text(out_dir / "lista.md", text), png]
