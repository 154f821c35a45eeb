#!/usr/bin/env bash
# Real libc and loader files for the abi tests, into $OUT/elf/:
#   debian9/    libc-2.24.so, ld-2.24.so from trivy's distroless (Debian 9) image
#   alpine310/  ld-musl-x86_64.so.1 (musl 1.1.22) from trivy's alpine 3.10 image
#   alpine311/  ld-musl-x86_64.so.1 (musl 1.1.24) from trivy's alpine 3.11 image
#   debian12-musl/  libc.so (and VERSION) from Debian 12's `musl` package (musl 1.2.3)
# Idempotent: each directory is skipped when it exists.
set -euo pipefail
out=$(realpath -m "${1:?usage: 31-elf.sh OUTDIR}")/elf
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

trivy_dir() {
  go mod download -json github.com/aquasecurity/trivy@v0.74.0 |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

# from_image TARGZ DEST FILE... : copy FILEs (paths inside the image, as in
# its layer tars) out of a docker-archive, newest layer wins.
from_image() {
  local img=$1 dest=$2; shift 2
  local work=$tmp/$(basename "$img")
  mkdir -p "$work" "$dest.tmp"
  tar -xzf "$img" -C "$work"
  for layer in "$work"/*/layer.tar; do
    for f in "$@"; do
      tar -xf "$layer" -C "$dest.tmp" "$f" "./$f" 2>/dev/null || true
    done
  done
  for f in "$@"; do
    [ -e "$dest.tmp/$f" ] || { echo "31-elf.sh: $f not found in $img" >&2; exit 1; }
    cp "$dest.tmp/$f" "$dest/"
  done
  rm -rf "$dest.tmp"
}

if [ ! -d "$out/debian9" ] || [ ! -d "$out/alpine310" ] || [ ! -d "$out/alpine311" ]; then
  td=$(trivy_dir)/pkg/fanal/test/testdata
  for d in debian9 alpine310 alpine311; do
    [ -d "$out/$d" ] && continue
    mkdir -p "$out/$d.part"
    case $d in
      debian9) from_image "$td/distroless.tar.gz" "$out/$d.part" \
        lib/x86_64-linux-gnu/libc-2.24.so lib/x86_64-linux-gnu/ld-2.24.so ;;
      alpine310) from_image "$td/alpine-310.tar.gz" "$out/$d.part" lib/ld-musl-x86_64.so.1 ;;
      alpine311) from_image "$td/alpine-311.tar.gz" "$out/$d.part" lib/ld-musl-x86_64.so.1 ;;
    esac
    mv "$out/$d.part" "$out/$d"
  done
fi

if [ ! -d "$out/debian12-musl" ]; then
  (cd "$tmp" && apt-get download musl >/dev/null 2>&1)
  deb=$(ls "$tmp"/musl_*.deb)
  dpkg-deb -x "$deb" "$tmp/musl"
  mkdir -p "$out/debian12-musl.part"
  cp "$tmp"/musl/lib/*-linux-musl/libc.so "$out/debian12-musl.part/"
  dpkg-deb -f "$deb" Version >"$out/debian12-musl.part/VERSION"
  mv "$out/debian12-musl.part" "$out/debian12-musl"
fi
