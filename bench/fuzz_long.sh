#!/usr/bin/env bash
# Long libFuzzer runs of the reader targets (tests/fuzz), from the sanitizer build:
#   bash .ci/build-asan.sh
#   nice -n 10 bash bench/fuzz_long.sh [RUNS] [TARGET...]     # RUNS default 10000000
# Each target starts from its committed seeds plus what earlier runs found
# (build-asan/fuzz-long/<target>/), runs until RUNS executions or FUZZ_SECONDS (default 7200)
# or its first finding, and prints one line: executions, seconds, executions/s, findings.
# A finding (crash, sanitizer report, leak, timeout, out-of-memory) is saved as
# build-asan/fuzz-long/<target>-crash-*/-leak-*/... and the script exits 1 at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fly_c fly_cpp h5_model h5_dataset idx cifar image_folder onnx)
bin=build-asan/tests/fuzz
out=build-asan/fuzz-long
mkdir -p "$out"
status=0
printf '%-13s %12s %8s %9s %s\n' target executions seconds "exec/s" findings
for t in "${targets[@]}"; do
  [[ -x $bin/${t}_fuzz ]] || { echo "$t: $bin/${t}_fuzz not built (bash .ci/build-asan.sh)"; status=1; continue; }
  mkdir -p "$out/$t"
  log=$out/$t.log
  start=$(date +%s)
  # The memory options of tests/fuzz/CMakeLists.txt (FLYNET_FUZZ_FLAGS, FLYNET_FUZZ_ENV), which say why.
  ASAN_OPTIONS=allocator_may_return_null=1:hard_rss_limit_mb=2048:detect_leaks=1:suppressions=$PWD/tests/fuzz/asan.supp \
  LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp \
    "$bin/${t}_fuzz" -runs="$runs" -max_total_time="${FUZZ_SECONDS:-7200}" \
    -rss_limit_mb=0 -timeout=20 -print_final_stats=1 -artifact_prefix="$out/$t-" \
    "$out/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  execs=${execs:-0}
  findings=$(ls "$out/$t"-* 2>/dev/null | wc -l)
  ((rc == 0)) || status=1
  printf '%-13s %12s %8s %9s %s\n' "$t" "$execs" "$secs" "$(( execs / (secs > 0 ? secs : 1) ))" \
    "$findings$( ((rc == 0)) || echo " (exit $rc, see $log)")"
done
exit $status
