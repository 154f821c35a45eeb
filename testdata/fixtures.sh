#!/usr/bin/env bash
# Builds every test input from real material into $1 (default testdata/cache).
# Each step is idempotent: it skips work whose output already exists.
set -euo pipefail
out=${1:-$(dirname "$0")/cache}
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
for step in "$here"/fixtures.d/*.sh; do
  [ -e "$step" ] || continue
  echo "fixtures: $(basename "$step")" >&2
  bash "$step" "$out"
done
