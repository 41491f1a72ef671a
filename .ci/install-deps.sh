#!/usr/bin/env bash
# Installs what flynet needs from Debian 12 packages (as root), skipping apt when all are present.
set -euo pipefail
PKGS=(build-essential cmake pkg-config
      libdnnl-dev ocl-icd-opencl-dev libtbb-dev libhdf5-dev libcli11-dev libgtest-dev nlohmann-json3-dev
      zlib1g-dev libjpeg-dev libpng-dev libprotobuf-dev libonnx-dev python3-torch
      libopenmpi-dev openmpi-bin
      dataset-fashion-mnist
      gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
      chromium clang-14 libclang-rt-14-dev libomp-14-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
