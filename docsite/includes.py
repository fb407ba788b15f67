"""Markdown includes computed by code, for the theory pages: the verification rows of each theorem family.

    python -m docsite.includes [--out out/docs-include] [--full]

Runs `mlitheory.verify.run_verify` once per theory page (quick preset, seed 0, unless `--full`) and writes
`OUT/verify/<page>.md`: the rows of that page's families as a Markdown table, with the command that reproduces
them. The pages include them with `--8<-- "verify/<page>.md"` (pymdownx.snippets, base path `out/docs-include`);
`make docs` runs this first, so the numbers on the site are the numbers the code gives today.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

#: theory page → the substrings of the families' module names (`run_verify(only=...)`) shown on it
PAGES: dict[str, tuple[str, ...]] = {
    "theorem3": ("theorem3",),
    "bias_plateau": ("bias_plateau",),
    "two_layer_linear": ("two_layer_linear",),
    "wide": ("lemma7", "wide"),
    "exact_relu": ("piecewise",),
}


def verify_include(page: str, *, quick: bool = True, seed: int = 0) -> str:
    """The Markdown include of one theory page.

    Raises:
        RuntimeError: no family matched (a family was renamed: update `PAGES`), or a row has a counterexample.
    """
    from mlitheory.verify import format_table, run_verify

    only = PAGES[page]
    t0 = time.perf_counter()
    report = run_verify(quick=quick, seed=seed, only=list(only))
    if not report.rows:
        raise RuntimeError(f"no verify family matches {only} for the page {page!r}: update docsite.includes.PAGES")
    if not report.ok:
        bad = [r.theorem for r in report.rows if not r.ok]
        raise RuntimeError(f"counterexamples on the page {page!r}: {bad}")
    flags = " ".join(f"--only {o}" for o in only)
    preset = "--quick " if quick else ""
    return (
        format_table(report.rows) + "\n\n" + f"*{len(report.rows)} rows, no counterexample; computed for this build in "
        f"{time.perf_counter() - t0:.0f} s by `python -m mlitheory verify {preset}--seed {seed} {flags}`"
        + (" (the quick preset: a few instances per row; drop `--quick` for the full set)" if quick else "")
        + ".*\n"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m docsite.includes", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("out/docs-include"), help="folder of the includes")
    p.add_argument("--full", action="store_true", help="the full verification instead of the quick preset")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # small instances: one thread is faster on a shared machine
    folder = args.out / "verify"
    folder.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        text = verify_include(page, quick=not args.full)
        (folder / f"{page}.md").write_text(text)
        print(f"wrote {folder / (page + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
