#!/bin/bash
# Quick start: install what is missing, build, put the commands on PATH, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install.sh
exec mosix-demo
