#!/usr/bin/env bash
# The test command of README.md: install, build, run the whole suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps.sh
bash .ci/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 900
