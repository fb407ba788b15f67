"""Command line of the width scan (Theorem 8): ``python -m mlitheory.wide`` (alias ``python -m mlitheory.ntk_width``).

The scan itself lives in [`mlitheory.wide.networks`][mlitheory.wide.networks]; this module is its ``python -m`` entry
point: a table on stdout, the figure (PNG and PDF) and the saved result in ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlitheory.wide.networks import plot_width_scan, width_scan

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mlitheory.wide",
        description=(
            "Theorem 8 (MLI of wide networks): train one-hidden-layer tanh networks in NTK parameterisation of "
            "several widths by full-batch GD (η = 1/λ_max of the empirical NTK) to a small loss, measure the Gauss "
            "length of the output path, MLI and the weight distance, fit log G against log width (expected slope "
            "−1/2) and draw the figure."
        ),
    )
    p.add_argument("--widths", type=int, nargs="+", default=None, help="hidden widths (default 8 32 128 512 2048 8192)")
    p.add_argument("--seeds", type=int, default=None, help="initialisation seeds per width (default 8; --quick 3)")
    p.add_argument("--seed", type=int, default=0, help="first initialisation seed and the data seed (default 0)")
    p.add_argument("--out", type=Path, default=Path("out/width_scan"), help="folder for the figure and the result")
    p.add_argument("--quick", action="store_true", help="widths 16 64 256 1024, 3 seeds, loss 1e-10 (about a minute)")
    p.add_argument("--device", default="cpu", help="torch device for training (default cpu)")
    p.add_argument("--n-train", type=int, default=16, help="training points (default 16)")
    p.add_argument("--depth", type=int, default=1, help="hidden layers (default 1)")
    p.add_argument("--target-loss", type=float, default=None, help="stop below this loss (default 1e-12)")
    p.add_argument("--fit-min-width", type=int, default=128, help="smallest width in the slope fit (default 128)")
    p.add_argument(
        "--few-seeds-from",
        type=int,
        nargs=2,
        default=None,
        metavar=("WIDTH", "K"),
        help="widths >= WIDTH use only K seeds (default: 8192 2, as the reference table; --quick: none)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: small matrices)")
    p.add_argument("--force", action="store_true", help="overwrite a finished result in --out")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    widths = args.widths or ([16, 64, 256, 1024] if args.quick else [8, 32, 128, 512, 2048, 8192])
    n_seeds = args.seeds or (3 if args.quick else 8)
    target = args.target_loss or (1e-10 if args.quick else 1e-12)
    stem = args.out / "width_scan_result"
    if stem.with_suffix(".json").exists() and not args.force:
        print(f"{stem.with_suffix('.json')} exists; pass --force to overwrite or choose another --out", file=sys.stderr)
        return 2
    res = width_scan(
        widths,
        [args.seed + i for i in range(n_seeds)],
        n_train=args.n_train,
        depth=args.depth,
        target_loss=target,
        data_seed=args.seed,
        fit_min_width=args.fit_min_width,
        few_seeds_from=tuple(args.few_seeds_from) if args.few_seeds_from else (None if args.quick else (8192, 2)),
        device=args.device,
        threads=args.threads,
        progress=True,
    )
    print(res.summary())
    paths = plot_width_scan(res, args.out)
    res.save(stem, overwrite=True)
    print(f"wrote {', '.join(str(p) for p in paths)} and {stem}.json")
    return 0
