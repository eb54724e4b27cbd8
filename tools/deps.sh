#!/bin/bash
# Installs the Debian 12 packages the build and the tests need, if any is missing. Root only.
set -euo pipefail
PACKAGES=(bazel-bootstrap bazel-platforms bazel-skylib libgrpc++-dev prometheus-cpp-dev protobuf-compiler-grpc libprotobuf-dev
          protobuf-compiler libabsl-dev catch2 libunwind-dev libssl-dev g++ python3 perl procps util-linux bsdutils)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "deps: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
