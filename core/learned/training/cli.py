"""``python -m core train NAME [--epochs N] [--device cpu|cuda] [--out DIR] [--resume]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import get_trainer, load_trainers
from .common import TrainSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core train", description="Train one of the project's networks and write its weights."
    )
    parser.add_argument("name", help="network to train (see --list)", nargs="?")
    parser.add_argument("--epochs", type=int, default=None, help="number of epochs (default: the trainer's)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--out", type=Path, default=None, help="weights folder (default resources/weights)")
    parser.add_argument("--resume", action="store_true", help="continue from the last epoch checkpoint")
    parser.add_argument(
        "--init", default=None, metavar="WEIGHTS", help="start from these shipped weights (fine-tune the same network)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--list", action="store_true", help="list the trainable networks")
    return parser


def main(argv=None) -> int:
    """Entry point; returns the exit status (2 for bad input)."""
    args = build_parser().parse_args(argv)
    trainers = load_trainers()
    if args.list or args.name is None:
        for name in sorted(trainers):
            print(f"{name:16s} {trainers[name].doc} (default {trainers[name].default_epochs} epochs)")
        return 0
    try:
        trainer = get_trainer(args.name)
        for flag in ("epochs", "steps_per_epoch", "batch_size", "threads"):
            value = getattr(args, flag)
            if value is not None and value < 1:
                raise ValueError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
        settings = TrainSettings(
            name=args.name,
            epochs=args.epochs or trainer.default_epochs,
            device=args.device,
            out=args.out,
            resume=args.resume,
            init=args.init,
            seed=args.seed,
            steps_per_epoch=args.steps_per_epoch,
            batch_size=args.batch_size,
            threads=args.threads,
            progress=not args.no_progress,
        )
        summary = trainer.func(settings)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    final = ", ".join(f"{k} {v:.3f}" for k, v in summary.get("final_validation", {}).items())
    where = settings.weights_dir / f"{args.name}.pt"
    state = "cancelled" if summary.get("cancelled") else f"weights: {where}"
    print(f"{args.name}: {final}; {summary['wall_seconds']:.0f} s; {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
