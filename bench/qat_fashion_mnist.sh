#!/bin/sh
# Issue #6's QAT target and issue #5's --act-bits: an 8-level model (from
# bench/weight_levels_experiment.sh) fine-tuned for 2 epochs with int8 activations and BN
# folded in the last epoch, then calibrated (the trained ranges are kept) and quantized with the
# float / fake-quant / int8 comparison on the 10,000 test images. The 8-level model itself is
# quantized the same way (weights-only QAT) for comparison.
#
#   bench/qat_fashion_mnist.sh [L8_MODEL] [DATA_DIR] [OUT_DIR]
#
# ~10 minutes on 2 cores. Env: FLYNET (binary, default build/cli/flynet), THREADS (default 2).
set -eu
L8=${1:-bench-out/weight-levels/fmnist-flynet-h3-L8.h5}
DATA=${2:-/usr/share/datasets/fashion-mnist}
OUT=${3:-bench-out/qat}
FLYNET=${FLYNET:-build/cli/flynet}
THREADS=${THREADS:-2}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
[ -x "$FLYNET" ] || { echo "no flynet binary at $FLYNET (build first or set FLYNET)" >&2; exit 1; }
[ -f "$L8" ] || { echo "no 8-level model at $L8: run bench/weight_levels_experiment.sh first" >&2; exit 1; }
mkdir -p "$OUT"
"$FLYNET" train --data "$DATA" --init "$L8" --epochs 2 --lr 0.01 --warmup 0 --batch 128 --weight-decay 1e-4 \
  --label-smoothing 0.1 --seed 1 --threads "$THREADS" --eval-every 0 \
  --weight-levels 8 --act-bits 8 --fold-bn-after 1 --out "$OUT/L8.qat.h5" | tail -1
for m in L8.qat L8; do
  src="$OUT/$m.h5"; [ "$m" = L8 ] && src="$L8"
  "$FLYNET" calibrate "$src" --data "$DATA" --samples 500 --method minmax --out "$OUT/$m.cal.h5" > /dev/null
  echo "$m:"
  OMP_NUM_THREADS=$THREADS "$FLYNET" quantize "$OUT/$m.cal.h5" --out "$OUT/$m.q.h5" --data "$DATA" --samples 0 \
    --json "$OUT/$m.json" | grep -E 'test images|agreement'
done
