#!/bin/sh
# The accuracy proof of issue #15 (`flynet import`): a model trained in PyTorch keeps its top-1
# through import -> calibrate -> quantize -> export -> verify (target: int8 within 0.5 pt of
# PyTorch's float top-1), and a short 8-level QAT fine-tune in flynet exports it at 3 bits per
# weight.
#
#   bench/import_accuracy.sh [DATA_DIR] [OUT_DIR]
#
# 1. bench/import_accuracy.py trains the MLPerf Tiny ResNet-8 on Fashion-MNIST (28x28x1) in
#    PyTorch for EPOCHS epochs and exports it as ONNX (opset 13, BN kept);
# 2. flynet import / calibrate (training images) / quantize / export / verify on all 10,000 test
#    images, with the imported float model beside the int8 one;
# 3. flynet train --init (the imported model) --weight-levels 8 for QAT_EPOCHS epochs, then the
#    same chain; the export and `flynet info` show the weights stored at 3 bits.
# Nothing is chosen on the test split: the hyper-parameters are fixed here, calibration reads
# the training split.
#
# ~35 minutes on 2 loaded cores (run it under nice -n 10 on a shared machine). Env: FLYNET (binary, default build/cli/flynet), PYTHON (with
# torch, default /usr/bin/python3: Debian's python3-torch), EPOCHS (default 4), QAT_EPOCHS
# (default 1), CAL_SAMPLES (calibration images, default 500), THREADS (default 2).
set -eu
DATA=${1:-/usr/share/datasets/fashion-mnist}
OUT=${2:-bench-out/import-accuracy}
FLYNET=${FLYNET:-build/cli/flynet}
PYTHON=${PYTHON:-/usr/bin/python3}
EPOCHS=${EPOCHS:-4}
QAT_EPOCHS=${QAT_EPOCHS:-1}
CAL_SAMPLES=${CAL_SAMPLES:-500}
THREADS=${THREADS:-2}
# Passive waiting: on a shared machine spinning OpenMP threads (flynet's and torch's) starve
# each other; torch trains several times slower without it.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
HERE=$(dirname "$0")
[ -x "$FLYNET" ] || { echo "no flynet binary at $FLYNET (build first or set FLYNET)" >&2; exit 1; }
if [ ! -f "$DATA/t10k-labels-idx1-ubyte.gz" ]; then
  echo "skipped: no Fashion-MNIST at $DATA (Debian: apt-get install dataset-fashion-mnist)"
  exit 0
fi
if ! "$PYTHON" -c 'import torch, onnx' 2> /dev/null; then
  echo "skipped: $PYTHON has no torch or onnx (Debian: apt-get install python3-torch python3-onnx)"
  exit 0
fi
mkdir -p "$OUT"
start=$(date +%s)
run() { echo "+ $*" >&2; "$@"; }  # the command on stderr, its output where the caller sends it
# verify MODEL.fly against the float MODEL.h5 on the whole test split
verify_all() {
  run "$FLYNET" verify "$1" --data "$DATA" --samples 0 --float "$2" --threads "$THREADS" --json "${1%.fly}.verify.json" | tee "${1%.fly}.verify.txt"
}
# "int8 float" top-1 from verify's line "top-1 / top-5 vs labels: int8 A% / B%, float C% / D%"
top1_of() { sed -n 's/.*vs labels: int8 \([0-9.]*\)% .*float \([0-9.]*\)% .*/\1 \2/p' "${1%.fly}.verify.txt"; }
# calibrate, quantize, export MODEL.h5 -> MODEL.fly
to_fly() {
  m=${1%.h5}
  run "$FLYNET" calibrate "$1" --data "$DATA" --samples "$CAL_SAMPLES" --out "$m.cal.h5" | tail -1
  run "$FLYNET" quantize "$m.cal.h5" --out "$m.q.h5" | tail -1
  run "$FLYNET" export "$m.q.h5" --out "$m.fly"
}

echo "== PyTorch: ResNet-8, $EPOCHS epochs"
run "$PYTHON" "$HERE/import_accuracy.py" "$DATA" "$OUT" --epochs "$EPOCHS" --threads "$THREADS"
mean=$(sed -n 's/^mean //p' "$OUT/pytorch.txt")
std=$(sed -n 's/^std //p' "$OUT/pytorch.txt")
pt=$(sed -n 's/^float_top1 //p' "$OUT/pytorch.txt")

echo "== flynet: import, calibrate, quantize, export, verify"
run "$FLYNET" import "$OUT/resnet8.onnx" --out "$OUT/resnet8.h5" --mean "$mean" --std "$std"
to_fly "$OUT/resnet8.h5"
verify_all "$OUT/resnet8.fly" "$OUT/resnet8.h5"
set -- $(top1_of "$OUT/resnet8.fly")
int8=$1 imported=$2

echo "== flynet: 8-level QAT fine-tune of the imported model, $QAT_EPOCHS epoch(s)"
run "$FLYNET" train --init "$OUT/resnet8.h5" --data "$DATA" --weight-levels 8 --epochs "$QAT_EPOCHS" --lr 0.01 \
  --warmup 0 --batch 128 --weight-decay 1e-4 --label-smoothing 0.1 --seed 1 --threads "$THREADS" --eval-every 0 \
  --checkpoint none --quiet --out "$OUT/resnet8.L8.h5"
to_fly "$OUT/resnet8.L8.h5"
echo "+ $FLYNET info $OUT/resnet8.L8.fly (bits: stored bits per weight)"
"$FLYNET" info "$OUT/resnet8.L8.fly" | sed -n '/^op /,/^$/p'
verify_all "$OUT/resnet8.L8.fly" "$OUT/resnet8.L8.h5"
set -- $(top1_of "$OUT/resnet8.L8.fly")
qat=$1 qat_float=$2

bytes() { wc -c < "$1" | tr -d ' '; }
row() { printf '%-52s %6s %%%s\n' "$1" "$2" "${3:+  $3}"; }
echo
echo "== ResNet-8, Fashion-MNIST, top-1 on the whole test split ($(($(date +%s) - start)) s in all)"
row "PyTorch float ($EPOCHS epochs)" "$pt"
row "flynet float, imported" "$imported"
row "flynet int8, $(bytes "$OUT/resnet8.fly") bytes" "$int8" \
  "$(awk -v a="$int8" -v b="$pt" 'BEGIN { printf "%+.2f pt vs PyTorch float (target: >= -0.50)", a - b }')"
row "flynet 8-level QAT ($QAT_EPOCHS epoch), float activations" "$qat_float"
row "flynet 8-level QAT int8, 3-bit weights, $(bytes "$OUT/resnet8.L8.fly") bytes" "$qat"
