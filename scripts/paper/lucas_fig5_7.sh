#!/bin/sh
# Lucas et al. 2021, Figures 5 and 7 (analyses the runs of lucas_table1: run that script first, with the same --runs),
# at the paper's scale on one GPU.
#
# Each call trains for at most $BUDGET seconds (default 480), keeps every run's training state after each epoch, and
# exits with status 3 while work remains; call it again (it resumes, nothing is redone) until it exits 0, when it
# writes the report to docs/results/paper/lucas_fig5_7/. Any other exit status is an error.
#
#   sh scripts/paper/lucas_fig5_7.sh            # one call: under 10 minutes
#   while :; do sh scripts/paper/lucas_fig5_7.sh; [ $? -eq 3 ] || break; done   # all the calls
#
# Expected total: the analysis only, once lucas_table1 is done: a few minutes, one or two calls.
# This is an estimate from the step counts at a few milliseconds a step (no GPU was at hand to measure it); every
# run's results.json entry records its real training and measurement time.
#
# Overrides for a dry run on a CPU: SCALE=smoke DEVICE=cpu (the chunking is tested that way); PYTHON for the
# interpreter.
set -u
cd "$(dirname "$0")/../.."
scale="${SCALE:-paper}"
exec "${PYTHON:-python}" -m empirical reproduce lucas_fig5_7 --scale "$scale" --device "${DEVICE:-cuda}" \
  --budget "${BUDGET:-480}" --out "docs/results/$scale/lucas_fig5_7" --runs "runs/reproduce/$scale" \
  --no-progress "$@"
