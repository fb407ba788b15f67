#!/bin/sh
# Lucas et al. 2021, Figure 4 (deep MNIST autoencoders), at the paper's scale on one GPU.
#
# Each call trains for at most $BUDGET seconds (default 480), keeps every run's training state after each epoch, and
# exits with status 3 while work remains; call it again (it resumes, nothing is redone) until it exits 0, when it
# writes the report to docs/results/paper/lucas_autoencoder/. Any other exit status is an error.
#
#   sh scripts/paper/lucas_autoencoder.sh            # one call: under 10 minutes
#   while :; do sh scripts/paper/lucas_autoencoder.sh; [ $? -eq 3 ] || break; done   # all the calls
#
# Expected total: 112 autoencoder runs (200 epochs of full MNIST at batch 512, 23 600 steps): about 1 minute each, so
# about 2 GPU-hours, some 15 calls.
# This is an estimate from the step counts at a few milliseconds a step (no GPU was at hand to measure it); every
# run's results.json entry records its real training and measurement time.
#
# Overrides for a dry run on a CPU: SCALE=smoke DEVICE=cpu (the chunking is tested that way); PYTHON for the
# interpreter.
set -u
cd "$(dirname "$0")/../.."
scale="${SCALE:-paper}"
exec "${PYTHON:-python}" -m empirical reproduce lucas_autoencoder --scale "$scale" --device "${DEVICE:-cuda}" \
  --budget "${BUDGET:-480}" --out "docs/results/$scale/lucas_autoencoder" --runs "runs/reproduce/$scale" \
  --no-progress "$@"
