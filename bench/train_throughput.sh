#!/bin/sh
# Training and inference throughput of FlyNet-h3 0.5x (28x28x1, batch 128, 2 threads) in
# flynet and in PyTorch (Debian python3-torch, bench/pytorch_flynet.py: the same layers), and
# the ratios, in one run.
#
#   bench/train_throughput.sh [STEPS]
#
# Env: FLYNET (binary, default build/cli/flynet), THREADS (default 2), BATCH (default 128),
# PYTHON (default /usr/bin/python3, where Debian installs torch).
# Both run with the same thread count; run it on an otherwise idle machine.
set -eu
STEPS=${1:-20}
FLYNET=${FLYNET:-build/cli/flynet}
THREADS=${THREADS:-2}
BATCH=${BATCH:-128}
HERE=$(cd "$(dirname "$0")" && pwd)
# Debian's python3-torch belongs to the system interpreter, not to a pyenv/venv python3.
PYTHON=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}
[ -x "$FLYNET" ] || { echo "no flynet binary at $FLYNET (build first or set FLYNET)" >&2; exit 1; }
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  echo "PyTorch is missing: install it with  apt-get install -y python3-torch  (Debian package)" >&2
  exit 1
fi

fly=$(OMP_NUM_THREADS=$THREADS "$FLYNET" train --benchmark "$STEPS" --threads "$THREADS" --batch "$BATCH" \
  --arch flynet-h3 --width 0.5 --input 28x28x1 --classes 10)
pt=$(OMP_NUM_THREADS=$THREADS "$PYTHON" "$HERE/pytorch_flynet.py" --steps "$STEPS" --threads "$THREADS" --batch "$BATCH")
echo "$fly" | sed 's/^/flynet  /'
echo "$pt" | sed 's/^/pytorch /'
ft=$(echo "$fly" | sed -n 's/^train_img_per_s: //p'); fi_=$(echo "$fly" | sed -n 's/^infer_img_per_s: //p')
pt_t=$(echo "$pt" | sed -n 's/^train_img_per_s: //p'); pt_i=$(echo "$pt" | sed -n 's/^infer_img_per_s: //p')
awk -v a="$ft" -v b="$pt_t" -v c="$fi_" -v d="$pt_i" 'BEGIN {
  printf "training:  flynet %.1f img/s, pytorch %.1f img/s, ratio %.2fx (target >= 1.5x)\n", a, b, a / b
  printf "inference: flynet %.1f img/s, pytorch %.1f img/s, ratio %.2fx (target >= 1.5x)\n", c, d, c / d }'
