"""Command line: ``python -m mlitheory verify`` checks every theorem family and prints one table."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mlitheory",
        description="Numerical checks of the theory of monotonic linear interpolation (MLI).",
    )
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser(
        "verify",
        help="check every theorem family on many instances and print a table",
        description=(
            "Check every theorem family of the package on generated instances. Each row says how many "
            "instances were tried, on how many the hypotheses and the conclusion held, how many are "
            "counterexamples (hypotheses held, conclusion failed: must be 0) and the worst margin. "
            "Exit status 1 on any counterexample."
        ),
    )
    v.add_argument("--quick", action="store_true", help="fewer, smaller instances (seconds)")
    v.add_argument("--seed", type=int, default=0, help="seed of every random instance (default 0)")
    v.add_argument("--out", type=Path, default=None, help="folder for table.md and verify.json")
    v.add_argument(
        "--only",
        action="append",
        default=None,
        metavar="NAME",
        help="run only the families whose name contains NAME (repeatable): theorem3, bias_plateau, two_layer_linear, "
        "lemma7, wide_networks",
    )
    return p


def _writable_dir(parser: argparse.ArgumentParser, out: Path) -> None:
    """Fail now, with one error line, if ``out`` cannot be created or written (before any long work)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-probe"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        parser.error(f"--out {out}: cannot write there ({exc.strerror or exc}); give a folder you can write to")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "verify":
        import torch

        from mlitheory.verify import run_verify, select_families, write_report

        if args.seed < 0:
            parser.error(f"--seed must be >= 0, got {args.seed}")
        try:
            select_families(args.only)
        except ValueError as exc:
            parser.error(str(exc))
        if args.out is not None:
            _writable_dir(parser, args.out)

        # The instances are small: one thread avoids oversubscription overhead (several times faster on 2 cores).
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        report = run_verify(quick=args.quick, seed=args.seed, only=args.only)
        print(report.summary())
        print(
            f"\n{len(report.rows)} rows in {time.perf_counter() - t0:.1f} s; "
            + (
                "no counterexamples; every demonstration as expected."
                if report.ok
                else "COUNTEREXAMPLES OR FAILED DEMONSTRATIONS FOUND."
            )
        )
        if args.out is not None:
            write_report(report, args.out)
            print(f"wrote {args.out / 'table.md'} and {args.out / 'verify.json'}")
        return 0 if report.ok else 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
