#!/bin/sh
# The experiment of issue #5 (the paper's "quantization as regularization" table):
# FlyNet-h3 0.5x (28x28x1) on Fashion-MNIST, trained with the same schedule and seed with
# weights restricted to float (2^32) / 16 / 8 / 6 / 4 levels per output channel.
#
#   bench/weight_levels_experiment.sh [DATA_DIR] [OUT_DIR] [LEVELS...]
#
# Each run takes ~20 minutes on 2 cores (8 epochs). The schedule is the one of
# bench/fashion_mnist_accuracy.sh, with the epoch count fixed so every run sees the same
# schedule. A summary table (levels, test top-1, wall time) is printed at the end and kept in
# OUT_DIR/summary.tsv. Env: FLYNET (binary, default build/cli/flynet), EPOCHS (default 8),
# THREADS (default 2).
set -eu
DATA=${1:-/usr/share/datasets/fashion-mnist}
OUT=${2:-bench-out/weight-levels}
[ $# -ge 2 ] && shift 2 || shift $#
LEVELS=${*:-float 16 8 6 4}
FLYNET=${FLYNET:-build/cli/flynet}
EPOCHS=${EPOCHS:-8}
THREADS=${THREADS:-2}
# Passive waiting: on a shared machine spinning OpenMP threads starve each other.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
[ -x "$FLYNET" ] || { echo "no flynet binary at $FLYNET (build first or set FLYNET)" >&2; exit 1; }
mkdir -p "$OUT"
for L in $LEVELS; do
  model="$OUT/fmnist-flynet-h3-L$L.h5"
  set -- "$FLYNET" train --data "$DATA" --arch flynet-h3 --width 0.5 --input 28x28x1 --epochs "$EPOCHS" \
    --batch 128 --lr 0.1 --optimizer sgd --weight-decay 1e-4 --warmup 1 --label-smoothing 0.1 --seed 1 \
    --threads "$THREADS" --eval-every 0 --weight-levels "$L" --out "$model"
  echo "command: $*"
  t0=$(date +%s)
  "$@" > "$OUT/train-L$L.log" 2>&1 || { tail -3 "$OUT/train-L$L.log" >&2; exit 1; }
  t1=$(date +%s)
  acc=$(sed -n 's/.*test top-1[^0-9]*\([0-9.]*\).*/\1/p' "$OUT/train-L$L.log" | tail -1)
  printf '%s\t%s\t%s\n' "$L" "$acc" "$((t1 - t0))" >> "$OUT/summary.tsv"
  echo "levels $L: test top-1 $acc% in $((t1 - t0)) s"
done
echo "levels	test_top1	seconds"
cat "$OUT/summary.tsv"
