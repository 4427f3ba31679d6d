"""Bad-input audit: every entry point against hostile configs, images, weights, sessions and arguments.

Each case runs in its own subprocess (as a user would run it) with a wall-clock limit and an address
space limit, and is classified:

* **clean**: refused with a non-zero exit and a short message, no traceback (or accepted when the
  input is in fact valid, e.g. a config with a UTF-8 BOM);
* **mishandled**: a bad input accepted (exit 0), a valid one refused, or a message longer than a few
  lines;
* **crash**: a traceback reached the user or the process died from a signal;
* **hang**: the wall-clock limit was reached;
* **code ran**: a pickle payload executed (a marker file appeared).

Usage (from the repository root)::

    python bench/audit_bad_inputs.py [--only core|train|gui|weights|session] [--markdown FILE]

Data loss under kill -9 and full disks is tested in tests/core/test_session_faults.py and
tests/workbench/test_gui_autosave.py; this script covers the crash / message side.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
MEMORY_LIMIT = 8 << 30  # address space per case (bytes)
TIMEOUT = 120.0

BASE = """[problem]
image = "camera"
size = 32
degradation = "blur"
noise_sigma = 0.01
seed = 0
[[lanes]]
label = "FISTA"
solver = "fista"
prior = "tv"
[lanes.params]
lam = 0.01
[run]
iterations = 3
"""


@dataclass
class Case:
    group: str
    name: str
    argv: list[str]
    expect: str = "reject"  # or "accept"
    env: dict | None = None
    marker: Path | None = None  # a file that must not appear (pickle payload ran)


@dataclass
class Outcome:
    case: Case
    verdict: str
    code: int | None
    seconds: float
    message: str


def config_with(edit: dict[str, str]) -> str:
    """BASE with lines replaced: {"old line": "new line"}; a value None drops the line."""
    text = BASE
    for old, new in edit.items():
        if old not in text:
            raise KeyError(old)
        text = text.replace(old, new if new is not None else "")
    return text


def limit_memory():  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    os.setpgrp()


def run_case(case: Case, work: Path) -> Outcome:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.pop("CW_DATA_DIR", None)
    env.update(case.env or {})
    start = time.monotonic()
    try:
        proc = subprocess.run(
            case.argv,
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT,
            preexec_fn=limit_memory,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        text = (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return Outcome(case, "hang", None, time.monotonic() - start, text.strip().splitlines()[-1:] and text)
    seconds = time.monotonic() - start
    err = proc.stderr.strip()
    lines = [ln for ln in err.splitlines() if ln.strip() and "%|" not in ln and not ln.startswith("\r")]
    message = lines[-1] if lines else (proc.stdout.strip().splitlines() or [""])[-1]
    if case.marker is not None and case.marker.exists():
        verdict = "code ran"
    elif "Traceback (most recent call last)" in err or proc.returncode < 0:
        verdict = "crash"
    elif case.expect == "accept":
        verdict = "clean" if proc.returncode == 0 else "mishandled"
    elif proc.returncode == 0:
        verdict = "mishandled"
    elif len([ln for ln in lines if not ln.startswith(("usage:", " "))]) > 3:  # argparse's usage block is fine
        verdict = "mishandled"  # a message, but not a short one
    else:
        verdict = "clean"
    return Outcome(case, verdict, proc.returncode, seconds, message[:200])


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def core_run(config: Path | str, *extra: str, out: str = "out") -> list[str]:
    return [PY, "-m", "core", "run", str(config), "--out", out, "--quiet", *extra]


def image_files(work: Path) -> dict[str, Path]:
    """Hostile image files (the first few are valid images that are too small or odd)."""
    import numpy as np
    from PIL import Image

    files = {}
    files["missing"] = work / "img" / "missing.png"
    files["directory"] = work / "img" / "folder.png"
    files["directory"].mkdir(parents=True, exist_ok=True)
    files["empty"] = write(work / "img" / "empty.png", b"")
    files["text"] = write(work / "img" / "text.png", "not an image\n")
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(work / "img" / "tiny.png")
    files["tiny 1x1"] = work / "img" / "tiny.png"
    good = work / "img" / "good.png"
    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)).save(good)
    files["truncated"] = write(work / "img" / "truncated.png", good.read_bytes()[:200])
    # PNG header claiming 100000 x 100000 pixels (an IHDR with a valid CRC, then nothing)
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 16, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    idat = zlib.compress(b"\x00" * (1 << 20), 9)
    idat_chunk = b"IDAT" + idat
    body = struct.pack(">I", len(idat)) + idat_chunk + struct.pack(">I", zlib.crc32(idat_chunk))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    files["declared 1e5 x 1e5"] = write(work / "img" / "bomb.png", header + body + end)
    fifo = work / "img" / "fifo.png"
    if not fifo.exists():
        os.mkfifo(fifo)
    files["fifo"] = fifo
    files["npy not image"] = write(work / "img" / "array.npy", b"\x93NUMPY garbage")
    return files


def core_cases(work: Path) -> list[Case]:
    cases: list[Case] = []

    def cfg(name: str, text: str | bytes, expect: str = "reject", *extra: str):
        path = write(work / "cfg" / f"{len(cases):03d}.toml", text)
        cases.append(Case("core", name, core_run(path, *extra), expect))

    cfg("valid base config", BASE, "accept")
    cfg("UTF-8 BOM", "\ufeff" + BASE, "accept")
    for name, path in image_files(work).items():
        cfg(f"image: {name}", config_with({'image = "camera"': f'image = "{path}"'}))
    cfg("image: unknown catalogue name", config_with({'image = "camera"': 'image = "nosuchimage"'}))
    values = {
        "size = 32": [
            "size = 0",
            "size = -1",
            "size = 1",
            "size = 100000",
            "size = inf",
            "size = nan",
            'size = "32"',
            "size = true",
            "size = 1e308",
            "size = 32.5",
        ],
        "noise_sigma = 0.01": [
            "noise_sigma = nan",
            "noise_sigma = inf",
            "noise_sigma = -1",
            "noise_sigma = 1e308",
            'noise_sigma = "x"',
        ],
        "seed = 0": ["seed = -1", "seed = 1e30", "seed = 1.5", 'seed = "a"', "seed = inf"],
        'degradation = "blur"': ['degradation = "nosuch"', 'degradation = ""', "degradation = 5"],
        "iterations = 3": [
            "iterations = 0",
            "iterations = -1",
            "iterations = inf",
            "iterations = nan",
            "iterations = 1e12",
            'iterations = "3"',
            "iterations = true",
        ],
        "lam = 0.01": [
            "lam = nan",
            "lam = inf",
            "lam = -1",
            'lam = "x"',
            "lam = 1e400",
            "lam = [1]",
            "nosuchparam = 1",
            "step_size = 0",
            "step_size = -1",
            "step_size = inf",
        ],
        'solver = "fista"': ['solver = "nosuch"', 'solver = "lista"', 'solver = "ista_net_plus"', "solver = 3"],
        'prior = "tv"': ['prior = "nosuch"', 'prior = ""'],
        'label = "FISTA"': [
            'label = ""',
            f'label = "{"x" * 300}"',
            'label = "../../x"',
            'label = "a/b"',
            'label = "FISTA"\ncolor = "notacolor"',
            'label = "FISTA"\ndenoiser = "nosuch"',
        ],
    }
    #: labels that are odd but valid: the lane is run and its output file name is made safe and unique
    valid_labels = {'label = ""', 'label = "../../x"', 'label = "a/b"', f'label = "{"x" * 300}"'}
    for old, news in values.items():
        for new in news:
            cfg(new.splitlines()[-1][:60], config_with({old: new}), "accept" if new in valid_labels else "reject")
    run_values = [
        "tolerance = nan",
        "tolerance = inf",
        "tolerance = -1",
        "keep_iterates = -1",
        "keep_iterates = inf",
        'device = "tpu"',
        'dtype = "float16"',
        'dtype = "x"',
    ]
    for line in run_values:
        cfg(line, BASE + line + "\n")
    cfg('device = "cuda" without CUDA', BASE + 'device = "cuda"\n')
    cfg("init = bogus", config_with({"seed = 0": 'seed = 0\ninit = "bogus"'}))
    cfg("color_mode = x", config_with({"seed = 0": 'seed = 0\ncolor_mode = "x"\ngrayscale = false'}))
    cfg("grayscale = yes", config_with({"seed = 0": 'seed = 0\ngrayscale = "yes"'}))

    def with_params(degradation: str, params: str) -> str:
        head, lanes = BASE.split("[[lanes]]", 1)
        head = head.replace('degradation = "blur"', f'degradation = "{degradation}"')
        return head + f"[problem.params]\n{params}\n[[lanes]]" + lanes

    cfg("scale = 0 on sr", with_params("sr", "scale = 0"))
    cfg("scale = 1000 on sr", with_params("sr", "scale = 1000"))
    cfg("inpainting keeping no pixel", with_params("inpaint", "keep_rate = 0.0"))
    cfg("inpainting, box covers all", with_params("inpaint", 'mode = "center"\nbox_fraction = 1.0'))
    cfg("zero lanes", BASE.split("[[lanes]]")[0] + "[run]\niterations = 3\n")
    cfg("lanes not an array", 'lanes = "x"\n' + BASE.split("[[lanes]]")[0] + "[run]\niterations = 3\n")
    cfg("two lanes same label", BASE.replace("[run]", BASE.split("[run]")[0].split("seed = 0\n")[1] + "[run]"))
    cfg("unknown top-level table", BASE + "[nosuch]\na = 1\n")
    cfg("empty file", "")
    cfg("syntax error", "[problem\nimage = ")
    cfg("invalid UTF-8", b'[problem]\nimage = "\xff\xfe"\n')
    cfg("binary file", bytes(range(256)) * 8)
    cfg("nested 5000 deep", "a = " + "[" * 5000 + "]" * 5000 + "\n")
    cfg("nested tables 3000 deep", "[" + ".".join(["a"] * 3000) + "]\n")
    cases.append(Case("core", "config is a directory", core_run(work / "cfg")))
    cases.append(Case("core", "config missing", core_run(work / "cfg" / "missing.toml")))
    fifo = work / "cfg" / "fifo.toml"
    if not fifo.exists():
        os.mkfifo(fifo)
    cases.append(Case("core", "config is a FIFO", core_run(fifo)))
    base = write(work / "cfg" / "base.toml", BASE)
    out_file = write(work / "out_is_a_file", "x")
    cases.append(Case("core", "--out is a file", core_run(base, out=str(out_file))))
    cases.append(Case("core", "--out unwritable", core_run(base, out="/proc/nosuch/out")))
    for arg in (["--size", "-5"], ["--size", "0"], ["--iterations", "-1"], ["--size", "999999"]):
        cases.append(Case("core", " ".join(arg), core_run(base, *arg)))
    cases.append(Case("core", "--plugin missing", core_run(base, "--plugin", "missing.py")))
    raising = write(work / "plugins" / "raising.py", "raise RuntimeError('boom')\n")
    syntax = write(work / "plugins" / "syntax.py", "def (:\n")
    cases.append(Case("core", "--plugin raising", core_run(base, "--plugin", str(raising))))
    cases.append(Case("core", "--plugin syntax error", core_run(base, "--plugin", str(syntax))))
    return cases


def train_cases(work: Path) -> list[Case]:
    out_file = write(work / "train_out_file", "x")
    resume = work / "tr_resume"
    write(resume / "checkpoints" / "admm_net.ckpt.pt", b"PK\x03\x04garbage")
    base = [PY, "-m", "core", "train"]
    quick = ["--epochs", "1", "--steps-per-epoch", "1", "--no-progress"]
    return [
        Case("train", "unknown trainer", base + ["nosuch"]),
        Case("train", "--out is a file", base + ["admm_net", "--out", str(out_file), *quick]),
        Case("train", "--resume corrupt checkpoint", base + ["admm_net", "--resume", "--out", str(resume), *quick]),
        Case("train", "--epochs -1", base + ["admm_net", "--epochs", "-1", "--out", str(work / "tr2")]),
        Case("train", "--epochs x", base + ["admm_net", "--epochs", "x", "--out", str(work / "tr3")]),
        Case("train", "--threads 0", base + ["admm_net", "--threads", "0", "--out", str(work / "tr4"), *quick[:2]]),
    ]


def weights_cases(work: Path) -> list[Case]:
    """A copy of resources/weights per case, damaged, selected with CW_WEIGHTS_DIR."""
    import json

    source = ROOT / "resources" / "weights"
    cases = []
    config = write(
        work / "cfg" / "lista.toml",
        BASE.replace('degradation = "blur"', 'degradation = "denoise"').replace(
            'solver = "fista"\nprior = "tv"\n[lanes.params]\nlam = 0.01', 'solver = "lista"'
        ),
    )
    marker = work / "PICKLE_RAN"

    def variant(name: str, damage):
        folder = work / "weights" / name.replace(" ", "_")
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(source, folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        damage(folder, manifest)
        cases.append(Case("weights", name, core_run(config), env={"CW_WEIGHTS_DIR": str(folder)}, marker=marker))

    def entry(manifest):
        entries = manifest.get("weights", manifest)
        key = next(k for k in entries if k.startswith("lista"))
        return entries, key

    def set_entry(value):
        def damage(folder, manifest):
            entries, key = entry(manifest)
            entries[key] = value(entries[key])
            (folder / "manifest.json").write_text(json.dumps(manifest))

        return damage

    def flip_bytes(folder, manifest):
        for pt in folder.glob("lista*.pt"):
            data = bytearray(pt.read_bytes())
            data[len(data) // 2] ^= 0xFF
            pt.write_bytes(bytes(data))

    def truncate(folder, manifest):
        for pt in folder.glob("lista*.pt"):
            pt.write_bytes(pt.read_bytes()[:100])

    def pickle_payload(folder, manifest):
        import hashlib

        payload = (
            b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93\x8c"
            + bytes([len(f"touch {marker}")])
            + f"touch {marker}".encode()
            + b"\x85R."
        )
        entries, key = entry(manifest)
        for pt in folder.glob("lista*.pt"):
            pt.write_bytes(payload)
        for k in entries:
            if isinstance(entries[k], dict) and "sha256" in entries[k]:
                file = folder / entries[k].get("file", k)
                if file.exists():
                    entries[k]["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
        (folder / "manifest.json").write_text(json.dumps(manifest))

    def folder_instead(folder, manifest):
        for pt in folder.glob("lista*.pt"):
            pt.unlink()
            pt.mkdir()

    variant("weights bytes flipped", flip_bytes)
    variant("weights truncated", truncate)
    variant("weights pickle payload with matching sha", pickle_payload)
    variant("weights file is a folder", folder_instead)
    variant("manifest entry is a string", set_entry(lambda e: "x"))
    variant("manifest meta is a list", set_entry(lambda e: {**e, "meta": [1, 2]} if isinstance(e, dict) else e))
    variant(
        "manifest file outside folder",
        set_entry(lambda e: {**e, "file": "../../../etc/passwd"} if isinstance(e, dict) else e),
    )
    variant("manifest not JSON", lambda folder, m: (folder / "manifest.json").write_text("{"))
    variant("manifest missing", lambda folder, m: (folder / "manifest.json").unlink())
    return cases


def session_cases(work: Path) -> list[Case]:
    """A saved session, damaged in each way, opened by the workbench's start path."""
    folder = work / "session"
    env = {"CW_OUT_DIR": str(work / "sess_out")}
    made = subprocess.run(
        [
            PY,
            "-c",
            "import sys; from core.config import load_config; from core.engine import Run; "
            "from core.session import save_session; r = Run(load_config(sys.argv[1])); r.run(); "
            "save_session(r, sys.argv[2])",
            str(write(work / "cfg" / "sess.toml", BASE)),
            str(folder),
        ],
        cwd=work,
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        print("could not make a session:", made.stderr.strip().splitlines()[-1:], file=sys.stderr)
        return []
    cases = []

    def shot(name, damage, expect="reject"):
        copy = work / "sessions" / name.replace(" ", "_")
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(folder, copy)
        damage(copy)
        argv = [
            PY,
            "-m",
            "workbench",
            "--no-autosave",
            "--screenshot",
            str(work / "shot.png"),
            str(copy),
            "--iterations",
            "1",
        ]
        cases.append(Case("session", name, argv, expect, env=env))

    shot("intact session", lambda f: None, "accept")
    shot("metrics.csv missing", lambda f: (f / "metrics.csv").unlink())
    shot("metrics.csv truncated", lambda f: (f / "metrics.csv").write_text((f / "metrics.csv").read_text()[:80]))
    shot("iterates.npz garbage", lambda f: (f / "iterates.npz").write_bytes(b"PK\x03\x04 garbage"))
    shot("session.toml garbage", lambda f: (f / "session.toml").write_text("[[[\n"))
    shot("session.toml missing", lambda f: (f / "session.toml").unlink())
    shot("session folder empty", lambda f: [p.unlink() for p in f.iterdir()])
    return cases


def gui_cases(core: list[Case]) -> list[Case]:
    """The workbench start path on every config the core cases use."""
    cases = []
    for case in core:
        if case.argv[:4] != [PY, "-m", "core", "run"] or len(case.argv) != 8:
            continue
        argv = [PY, "-m", "workbench", "--no-autosave", "--screenshot", "shot.png", case.argv[4], "--iterations", "1"]
        if case.name.startswith("--"):
            continue  # core-only arguments
        # the window opens on a run of 0 iterations or with no lane (both are edited there); the CLI refuses them
        expect = "accept" if case.name in {"iterations = 0", "zero lanes", "empty file"} else case.expect
        cases.append(Case("gui", case.name, argv, expect))
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("core", "train", "weights", "session", "gui"), action="append")
    parser.add_argument("--markdown", type=Path, help="write the table of outcomes here")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cw_audit_"))
    groups = set(args.only or ("core", "train", "weights", "session", "gui"))
    core = core_cases(work)
    cases = [c for c in core if "core" in groups]
    if "train" in groups:
        cases += train_cases(work)
    if "weights" in groups:
        cases += weights_cases(work)
    if "session" in groups:
        cases += session_cases(work)
    if "gui" in groups:
        cases += gui_cases(core)
    outcomes = []
    for i, case in enumerate(cases, 1):
        outcome = run_case(case, work)
        outcomes.append(outcome)
        print(
            f"[{i}/{len(cases)}] {outcome.verdict:10s} {case.group:8s} {case.name[:60]:60s} "
            f"exit={outcome.code} {outcome.seconds:5.1f}s  {outcome.message[:110]}",
            flush=True,
        )
    counts = {}
    for o in outcomes:
        counts[o.verdict] = counts.get(o.verdict, 0) + 1
    summary = ", ".join(f"{v} {n}" for v, n in sorted(counts.items()))
    print(f"\n{len(outcomes)} cases: {summary}")
    if args.markdown:
        rows = ["| group | case | verdict | exit | message |", "|---|---|---|---:|---|"]
        for o in outcomes:
            msg = o.message.replace("|", "\\|").replace(str(work), "…")
            rows.append(f"| {o.case.group} | {o.case.name[:70].replace('|', '/')} | {o.verdict} | {o.code} | {msg} |")
        text = (
            f"# Bad-input audit\n\nMade with `python bench/audit_bad_inputs.py --markdown {args.markdown}`.\n\n"
            f"{len(outcomes)} cases: {summary}.\n\n" + "\n".join(rows) + "\n"
        )
        args.markdown.write_text(text, encoding="utf-8")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    bad = sum(counts.get(v, 0) for v in ("crash", "hang", "code ran"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
