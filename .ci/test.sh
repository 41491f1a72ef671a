#!/usr/bin/env bash
# The test command of README.md: install, build, run the whole suite through ctest; then the
# same suite (and 20 s of each libFuzzer target) in the sanitizer build, build-asan (clang,
# ASan+UBSan, FLYNET_FUZZ=ON; no Cortex-M firmware there: qemu runs the Arm build, not the host's).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps.sh
bash .ci/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900
bash .ci/build-asan.sh
# halt_on_error: the first report fails the test. detect_leaks stays on (libFuzzer and the suite
# run leak-clean). oneDNN's JIT runs unchanged under ASan (its generated code is not instrumented).
ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$(nproc)" --timeout 900 -E "${FLYNET_ASAN_EXCLUDE:-^$}"
