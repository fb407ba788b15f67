#!/bin/sh
# Lucas et al. 2021, Table 1 (and the runs of Figures 5 and 7), at the paper's scale on one GPU.
#
# Each call trains for at most $BUDGET seconds (default 480), keeps every run's training state after each epoch, and
# exits with status 3 while work remains; call it again (it resumes, nothing is redone) until it exits 0, when it
# writes the report to docs/results/paper/lucas_table1/. Any other exit status is an error.
#
#   sh scripts/paper/lucas_table1.sh            # one call: under 10 minutes
#   while :; do sh scripts/paper/lucas_table1.sh; [ $? -eq 3 ] || break; done   # all the calls
#
# Expected total: 768 MLP runs (10 epochs of full MNIST / Fashion-MNIST at batch 512, 1180 steps, then 50
# interpolation points with batch-norm statistics re-estimated on the training set and the Gauss length of 100
# examples): about 30 s each, so about 6.5 GPU-hours, some 50 calls.
# This is an estimate from the step counts at a few milliseconds a step (no GPU was at hand to measure it); every
# run's results.json entry records its real training and measurement time.
#
# Overrides for a dry run on a CPU: SCALE=smoke DEVICE=cpu (the chunking is tested that way); PYTHON for the
# interpreter.
set -u
cd "$(dirname "$0")/../.."
scale="${SCALE:-paper}"
exec "${PYTHON:-python}" -m empirical reproduce lucas_table1 --scale "$scale" --device "${DEVICE:-cuda}" \
  --budget "${BUDGET:-480}" --out "docs/results/$scale/lucas_table1" --runs "runs/reproduce/$scale" \
  --no-progress "$@"
