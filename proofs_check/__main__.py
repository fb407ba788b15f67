"""``python -m proofs_check``: run every symbolic proof-step check and print a table; exit 1 if one fails."""

from __future__ import annotations

import argparse
import sys

from proofs_check import run_all


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(
        prog="python -m proofs_check",
        description="Check every proof step of the package with SymPy and print one table; exit status 1 if one fails.",
    ).parse_args(argv)
    checks = run_all()
    rows = [(c.family, c.step, "holds" if c.holds else "FAILS", c.detail) for c in checks]
    head = ("family", "step", "status", "how")
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("-+-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
    failed = sum(not c.holds for c in checks)
    print(f"\n{len(checks)} steps, {len(checks) - failed} hold, {failed} fail")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
