#!/bin/sh
# Frankle 2020, Figures 1–3, at the paper's scale on one GPU.
#
# Each call trains for at most $BUDGET seconds (default 480), keeps every run's training state after each epoch, and
# exits with status 3 while work remains; call it again (it resumes, nothing is redone) until it exits 0, when it
# writes the report to docs/results/paper/frankle_barriers/. Any other exit status is an error.
#
#   sh scripts/paper/frankle_barriers.sh --data-dir DIR            # one call: under 10 minutes
#   while :; do sh scripts/paper/frankle_barriers.sh --data-dir DIR; [ $? -eq 3 ] || break; done   # all the calls
#
# DIR: the folder holding cifar-10-batches-py (CIFAR-10 is never downloaded).
#
# Expected total: three seeds of a ResNet-20 on CIFAR-10 (160 epochs) and of an MNIST MLP, with 15 checkpoint → final
# lines each on the 10 000 test images: about 1 GPU-hour, some 8 calls.
# This is an estimate from the step counts at a few milliseconds a step (no GPU was at hand to measure it); every
# run's results.json entry records its real training and measurement time.
#
# Overrides for a dry run on a CPU: SCALE=smoke DEVICE=cpu (the chunking is tested that way); PYTHON for the
# interpreter.
set -u
cd "$(dirname "$0")/../.."
scale="${SCALE:-paper}"
exec "${PYTHON:-python}" -m empirical reproduce frankle_barriers --scale "$scale" --device "${DEVICE:-cuda}" \
  --budget "${BUDGET:-480}" --out "docs/results/$scale/frankle_barriers" --runs "runs/reproduce/$scale" \
  --no-progress "$@"
