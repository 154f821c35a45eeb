#!/usr/bin/env bash
# Benchmark of issue 2: `seshat analyze` on a ~1 GB (uncompressed) OCI layout
# against (a) the floor, decompressing every layer blob once with `gzip -dc`,
# and (b) `syft scan` of the same layout. Repetitions are interleaved (a, b,
# c, a, b, c, ...) after one warm-up round, so every tool reads a warm page
# cache; medians of wall time and peak RSS (/usr/bin/time -v) are printed as
# a Markdown table.
#
#   bash bench/run.sh            # build what is missing, then measure
#   BENCH_REPS=7 bash bench/run.sh
#   SESHAT_BIN=/path/to/seshat bash bench/run.sh   # measure a given build
#   BENCH_WARMUP=0 ...                             # skip the warm-up round
#   BENCH_SKIP_SYFT=1 ...                          # leave syft out
#
# Everything built is cached under $SESHAT_FIXTURES/bench (default
# testdata/cache/bench): the mmdebstrap root, the OCI layout, syft's CLI.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
fixtures=$(realpath -m "${SESHAT_FIXTURES:-$repo/testdata/cache}")
cache=$fixtures/bench
reps=${BENCH_REPS:-5}
mirror=${SESHAT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
mkdir -p "$cache"
log() { echo "bench: $*" >&2; }

# Real packages: Debian 12 with Python and its scientific stack, a compiler
# toolchain and LLVM. The root is 1.4 GB; the image leaves out what slim
# images leave out (docs, man pages, locales as debian:*-slim's dpkg
# path-excludes, and __pycache__ as the official python images), ~1.1 GB.
pkgs=python3,python3-pip,python3-venv,python3-dev,python3-numpy,python3-scipy,python3-pandas,python3-matplotlib,python3-sklearn,python3-requests,gcc,g++,libllvm15
root=$cache/rootfs
img=$cache/oci

if [ ! -e "$root.complete" ]; then
  rm -rf "$root" "$root.tmp"
  start=$(date +%s)
  log "mmdebstrap bookworm with $pkgs"
  mmdebstrap --mode=root --variant=minbase --quiet --include="$pkgs" bookworm "$root.tmp" "$mirror"
  mv "$root.tmp" "$root"
  touch "$root.complete"
  log "mmdebstrap took $(( $(date +%s) - start ))s, $(du -sh "$root" | cut -f1)"
fi

if [ ! -e "$img/index.json" ]; then
  (cd "$repo" && go build -o "$fixtures/bin/mkimage" ./internal/imagebuild/cmd/mkimage)
  start=$(date +%s)
  cat >"$cache/plan.json" <<JSON
{
  "config": {"env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
             "cmd": ["/usr/bin/python3"]},
  "layers": [{"comment": "mmdebstrap --variant=minbase --include=$pkgs bookworm; slimmed",
              "root": "$root", "split": 6,
              "exclude": ["usr/share/doc", "usr/share/man", "usr/share/locale", "usr/share/info"],
              "excludeNames": ["__pycache__"]}],
  "oci": "$img", "tag": "latest", "report": "$cache/report.json"
}
JSON
  "$fixtures/bin/mkimage" -plan "$cache/plan.json" -tmp "$cache/.blobs" >/dev/null
  log "mkimage took $(( $(date +%s) - start ))s"
fi

syft=$cache/gobin/syft
if [ ! -x "$syft" ]; then
  start=$(date +%s)
  log "go install github.com/anchore/syft/cmd/syft@v1.57.1"
  GOBIN=$cache/gobin go install github.com/anchore/syft/cmd/syft@v1.57.1
  log "syft build took $(( $(date +%s) - start ))s"
fi

# SESHAT_BIN names a seshat binary to measure instead of building one.
seshat=${SESHAT_BIN:-$cache/seshat}
have_seshat=1
if [ -z "${SESHAT_BIN:-}" ] && ! (cd "$repo" && CGO_ENABLED=0 go build -o "$seshat" ./cmd/seshat); then
  log "go build ./cmd/seshat failed: its row is left out"
  have_seshat=0
elif ! "$seshat" analyze --help >/dev/null 2>&1; then
  log "seshat has no working analyze command yet: its row is left out"
  have_seshat=0
fi

# Image facts.
manifest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"].split(":")[1])' "$img/index.json")
mapfile -t blobs < <(python3 -c 'import json,sys; [print(l["digest"].split(":")[1]) for l in json.load(open(sys.argv[1]))["layers"]]' "$img/blobs/sha256/$manifest")
compressed=0
for b in "${blobs[@]}"; do compressed=$(( compressed + $(stat -c %s "$img/blobs/sha256/$b") )); done
uncompressed=0
for b in "${blobs[@]}"; do uncompressed=$(( uncompressed + $(gzip -dc "$img/blobs/sha256/$b" | wc -c) )); done
files=$(for b in "${blobs[@]}"; do gzip -dc "$img/blobs/sha256/$b" | tar -t; done | grep -vc "/$")

floor() { for b in "${blobs[@]}"; do gzip -dc "$img/blobs/sha256/$b" >/dev/null; done; }
export -f floor
export img
blobs_str="${blobs[*]}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# run NAME CMD... runs CMD under /usr/bin/time -v and appends "wall rss_kb".
run() {
  local name=$1; shift
  if ! /usr/bin/time -v -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err"; then
    log "$name failed:"; tail -5 "$tmp/err" >&2; cat "$tmp/time" >&2; return 1
  fi
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; w=s}
              /Maximum resident set size/ {r=$2} END {print w, r}' "$tmp/time" >>"$tmp/$name"
}
floor_cmd=(bash -c 'for b in '"$blobs_str"'; do gzip -dc "'"$img"'/blobs/sha256/$b" >/dev/null; done')
seshat_cmd=("$seshat" analyze "oci:$img" --no-cache -o /dev/null)
syft_cmd=(env SYFT_CHECK_FOR_APP_UPDATE=false "$syft" scan "oci-dir:$img" -q -o "syft-json=$tmp/syft.json")

