#!/usr/bin/env bash
# Configures and builds the sanitizer build in ./build-asan: clang-14, AddressSanitizer and
# UndefinedBehaviorSanitizer on every host library and test, the libFuzzer targets of tests/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=clang-14 CXX=clang++-14 cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFLYNET_FUZZ=ON \
  -DFLYREF_MPS2_BOARDS=
cmake --build build-asan -j"$(nproc)"
