#!/bin/sh
# Data-parallel training throughput on one machine (issue 18): FlyNet-h3 0.5x on Fashion-MNIST
# at a global batch of 128, as 1 process x 2 threads (batch 128) against 2 MPI ranks x 1 thread
# (batch 64 each), and 2 ranks with the gradient sum overlapped with backward (buckets of
# 1 MiB, 256 KiB) or after it (--allreduce-bucket 0). Training images/s of the first epoch's
# STEPS steps, from the metrics log (evaluation excluded). Target: 2 ranks >= 0.9x 1 process.
#
#   bench/mpi_throughput.sh [STEPS]
#
# Env: FLYNET (binary, default build/cli/flynet), DATA (default /usr/share/datasets/fashion-mnist),
# MPIRUN (default mpirun). Run it on an otherwise idle machine (nice it on a shared one).
set -eu
STEPS=${1:-100}
FLYNET=${FLYNET:-build/cli/flynet}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
MPIRUN=${MPIRUN:-mpirun}
[ -x "$FLYNET" ] || { echo "no flynet binary at $FLYNET (build first or set FLYNET)" >&2; exit 1; }
[ -e "$DATA" ] || { echo "no data set at $DATA (set DATA)" >&2; exit 1; }
command -v "$MPIRUN" >/dev/null || { echo "no $MPIRUN: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# mpirun refuses root unless told (containers, CI).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

common="--data $DATA --arch flynet-h3 --max-steps $STEPS --eval-every 0 --bn-recal 0 --checkpoint none --quiet"
rate() { sed -n 's/.*"images_per_s":\([0-9.e+]*\).*/\1/p' "$1" | head -1; }

"$FLYNET" train $common --batch 128 --threads 2 --out "$TMP/one.h5" --metrics "$TMP/one.jsonl" >/dev/null
one=$(rate "$TMP/one.jsonl")
echo "1 process x 2 threads, batch 128:            $one img/s"
for kib in 1024 256 0; do
  "$MPIRUN" -np 2 --bind-to core "$FLYNET" train $common --batch 64 --threads 1 --allreduce-bucket $kib \
    --out "$TMP/two.h5" --metrics "$TMP/two.jsonl" >/dev/null
  two=$(rate "$TMP/two.jsonl")
  awk -v a="$two" -v b="$one" -v k="$kib" \
    'BEGIN { printf "2 ranks x 1 thread, batch 64 each, bucket %4d KiB: %s img/s (%.2fx)\n", k, a, a / b }'
done
