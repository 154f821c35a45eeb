#!/usr/bin/env bash
# Benchmark of issue 4: `seshat advise` against pip's resolver
# (`pip install --dry-run --ignore-installed --only-binary=:all:
# --python-version 3.11 --platform <each tag> --target …`) on the same local
# PEP 691 index (internal/pyindex over the real wheel corpus) over loopback,
# for the same requirement sets, with a cold and a warm HTTP cache. Both are
# whole processes; the index server counts the HTTP requests of each run.
#
#   bash bench/advise.sh              # 3 repetitions per case
#   BENCH_REPS=5 bash bench/advise.sh
#
# Prints a Markdown table (mean wall time per resolution, requests per
# resolution, pip/seshat ratio) for BENCHMARKS.md, section "advise".
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
reps=${BENCH_REPS:-3}
cd "$repo"
export SESHAT_FIXTURES=${SESHAT_FIXTURES:-$repo/testdata/cache}
export PIP_NO_INPUT=1
mkdir -p bin
go build -o bin/seshat ./cmd/seshat
export SESHAT_BIN=$repo/bin/seshat
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test ./advise -run '^$' -bench 'BenchmarkAdvise|BenchmarkResolve' -benchtime "${reps}x" -timeout 60m | tee "$out" >&2

awk '
/^BenchmarkAdvise\// {
  split($1, p, "/"); set = p[2]; tool = p[3]; mode = p[4]; sub(/-[0-9]+$/, "", mode)
  gsub(/_/, " ", set)
  t[set, tool, mode] = $3 / 1e6; r[set, tool, mode] = $5
  if (!(set in seen)) { seen[set] = 1; order[++n] = set }
}
/^BenchmarkResolve/ { lib = $3 / 1e6; libr = $5 }
END {
  print "| requirement set | cache | seshat (ms) | pip (ms) | pip / seshat | seshat requests | pip requests |"
  print "|---|---|---:|---:|---:|---:|---:|"
  for (i = 1; i <= n; i++) {
    s = order[i]
    for (m = 1; m <= 2; m++) {
      mode = (m == 1) ? "cold" : "warm"
      printf "| %s | %s | %.0f | %.0f | %.1f× | %d | %d |\n", s, mode, t[s, "seshat", mode], t[s, "pip", mode], t[s, "pip", mode] / t[s, "seshat", mode], r[s, "seshat", mode], r[s, "pip", mode]
    }
  }
  printf "\nLibrary alone (advise.Resolve, largest cp311 graph, warm cache, no process start): %.1f ms, %d requests.\n", lib, libr
}' "$out"
