#!/bin/sh
# Wang et al. 2023 (bias gap and error plateau), at the paper's scale on one GPU.
#
# Each call trains for at most $BUDGET seconds (default 480), keeps every run's training state after each epoch, and
# exits with status 3 while work remains; call it again (it resumes, nothing is redone) until it exits 0, when it
# writes the report to docs/results/paper/wang_plateau/. Any other exit status is an error.
#
#   sh scripts/paper/wang_plateau.sh            # one call: under 10 minutes
#   while :; do sh scripts/paper/wang_plateau.sh; [ $? -eq 3 ] || break; done   # all the calls
#
# Expected total: 96 deep MLP runs (100 epochs of full MNIST / Fashion-MNIST at batch 128, 46 900 steps of a width-64
# network) and three paths of 101 points each: about 1.5 minutes each, so about 2.5 GPU-hours, some 20 calls.
# This is an estimate from the step counts at a few milliseconds a step (no GPU was at hand to measure it); every
# run's results.json entry records its real training and measurement time.
#
# Overrides for a dry run on a CPU: SCALE=smoke DEVICE=cpu (the chunking is tested that way); PYTHON for the
# interpreter.
set -u
cd "$(dirname "$0")/../.."
scale="${SCALE:-paper}"
exec "${PYTHON:-python}" -m empirical reproduce wang_plateau --scale "$scale" --device "${DEVICE:-cuda}" \
  --budget "${BUDGET:-480}" --out "docs/results/$scale/wang_plateau" --runs "runs/reproduce/$scale" \
  --no-progress "$@"
