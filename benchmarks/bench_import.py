"""Cost of ``import mlitheory`` as a ratio to ``import torch`` alone, measured side by side.

Each sample is a fresh interpreter (``python -c "import X"``) timed from outside, wall clock, so nothing is
cached in the process; the statements are interleaved (torch, mlitheory, torch, mlitheory, ...) so that a
change of load on a shared machine falls on both. The ratio is of the medians. The package promises at most
1.15: its sub-packages and re-exports load on first use (PEP 562), scipy and matplotlib only with the modules
that need them.

A second line times ``import mlitheory`` followed by first use of a core function (``mlitheory.interpolate``),
the cost a user pays before computing anything, again against ``import torch``.

    python benchmarks/bench_import.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATEMENTS = {
    "torch": "import torch",
    "mlitheory": "import mlitheory",
    "mlitheory + interpolate": "import mlitheory; mlitheory.interpolate",
    "python": "pass",
}


def sample(statement: str) -> float:
    """Seconds for a fresh interpreter to run ``statement`` and exit."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=7, help="fresh interpreters per statement (default 7)")
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    times: dict[str, list[float]] = {k: [] for k in STATEMENTS}
    sample("import torch")  # warm the file cache once, for every statement alike
    for _ in range(args.repeats):
        for name, statement in STATEMENTS.items():
            times[name].append(sample(statement))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"median of {args.repeats} fresh interpreters each, interleaved, wall clock")
    print(f"{'statement':<40} {'median s':>9} {'min s':>8} {'max s':>8} {'/ torch':>8}")
    for name, statement in STATEMENTS.items():
        v = times[name]
        print(f"{statement:<40} {med[name]:9.3f} {min(v):8.3f} {max(v):8.3f} {med[name] / med['torch']:8.3f}")
    ratio = med["mlitheory"] / med["torch"]
    print(f"import mlitheory / import torch = {ratio:.3f} (promise: <= 1.15)")
    return 0 if ratio <= 1.15 else 1


if __name__ == "__main__":
    raise SystemExit(main())
