#!/usr/bin/env bash
# Real images, rpmdbs and os-release files shipped as test data of pinned Go
# modules, fetched with `go mod download` (into the module cache; nothing is
# committed) and laid out at stable paths under $OUT (see testdata/FIXTURES.md):
#   $OUT/images/*.tar            docker-archives (trivy, go-containerregistry)
#   $OUT/images/hello-world-oci/ the same hello-world rewritten as an OCI layout
#   $OUT/rpmdb/NAME/...          go-rpmdb's real rpm databases + expected lists
#   $OUT/images/rpmdb-NAME/      OCI layout: one layer with that rpmdb at its usual path
#   $OUT/os-release/DISTRO/...   syft's os-release files of 22 distributions
# Idempotent: each output is skipped when it exists.
set -euo pipefail
out=$(realpath -m "${1:?usage: 10-modules.sh OUTDIR}")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
mkdir -p "$out/images" "$out/rpmdb" "$out/bin"
nomod=$(mktemp -d)
trap 'rm -rf "$nomod"' EXIT

# moddir MOD@VERSION prints the module's directory in the module cache.
moddir() {
  local json dir
  # Outside any module, so the repository's go.mod and go.sum stay untouched.
  json=$(cd "$nomod" && go mod download -json "$1") || { echo "go mod download $1 failed" >&2; return 1; }
  dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -d "$dir" ] || { echo "go mod download $1: no Dir in: $json" >&2; return 1; }
  printf '%s\n' "$dir"
}

# put SRC DST copies SRC (decompressing a .gz into a plain DST) unless DST exists.
put() {
  local src=$1 dst=$2
  [ -e "$dst" ] && return 0
  [ -e "$src" ] || { echo "10-modules: missing $src" >&2; return 1; }
  if head -c 200 "$src" | grep -q 'git-lfs.github.com/spec'; then
    echo "10-modules: $src is a Git LFS pointer, not the file" >&2; return 1
  fi
  case "$src:$dst" in
    *.gz:*.gz) cp "$src" "$dst.tmp" ;;
    *.gz:*) gzip -dc "$src" >"$dst.tmp" ;;
    *) cp "$src" "$dst.tmp" ;;
  esac
  chmod u+w "$dst.tmp"
  mv "$dst.tmp" "$dst"
}

trivy=$(moddir github.com/aquasecurity/trivy@v0.74.0)
ggcr=$(moddir github.com/google/go-containerregistry@v0.22.1)
rpmdb=$(moddir github.com/knqyf263/go-rpmdb@v0.1.1)
syft=$(moddir github.com/anchore/syft@v1.57.1)

# trivy: docker-archives (gzip-compressed in the module; kept both ways).
t=$trivy/pkg/fanal/test/testdata
put "$t/alpine-310.tar.gz" "$out/images/alpine-3.10.tar"
put "$t/alpine-310.tar.gz" "$out/images/alpine-3.10.tar.gz"
put "$t/alpine-311.tar.gz" "$out/images/alpine-3.11.tar"
put "$t/distroless.tar.gz" "$out/images/distroless-debian9.tar"
put "$t/distroless.tar.gz" "$out/images/distroless-debian9.tar.gz"
put "$t/image1.tar" "$out/images/opq.tar"

# go-containerregistry: hello-world as saved by Docker 25 (a docker-archive
# that is also an OCI layout), and the whiteout images of mutate's tests.
put "$ggcr/pkg/v1/tarball/testdata/hello-world-v25.tar" "$out/images/hello-world.tar"
put "$ggcr/pkg/v1/mutate/testdata/whiteout_image.tar" "$out/images/ggcr-whiteout.tar"
put "$ggcr/pkg/v1/mutate/testdata/whiteout_dir.tar" "$out/images/ggcr-whiteout-dir.tar"
put "$ggcr/pkg/v1/mutate/testdata/overwritten_file.tar" "$out/images/ggcr-overwritten-file.tar"

# syft: os-release files, one directory per distribution.
if [ ! -e "$out/os-release/.complete" ]; then
  rm -rf "$out/os-release"
  cp -r "$syft/syft/linux/testdata/os" "$out/os-release"
  chmod -R u+w "$out/os-release"
  touch "$out/os-release/.complete"
fi

# go-rpmdb: the databases and the Go files holding the expected package lists.
for d in "$rpmdb"/pkg/testdata/*/; do
  name=$(basename "$d")
  mkdir -p "$out/rpmdb/$name"
  for f in "$d"*; do put "$f" "$out/rpmdb/$name/$(basename "$f")"; done
done
put "$rpmdb/pkg/rpmdb_testcase_test.go" "$out/rpmdb/rpmdb_testcase_test.go"
put "$rpmdb/pkg/rpmdb_test.go" "$out/rpmdb/rpmdb_test.go"

(cd "$repo" && go build -o "$out/bin/mkimage" ./internal/imagebuild/cmd/mkimage)
# hello-world-v25.tar's own index.json lists no manifest (Docker 25 wrote it so):
# rewrite the image as an OCI layout (go-containerregistry gzips the layer).
if [ ! -e "$out/images/hello-world-oci/index.json" ]; then
  "$out/bin/mkimage" -convert "$out/images/hello-world.tar" -oci "$out/images/hello-world-oci" >/dev/null
fi

# One image per rpmdb, the database at the path its distribution uses.
rpmpath() {
  case $1 in
    sle15-bci) echo usr/lib/sysimage/rpm/Packages.db ;;      # SUSE: ndb under /usr/lib/sysimage
    fedora35-plus-mongo) echo usr/lib/sysimage/rpm/rpmdb.sqlite ;; # the Fedora 36+ path
    fedora35 | cbl-mariner-2.0) echo var/lib/rpm/rpmdb.sqlite ;;
    *) echo var/lib/rpm/Packages ;;                          # Berkeley DB
  esac
}
for d in "$out"/rpmdb/*/; do
  name=$(basename "$d")
  img=$out/images/rpmdb-$name
  [ -e "$img/index.json" ] && continue
  db=$(ls "$d" | head -n1)
  dst=$(rpmpath "$name")
  extra=""
  if [ "$name" = sle15-bci ]; then
    # SLE keeps /var/lib/rpm as a link to the sysimage directory.
    extra=', {"path": "var/lib/rpm", "symlink": "../../usr/lib/sysimage/rpm"}'
  fi
  cat >"$out/images/rpmdb-$name.plan.json" <<JSON
{
  "config": {"env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
             "labels": {"org.opencontainers.image.source": "github.com/knqyf263/go-rpmdb@v0.1.1 pkg/testdata/$name"}},
  "layers": [{"comment": "rpmdb $name at /$dst",
              "entries": [{"path": "$dst", "from": "$d$db"}$extra]}],
  "oci": "$img", "tag": "latest"
}
JSON
  "$out/bin/mkimage" -plan "$out/images/rpmdb-$name.plan.json" >/dev/null
  rm -f "$out/images/rpmdb-$name.plan.json"
done
echo "10-modules: $(du -sh "$out/images" | cut -f1) images, $(ls -d "$out"/images/rpmdb-*/ | wc -l) rpmdb images" >&2
