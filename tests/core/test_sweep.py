"""core.sweep without Ray: the sweep file and its grid, serial runs against direct runs, resume
after an interrupt, failed runs, the tables, and one-line errors for bad sweep files."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from core.cli import main
from core.config import Config
from core.engine import Run, write_metrics_csv
from core.images import save_png
from core.sweep import backends, load_sweep, run_sweep

SWEEP = """
[sweep]
name = "tiny"
[problem]
size = 32
degradation = "blur"
noise_sigma = 0.01
[[lanes]]
label = "FISTA"
solver = "fista"
prior = "tv"
[[lanes]]
label = "ISTA"
solver = "ista"
prior = "tv"
[run]
iterations = 5
[grid.problem]
image = ["camera", "coins", "moon"]
[grid.lanes.params]
lam = [0.005, 0.02]
"""


def write(tmp_path, text=SWEEP, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_grid_expands_into_one_single_lane_config_per_point(tmp_path):
    sweep = load_sweep(write(tmp_path))
    assert len(sweep.runs) == 12  # 3 images × 2 lanes × 2 λ
    assert sweep.axes == ["image", "seed", "lane", "lam"] and sweep.setting_axes == ["lane", "lam"]
    points = [(p.axes["image"], p.axes["lane"], p.axes["lam"]) for p in sweep.runs]
    assert points[:4] == [
        ("camera", "FISTA", 0.005),
        ("camera", "FISTA", 0.02),
        ("camera", "ISTA", 0.005),
        ("camera", "ISTA", 0.02),
    ]
    assert len(set(points)) == 12 and len({p.key for p in sweep.runs}) == len({p.name for p in sweep.runs}) == 12
    for plan in sweep.runs:
        config = Config.from_dict(plan.config)
        assert [lane.label for lane in config.lanes] == [plan.axes["lane"]]
        assert config.lanes[0].params["lam"] == plan.axes["lam"]
        assert config.problem.image == plan.axes["image"] and config.problem.size == 32
        assert config.run.iterations == 5


def test_base_config_problem_params_run_grid_and_image_files(tmp_path):
    (tmp_path / "imgs").mkdir()
    for name in ("b.png", "a.png"):
        save_png(tmp_path / "imgs" / name, np.linspace(0, 1, 32 * 32).reshape(32, 32))
    write(
        tmp_path,
        '[problem]\nimage = "camera"\nsize = 64\ndegradation = "blur"\n[problem.params]\nkernel_sigma = 2.0\n'
        '[[lanes]]\nsolver = "fista"\nprior = "tv"\n[lanes.params]\nlam = 0.1\n[run]\niterations = 7\n',
        "base.toml",
    )
    sweep = load_sweep(
        write(
            tmp_path,
            '[sweep]\nbase = "base.toml"\ncpus_per_run = 2\n[problem]\nsize = 32\n'
            '[grid.problem]\nimage = "imgs/*.png"\nseed = [3, 4]\n[grid.problem.params]\nkernel_sigma = [1.0, 1.5]\n'
            "[grid.run]\niterations = [2, 3]\n",
        )
    )
    assert len(sweep.runs) == 2 * 2 * 2 * 2 and sweep.cpus_per_run == 2
    assert sweep.axes == ["image", "seed", "kernel_sigma", "lane", "iterations"]
    first = Config.from_dict(sweep.runs[0].config)
    assert sweep.runs[0].axes == {"image": "a.png", "seed": 3, "kernel_sigma": 1.0, "lane": "fista", "iterations": 2}
    assert first.problem.image == str((tmp_path / "imgs" / "a.png").resolve())
    assert (first.problem.size, first.problem.params["kernel_sigma"], first.lanes[0].params["lam"]) == (32, 1.0, 0.1)
    assert first.run.iterations == 2 and first.problem.degradation == "blur"


def test_serial_sweep_numbers_are_those_of_a_direct_run_and_the_tables_agree(tmp_path):
    path = write(tmp_path, SWEEP.replace('"coins", "moon"', '"coins"'))
    sweep = load_sweep(path)
    report = run_sweep(sweep, tmp_path / "out", serial=True, progress=False)
    assert len(report.executed) == 8 and not report.failed and not report.skipped
    plan = sweep.runs[5]
    folder = tmp_path / "out" / "runs" / plan.name
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "final.png", "metrics.csv", "summary.json"]
    reference = Run(Config.from_dict(plan.config))
    reference.run()
    write_metrics_csv(reference, tmp_path / "reference.csv")
    assert (folder / "metrics.csv").read_text() == (tmp_path / "reference.csv").read_text()
    rows = read_csv(tmp_path / "out" / "results.csv")
    assert [row["run"] for row in rows] == [p.name for p in sweep.runs]
    psnr = reference.snapshot().lanes[0].metrics["psnr"]
    assert float(rows[5]["psnr"]) == float(psnr[-1]) and float(rows[5]["best_psnr"]) == float(psnr.max())
    assert int(rows[5]["best_iteration"]) == int(np.argmax(psnr)) + 1 and rows[5]["k"] == "5"
    table = (tmp_path / "out" / "results.md").read_text()
    fista_005 = [float(r["psnr"]) for r in rows if r["lane"] == "FISTA" and r["lam"] == "0.005"]
    assert len(fista_005) == 2
    lines = [[c.strip(" *") for c in line.strip("|").split("|")] for line in table.splitlines() if line[:1] == "|"]
    cells = next(cells for cells in lines if cells[:2] == ["FISTA", "0.005"])
    assert cells[2] == "2"
    assert float(cells[3]) == pytest.approx(np.mean(fista_005), abs=0.006)
    assert float(cells[4]) == pytest.approx(max(fista_005), abs=0.006)
    means = {}
    for r in rows:
        means.setdefault((r["lane"], r["lam"]), []).append(float(r["psnr"]))
    top = max(means, key=lambda k: np.mean(means[k]))
    assert f"| **{top[0]}** | **{top[1]}** |" in table


def test_an_interrupted_sweep_resumes_with_the_same_results(tmp_path, monkeypatch):
    path = write(tmp_path)
    complete = tmp_path / "complete"
    assert main(["sweep", str(path), "--serial", "--quiet", "--out", str(complete)]) == 0
    calls = []
    real = backends.execute_run

    def interrupted_after_five(*args, **kwargs):
        if len(calls) == 5:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(backends, "execute_run", interrupted_after_five)
    out = tmp_path / "resumed"
    assert main(["sweep", str(path), "--serial", "--quiet", "--out", str(out)]) == 130
    assert len(list((out / "runs").iterdir())) == 5 and len(read_csv(out / "results.csv")) == 5
    monkeypatch.setattr(backends, "execute_run", real)
    report = run_sweep(load_sweep(path), out, serial=True, progress=False)
    assert (len(report.skipped), len(report.executed)) == (5, 7)
    assert drop_seconds(read_csv(out / "results.csv")) == drop_seconds(read_csv(complete / "results.csv"))
    for folder in (complete / "runs").iterdir():
        assert (out / "runs" / folder.name / "metrics.csv").read_bytes() == (folder / "metrics.csv").read_bytes()
    again = run_sweep(load_sweep(path), out, serial=True, progress=False)
    assert (len(again.skipped), len(again.executed)) == (12, 0)


def drop_seconds(rows):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_a_run_whose_summary_is_missing_or_of_another_config_is_run_again(tmp_path):
    path = write(tmp_path, SWEEP.replace('"coins", "moon"', '"coins"').replace("0.005, 0.02", "0.005"))
    sweep = load_sweep(path)
    out = tmp_path / "out"
    run_sweep(sweep, out, serial=True, progress=False)
    runs = out / "runs"
    (runs / sweep.runs[0].name / "summary.json").unlink()
    summary = json.loads((runs / sweep.runs[1].name / "summary.json").read_text())
    (runs / sweep.runs[1].name / "summary.json").write_text(json.dumps({**summary, "key": "0" * 64}))
    shutil.rmtree(runs / sweep.runs[2].name)
    report = run_sweep(sweep, out, serial=True, progress=False)
    assert sorted(report.executed) == sorted(p.name for p in sweep.runs[:3]) and len(report.skipped) == 1


def test_a_failing_run_is_reported_and_the_others_are_kept(tmp_path, capsys):
    image = tmp_path / "gone.png"
    save_png(image, np.full((32, 32), 0.5))
    path = write(tmp_path, SWEEP.replace('["camera", "coins", "moon"]', '["camera", "gone.png"]'))
    sweep = load_sweep(path)
    image.unlink()
    report = run_sweep(sweep, tmp_path / "out", serial=True, progress=False)
    assert len(report.executed) == 4 and [name for name, _ in report.failed] == [p.name for p in sweep.runs[4:]]
    assert all("gone.png" in message and "file not found" in message for _, message in report.failed)
    assert len(read_csv(tmp_path / "out" / "results.csv")) == 4
    assert "4 of 8 runs finished" in (tmp_path / "out" / "results.md").read_text()


def test_missing_ray_is_one_line_suggesting_serial_or_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    assert main(["sweep", str(write(tmp_path)), "--quiet", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--serial" in err[0] and ".[cluster]" in err[0]


BAD = [
    ("[sweep]\nthreads = 2\n", "[sweep]: unknown key(s) ['threads']"),
    ("[sweep]\ncpus_per_run = 0\n", "[sweep] key 'cpus_per_run' = 0 is below its minimum 1"),
    ('[sweep]\nbase = "missing.toml"\n', "[sweep] key 'base'"),
    ("[grid.problem]\nimages = ['camera']\n", "[grid.problem]: unknown key(s) ['images']"),
    ("[grid.lanes.params]\nlam = 0.1\n", "[grid.lanes.params] key 'lam' must be a non-empty array"),
    ("[grid.lanes.params]\nlam = []\n", "[grid.lanes.params] key 'lam' must be a non-empty array"),
    ("[grid.lanes.params]\nlam = [0.1, 0.1]\n", "[grid.lanes.params] key 'lam': value 0.1 is listed twice"),
    ("[grid.lanes.params]\nlam = [[0.1]]\n", "[grid.lanes.params] key 'lam': values must be numbers"),
    ("[grid.lanes.params]\nlamda = [0.1]\n", "lamda"),
    ("[grid.lanes.params]\nlam = [-1.0]\n", "lam"),
    (
        "[grid.problem]\nimage = 'nothing/*.png'\n",
        "[grid.problem] key 'image': the pattern 'nothing/*.png' matches no file",
    ),
    ("[grid.solvers]\nx = [1]\n", "[grid]: unknown key(s) ['solvers']"),
    ("[lanes]\n", "[[lanes]]"),
    ("[[lanes]]\nprior = 'tv'\n", "[[lanes]] #1: missing required key 'solver'"),
    (
        "[[lanes]]\nsolver = 'fista'\nprior = 'tv'\n[[lanes]]\nsolver = 'fista'\nprior = 'l1'\n",
        "label 'fista' is used twice",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_sweep_files_are_one_line_errors_naming_the_key(tmp_path, text, message):
    lanes = "" if "lanes" in text.split("[grid")[0] else '[[lanes]]\nsolver = "fista"\nprior = "tv"\n'
    path = write(tmp_path, f'[problem]\nsize = 32\ndegradation = "blur"\n{lanes}{text}')
    with pytest.raises(ValueError) as info:
        load_sweep(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_bad_sweep_file_through_the_command_exits_2(tmp_path, capsys):
    path = write(tmp_path, '[[lanes]]\nsolver = "fista"\nprior = "tv"\n[grid.lanes.params]\nlam = 0.1\n')
    assert main(["sweep", str(path), "--serial"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lam" in err[0] and str(path) in err[0]


def test_dry_run_lists_the_runs_without_running_them(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "out")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 12 and not (tmp_path / "out").exists()


def test_results_markdown_handles_unfinished_settings(tmp_path):
    from core.sweep.results import results_markdown

    sweep = load_sweep(write(tmp_path))
    summary = {"status": "running", "psnr": 20.0, "ssim": 0.5, "best_psnr": 21.0}
    table = results_markdown(sweep, {sweep.runs[0].key: summary})
    assert "1 of 12 runs finished" in table and "| **FISTA** | **0.005** | 1 | 20.00 | 20.00 | 0.5000" in table
    assert "| FISTA | 0.02 | 0 | nan | nan | nan | nan | nan |" in table  # a setting without a finished run
    assert "over 3 images × 1 seed:" in table


def test_the_example_sweep_is_the_twelve_run_grid():
    from core.paths import CHECKOUT_DIR

    sweep = load_sweep(CHECKOUT_DIR / "docs" / "example_sweep.toml")
    assert len(sweep.runs) == 12 and sweep.setting_axes == ["lane", "lam"]
    assert {p.axes["image"] for p in sweep.runs} == {"camera", "coins", "moon"}
    assert {Config.from_dict(p.config).problem.params["kernel_sigma"] for p in sweep.runs} == {1.6}  # from the base
    assert sweep.out == CHECKOUT_DIR / "docs" / ".." / "out" / "sweeps" / "deblur_tv_lambda"
