#!/usr/bin/env bash
# Configures and builds flynet in ./build (Release, warnings as errors).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFLYNET_WERROR=ON
cmake --build build -j"$(nproc)"
