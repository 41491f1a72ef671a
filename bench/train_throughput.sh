#!/bin/sh
# Training and inference throughput of FlyNet-h3 0.5x (28x28x1, batch 128, 2 threads) in
# flynet and in PyTorch (Debian python3-torch, bench/pytorch_flynet.py: the same layers), and
# the ratios, in one run.
#
#   bench/train_throughput.sh [STEPS]
#
# Env: FLYNET (binary, default build/cli/flynet), THREADS (default 2), BATCH (default 128),
# REPS (default 3),
# PYTHON (default /usr/bin/python3, where Debian installs torch).
# Both run with the same thread count; run it on an otherwise idle machine (the load average
# is printed before and after). PyTorch's figure is the best of its four formulations
# (`pytorch_flynet.py --check` shows they are the same model).
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

# Alternate the two REPS times and keep each one's best figure, so a burst of other load on
# a shared machine does not decide the ratio.
REPS=${REPS:-3}
echo "load before: $(uptime)"
ft=0; fi_=0; pt_t=0; pt_i=0
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
r=0
while [ "$r" -lt "$REPS" ]; do
  fly=$(OMP_NUM_THREADS=$THREADS "$FLYNET" train --benchmark "$STEPS" --threads "$THREADS" --batch "$BATCH" \
    --arch flynet-h3 --width 0.5 --input 28x28x1 --classes 10)
  pt=$(OMP_NUM_THREADS=$THREADS "$PYTHON" "$HERE/pytorch_flynet.py" --steps "$STEPS" --threads "$THREADS" --batch "$BATCH")
  echo "$fly" | grep img_per_s | sed "s/^/run $r flynet  /"
  echo "$pt" | grep -E 'img_per_s|img/s' | sed "s/^/run $r pytorch /"
  ft=$(max "$ft" "$(echo "$fly" | sed -n 's/^train_img_per_s: //p')")
  fi_=$(max "$fi_" "$(echo "$fly" | sed -n 's/^infer_img_per_s: //p')")
  pt_t=$(max "$pt_t" "$(echo "$pt" | sed -n 's/^train_img_per_s: //p')")
  pt_i=$(max "$pt_i" "$(echo "$pt" | sed -n 's/^infer_img_per_s: //p')")
  r=$((r + 1))
done
echo "load after: $(uptime)"
echo "$pt" | grep '^torch'
echo "best of $REPS, batch $BATCH, $THREADS threads, OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-default}:"
awk -v a="$ft" -v b="$pt_t" -v c="$fi_" -v d="$pt_i" 'BEGIN {
  printf "training:  flynet %.1f img/s, pytorch %.1f img/s, ratio %.2fx (target >= 1.5x)\n", a, b, a / b
  printf "inference: flynet %.1f img/s, pytorch %.1f img/s, ratio %.2fx (target >= 1.5x)\n", c, d, c / d }'
