#!/bin/bash
# Builds and installs the commands: mosixd, mosrun, migrate, mosctl, mosps, mosmon into PREFIX/bin (default
# /usr/local), the shim into PREFIX/lib/mosix, the demo programs into PREFIX/lib/mosix/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
tools/deps.sh
bazel build //agent:mosixd //agent:mosix-stub //cli:mosrun //cli:migrate //cli:mosctl //interceptor:libmosix.so \
  //cli:mosps //cli:mosmon //test/programs:counter
install -d "$PREFIX/bin" "$PREFIX/lib/mosix/demo"
install -m 0755 bazel-bin/agent/mosixd bazel-bin/agent/mosix-stub bazel-bin/cli/mosrun bazel-bin/cli/migrate bazel-bin/cli/mosctl bazel-bin/cli/mosps bazel-bin/cli/mosmon "$PREFIX/bin/"
install -m 0644 bazel-bin/interceptor/libmosix.so "$PREFIX/lib/mosix/"
install -m 0755 bazel-bin/test/programs/counter "$PREFIX/lib/mosix/demo/"
install -m 0755 tools/demo.sh "$PREFIX/bin/mosix-demo"
echo "installed mosixd mosrun migrate mosctl mosps mosmon mosix-demo in $PREFIX/bin"
