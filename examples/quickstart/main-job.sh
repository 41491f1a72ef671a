#!/usr/bin/env bash
# The main job of README.md: install, build, then take FlyNet-h3 0.5x from training to a
# verified int8 model on the default dataset (Fashion-MNIST from Debian's dataset-fashion-mnist),
# ending with the report page out/report.html.
# About 25 minutes on 2 cores; outputs land in ./out (or $FLYNET_OUT).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash .ci/install-deps.sh
bash .ci/build.sh
FLYNET=build/cli/flynet
DATA=${FLYNET_DATA:-/usr/share/datasets/fashion-mnist}
OUT=${FLYNET_OUT:-out}
EPOCHS=${FLYNET_EPOCHS:-7}
mkdir -p "$OUT"
# Passive waiting: spinning OpenMP threads starve the data pipeline on 2 cores.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

# 1. The model, layer by layer: parameters, MAdds, shapes.
"$FLYNET" info --arch flynet-h3 --input 28x28x1 --classes 10 --json > "$OUT/flynet-h3.info.json"
"$FLYNET" info --arch flynet-h3 --input 28x28x1 --classes 10 | tail -8

# 2. Train (7 epochs reach ~92.8% test top-1 in ~22 minutes here).
"$FLYNET" train --data "$DATA" --arch flynet-h3 --width 0.5 --input 28x28x1 --epochs "$EPOCHS" --batch 128 \
  --lr 0.1 --optimizer sgd --weight-decay 1e-4 --warmup 1 --label-smoothing 0.1 --seed 1 --out "$OUT/flynet-h3.h5"

# 3. Calibrate activation ranges on 500 training images.
"$FLYNET" calibrate "$OUT/flynet-h3.h5" --data "$DATA" --samples 500 --method minmax --out "$OUT/flynet-h3.cal.h5" \
  --json "$OUT/calibration.json" | tail -1

# 4. Quantize to int8 and compare float, fake-quant and the integer reference on the test set.
"$FLYNET" quantize "$OUT/flynet-h3.cal.h5" --out "$OUT/flynet-h3.q.h5" --data "$DATA" --samples 0 --no-sim \
  --json "$OUT/quantize.json" | tail -3

# 5. Export the .fly file the microcontroller reads (and its C array), then show where its bytes go.
"$FLYNET" export "$OUT/flynet-h3.q.h5" --out "$OUT/flynet-h3.fly" --c-array "$OUT/flynet_model.h" --host-info
"$FLYNET" info "$OUT/flynet-h3.fly" | tail -13
"$FLYNET" info "$OUT/flynet-h3.fly" --json > "$OUT/flynet-h3.fly.info.json"

# 6. Verify: the file run as the device runs it over the whole test set, beside the float model,
#    as a gate (exit 1 if int8 drops more than 0.5 pt or agrees on fewer than 98.5% of images);
#    then 20 images on an emulated Cortex-M4 when the cross tools are installed.
"$FLYNET" verify "$OUT/flynet-h3.fly" --data "$DATA" --float "$OUT/flynet-h3.h5" --max-drop 0.5 \
  --min-agreement 98.5 --json "$OUT/verify.json" | grep -v '^    '
if command -v arm-none-eabi-gcc > /dev/null && command -v qemu-system-arm > /dev/null; then
  "$FLYNET" verify "$OUT/flynet-h3.fly" --data "$DATA" --float "$OUT/flynet-h3.h5" --samples 20 --sim-samples 0 \
    --target qemu-m4 --profile --json "$OUT/verify-m4.json" | grep -v '^    '
fi

# 7. One page with the charts of every step above: training curves, calibration, accuracy and the
#    confusion matrix, per-layer SQNR, the arena plan and flash, the board's per-op profile.
"$FLYNET" report "$OUT" --out "$OUT/report.html" --title "FlyNet-h3 0.5x on Fashion-MNIST"
