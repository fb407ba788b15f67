#!/bin/sh
# Lucas et al. 2021, Table 2, at the paper's scale on one GPU.
#
# Each call trains for at most $BUDGET seconds (default 480), keeps every run's training state after each epoch, and
# exits with status 3 while work remains; call it again (it resumes, nothing is redone) until it exits 0, when it
# writes the report to docs/results/paper/lucas_table2/. Any other exit status is an error.
#
#   sh scripts/paper/lucas_table2.sh --data-dir DIR            # one call: under 10 minutes
#   while :; do sh scripts/paper/lucas_table2.sh --data-dir DIR; [ $? -eq 3 ] || break; done   # all the calls
#
# DIR: the folder holding cifar-10-batches-py (CIFAR-10 is never downloaded).
#
# Expected total: 224 CIFAR ResNet runs (ResNet-20/32/44/56, 160 epochs of 391 steps at about 4–12 ms a step, then 50
# interpolation points with batch-norm statistics re-estimated on the training set): 5–15 minutes each, so about 40
# GPU-hours, some 300 calls.
# This is an estimate from the step counts at a few milliseconds a step (no GPU was at hand to measure it); every
# run's results.json entry records its real training and measurement time.
#
# Overrides for a dry run on a CPU: SCALE=smoke DEVICE=cpu (the chunking is tested that way); PYTHON for the
# interpreter.
set -u
cd "$(dirname "$0")/../.."
scale="${SCALE:-paper}"
exec "${PYTHON:-python}" -m empirical reproduce lucas_table2 --scale "$scale" --device "${DEVICE:-cuda}" \
  --budget "${BUDGET:-480}" --out "docs/results/$scale/lucas_table2" --runs "runs/reproduce/$scale" \
  --no-progress "$@"