if [ "${BENCH_WARMUP:-1}" = 1 ]; then
  log "warm-up round"
  run warm-floor "${floor_cmd[@]}"
  [ $have_seshat = 1 ] && run warm-seshat "${seshat_cmd[@]}"
  [ "${BENCH_SKIP_SYFT:-0}" = 1 ] || run warm-syft "${syft_cmd[@]}"
fi
for i in $(seq "$reps"); do
  log "round $i of $reps"
  run floor "${floor_cmd[@]}"
  [ $have_seshat = 1 ] && run seshat "${seshat_cmd[@]}"
  [ "${BENCH_SKIP_SYFT:-0}" = 1 ] || run syft "${syft_cmd[@]}"
done

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
fw=$(cut -d' ' -f1 "$tmp/floor" | median)
row() {
  local name=$1 label=$2
  [ -s "$tmp/$name" ] || return 0
  local w r lo hi
  w=$(cut -d' ' -f1 "$tmp/$name" | median)
  lo=$(cut -d' ' -f1 "$tmp/$name" | sort -n | head -1)
  hi=$(cut -d' ' -f1 "$tmp/$name" | sort -n | tail -1)
  r=$(cut -d' ' -f2 "$tmp/$name" | median)
  awk -v l="$label" -v w="$w" -v lo="$lo" -v hi="$hi" -v r="$r" -v f="$fw" \
    'BEGIN {printf "| %s | %.2f | %.2f–%.2f | %.2f× | %.0f |\n", l, w, lo, hi, w/f, r/1024}'
}
echo
echo "Image: $img — ${#blobs[@]} gzip layers, $(awk -v b=$uncompressed 'BEGIN{printf "%.0f", b/1e6}') MB uncompressed," \
  "$(awk -v b=$compressed 'BEGIN{printf "%.0f", b/1e6}') MB compressed, $files files and links; $reps interleaved runs$([ "${BENCH_WARMUP:-1}" = 1 ] && echo " after a warm-up round"), $(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)."
echo
echo "| command | median wall s | range s | × floor | peak RSS MB |"
echo "| --- | ---: | ---: | ---: | ---: |"
row floor '(a) floor: `gzip -dc` every layer blob'
row seshat '`seshat analyze oci:… --no-cache -o /dev/null`'
row syft '(b) `syft scan oci-dir:…` (v1.57.1)'
if [ -s "$tmp/seshat" ] && [ -s "$tmp/syft" ]; then
  sw=$(cut -d' ' -f1 "$tmp/seshat" | median); yw=$(cut -d' ' -f1 "$tmp/syft" | median)
  echo
  awk -v s="$sw" -v y="$yw" -v f="$fw" 'BEGIN {printf "seshat / floor = %.2f (target ≤ 1.25); syft / seshat = %.1f (target ≥ 5)\n", s/f, y/s}'
fi
