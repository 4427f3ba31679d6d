"""Every preset at its own size and iteration count: does any lane get worse over its run?

For each lane of each preset in ``sessions/examples/`` prints the PSNR of the first iterate, the
best one (and where), the last one, and flags the lane when the last is more than ``--tolerance``
dB below the best (issue 7: no preset contains a lane that gets worse over its run).

    python bench/presets.py [NAME ...] [--markdown bench/results/presets.md]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from core.config import load_config  # noqa: E402
from core.engine import Run  # noqa: E402
from core.paths import presets_dir  # noqa: E402

#: presets that show a paper's setting as published, where lanes are expected to come down to a
#: minimiser whose PSNR is below their path's peak (issue 7 keeps the PODM Fig. 2 setting)
PAPER_SETTINGS = {
    "podm_vs_fista_sr": "PODM's Fig. 2: from bicubic x⁰ the ℓ0.8 minimiser is below x⁰; PnP oscillates",
}


def preset_rows(path: Path, tolerance: float) -> list[list[str]]:
    """One row per lane: preset, lane, first, best @ k, last, drop, verdict."""
    config = load_config(path)
    run = Run(config)
    run.step(config.run.iterations)
    rows = []
    for index, lane in enumerate(run.lanes):
        psnr = run.lane_history(index)[0]["psnr"]
        if not len(psnr) or not np.isfinite(psnr).any():
            rows.append([path.stem, lane.spec.label, "–", "–", "–", "–", f"no PSNR ({lane.status})"])
            continue
        best = int(np.nanargmax(psnr))
        drop = float(psnr[best] - psnr[-1])
        verdict = "gets worse" if drop > tolerance else "ok"
        if verdict != "ok" and path.stem in PAPER_SETTINGS:
            verdict = f"falls, as in the paper's setting ({PAPER_SETTINGS[path.stem]})"
        rows.append(
            [
                path.stem,
                lane.spec.label,
                f"{psnr[0]:.2f}",
                f"{psnr[best]:.2f} @ {best + 1}/{len(psnr)}",
                f"{psnr[-1]:.2f}",
                f"{drop:.2f}",
                f"{verdict} ({lane.status})",
            ]
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="preset names (default: all)")
    parser.add_argument("--tolerance", type=float, default=0.05, help="dB the last iterate may be below the best")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--markdown", help="write the table here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    paths = sorted(presets_dir().glob("*.toml"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
    header = ["preset", "lane", "first dB", "best dB", "last dB", "best − last", "verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    worse = 0
    for path in paths:
        start = time.perf_counter()
        rows = preset_rows(path, args.tolerance)
        for row in rows:
            worse += row[-1].startswith("gets worse")
            lines.append("| " + " | ".join(row) + " |")
            print("  ".join(row), flush=True)
        print(f"{path.stem}: {time.perf_counter() - start:.0f} s", flush=True)
    summary = f"{worse} lane(s) get worse by more than {args.tolerance} dB"
    print(summary)
    if args.markdown:
        text = (
            "# Presets: first, best and last PSNR of every lane\n\n"
            f"Made with `python bench/presets.py --threads {args.threads} --markdown {args.markdown}` "
            f"({platform.machine()}, CPU, {args.threads} thread{'s' if args.threads != 1 else ''}). "
            f"A lane *gets worse* when its last iterate is more than {args.tolerance} dB below its best.\n\n"
            + "\n".join(lines)
            + f"\n\n{summary}.\n"
        )
        Path(args.markdown).write_text(text, encoding="utf-8")
    return 1 if worse else 0


if __name__ == "__main__":
    sys.exit(main())
