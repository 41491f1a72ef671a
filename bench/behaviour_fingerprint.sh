#!/usr/bin/env bash
# Behaviour fingerprint: a short train -> calibrate -> quantize -> export -> info -> verify run on
# Fashion-MNIST (float, 8-level QAT, single rounding, equalize + bias correction) whose outputs are
# hashed. Two builds that print the same fingerprint computed the same bytes, codes and figures:
# this is how a refactoring proves "behaviour unchanged" (about 4 minutes on 2 cores).
#
#   bash bench/behaviour_fingerprint.sh build/cli/flynet /tmp/fp-new > new.txt
#   diff old.txt new.txt
#
# Timings and paths are stripped from the JSON before hashing; everything else counts.
set -euo pipefail
FLYNET=$(realpath "${1:?usage: behaviour_fingerprint.sh FLYNET OUTDIR}")
OUT=${2:?usage: behaviour_fingerprint.sh FLYNET OUTDIR}
DATA=${FLYNET_DATA:-/usr/share/datasets/fashion-mnist}
mkdir -p "$OUT"
cd "$OUT"
# FP_HASH_ONLY=1 hashes an earlier run's outputs again (after a change to the rules below).
if [ -z "${FP_HASH_ONLY:-}" ]; then
rm -f ./*.h5 ./*.fly ./*.h ./*.json ./*.txt ./*.jsonl
export OMP_WAIT_POLICY=passive
F() { "$FLYNET" "$@"; }

F info --arch flynet-h3 --input 28x28x1 --classes 10 --json > arch.info.json
F train --data "$DATA" --arch flynet-h3 --width 0.5 --epochs 1 --max-steps 40 --batch 64 --seed 3 \
  --threads 2 --bn-recal 5 --out m.h5 --quiet --checkpoint none --metrics m.metrics.jsonl > train.txt
F train --data "$DATA" --init m.h5 --weight-levels 8 --act-bits 8 --fold-bn-after 0 --epochs 1 --max-steps 15 \
  --batch 64 --seed 4 --threads 2 --bn-recal 5 --out q8.h5 --quiet --checkpoint none --metrics none > train-q8.txt
F info m.h5 --json > m.info.json
F calibrate m.h5 --data "$DATA" --samples 200 --method minmax --out m.cal.h5 --json cal.json > cal.txt
F calibrate m.h5 --data "$DATA" --samples 200 --method percentile --out m.pcal.h5 --json pcal.json > pcal.txt
F calibrate q8.h5 --data "$DATA" --samples 200 --method mse --out q8.cal.h5 --json q8cal.json > q8cal.txt
F quantize m.cal.h5 --out m.q.h5 --data "$DATA" --samples 500 --threads 2 --json q.json > q.txt
F quantize m.pcal.h5 --out m.s.q.h5 --rounding single --data "$DATA" --samples 300 --no-sim --json qs.json > qs.txt
F quantize m.cal.h5 --out m.eb.q.h5 --equalize --bias-correction --cal-samples 100 --data "$DATA" \
  --samples 300 --no-sim --json qeb.json > qeb.txt
F quantize q8.cal.h5 --out q8.q.h5 --data "$DATA" --samples 300 --json q8q.json > q8q.txt
for m in m m.s m.eb q8; do
  F export "$m.q.h5" --out "$m.fly" --c-array "$m.fly.h" --host-info > "export-$m.txt"
  F info "$m.fly" --json > "$m.fly.info.json"
  F info "$m.q.h5" --json > "$m.q.info.json"
done
F verify m.fly --data "$DATA" --samples 500 --float m.h5 --threads 2 --json verify.json > verify.txt
F verify q8.fly --data "$DATA" --samples 300 --float q8.h5 --threads 2 --json verify-q8.json > verify-q8.txt
F verify m.s.fly --data "$DATA" --samples 100 --threads 1 --dump dump --dump-images 2 --json verify-s.json > verify-s.txt
fi

# Strip what legitimately varies (times, rates, absolute paths) and hash the rest. JSON numbers
# are rounded to 9 significant digits: the float model's per-layer SQNR sums in a thread-dependent
# order and differs from run to run of one binary in the 13th digit.
norm() {
  case "$1" in
    *.json|*.jsonl) python3 -c '
import json, sys
def r(x):
    if isinstance(x, float): return float("%.9g" % x)
    if isinstance(x, dict): return {k: r(v) for k, v in x.items()}
    if isinstance(x, list): return [r(v) for v in x]
    return x
for line in open(sys.argv[1]).read().split("\n") if sys.argv[1].endswith("l") else [open(sys.argv[1]).read()]:
    if line.strip(): print(json.dumps(r(json.loads(line)), sort_keys=True))
' "$1" ;;
    *) cat "$1" ;;
  esac | sed -E -e 's/"[a-z_]*(seconds|time|_s|_ms|per_s|img_s|images_per_s|elapsed)[a-z_]*": *[-0-9.e+]+/"T": 0/g' \
         -e "s#$PWD#OUT#g" -e 's/[0-9]+:[0-9][0-9]/M:SS/g' -e 's/[0-9.]+ ?(s|ms|img\/s|MB\/s|GMAC\/s)\b/TIME/g'
}
for f in $(ls | sort); do
  [ -f "$f" ] || continue
  case "$f" in
    *.json|*.jsonl|*.txt) echo "$(norm "$f" | sha256sum | cut -c1-16)  $f" ;;
    *.h5) command -v h5dump >/dev/null || continue; echo "$(h5dump -A 0 "$f" 2>/dev/null | sha256sum | cut -c1-16)  $f (data)" ;;
    *) echo "$(sha256sum < "$f" | cut -c1-16)  $f" ;;
  esac
done
if [ -d dump ]; then echo "$(cat dump/* | sha256sum | cut -c1-16)  dump/"; fi
