#!/usr/bin/env bash
# The main job of README.md: install, build, then run flynet on the default model and dataset
# (FlyNet-h3 0.5x, Fashion-MNIST from Debian's dataset-fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/install-deps.sh
bash .ci/build.sh
FLYNET=build/cli/flynet
OUT=${FLYNET_OUT:-out}
mkdir -p "$OUT"

# 1. The model: FlyNet-h3 0.5x for 28x28x1 Fashion-MNIST, layer by layer.
"$FLYNET" info --arch flynet-h3 --input 28x28x1 --classes 10
"$FLYNET" info --arch flynet-h3 --input 28x28x1 --classes 10 --json > "$OUT/flynet-h3.info.json"
echo "wrote $OUT/flynet-h3.info.json"
