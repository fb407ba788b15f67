#!/bin/sh
# Lucas et al. 2021, Figures 6 and 8, at the paper's scale on one GPU.
#
# Each call trains for at most $BUDGET seconds (default 480), keeps every run's training state after each epoch, and
# exits with status 3 while work remains; call it again (it resumes, nothing is redone) until it exits 0, when it
# writes the report to docs/results/paper/lucas_fig6_8/. Any other exit status is an error.
#
#   sh scripts/paper/lucas_fig6_8.sh            # one call: under 10 minutes
#   while :; do sh scripts/paper/lucas_fig6_8.sh; [ $? -eq 3 ] || break; done   # all the calls
#
# Expected total: 20 MLP runs (100 epochs of full Fashion-MNIST, 1024 × 1024, 11 800 steps) and the lines between 10
# initialisations and optima on 10 000 examples: about 1 minute per run, so about 30 GPU-minutes, some 4 calls.
# This is an estimate from the step counts at a few milliseconds a step (no GPU was at hand to measure it); every
# run's results.json entry records its real training and measurement time.
#
# Overrides for a dry run on a CPU: SCALE=smoke DEVICE=cpu (the chunking is tested that way); PYTHON for the
# interpreter.
set -u
cd "$(dirname "$0")/../.."
scale="${SCALE:-paper}"
exec "${PYTHON:-python}" -m empirical reproduce lucas_fig6_8 --scale "$scale" --device "${DEVICE:-cuda}" \
  --budget "${BUDGET:-480}" --out "docs/results/$scale/lucas_fig6_8" --runs "runs/reproduce/$scale" \
  --no-progress "$@"
