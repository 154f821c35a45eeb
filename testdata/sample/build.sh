#!/usr/bin/env bash
# Builds testdata/sample/oci: the small image `make demo` analyzes, committed
# so the demo needs no network. Every file is real, copied byte for byte from
# the Debian 12 root of testdata/fixtures.d/11-debian.sh, except the CUDA
# files, written in NVIDIA's published formats (CUDA has no offline source).
#
#   bash testdata/fixtures.d/11-debian.sh testdata/cache   # the Debian root
#   bash testdata/sample/build.sh                          # rewrites oci/ and expected.json
#
# Layers (bottom first):
#   1. base: /etc/os-release -> ../usr/lib/os-release, /etc/debian_version,
#      /lib -> usr/lib, libz and libffi (real ELF with GLIBC_ version needs),
#      /var/lib/dpkg/status cut to the stanzas of the packages present
#   2. python and CUDA: dist-packages metadata of requests (egg-info),
#      charset_normalizer and chardet (dist-info); /usr/local/cuda ->
#      cuda-12.4 with version.json, /usr/include/cudnn_version.h
#   3. `dpkg --purge python3-chardet` as a layer: a whiteout of chardet's
#      dist-info and a replaced dpkg status without its stanza
# Deterministic: same inputs, same digests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixtures=$(realpath -m "${SESHAT_FIXTURES:-$repo/testdata/cache}")
deb=$fixtures/rootfs/debian12
[ -d "$deb/var/lib/dpkg" ] || { echo "missing $deb: run testdata/fixtures.d/11-debian.sh $fixtures first" >&2; exit 1; }
export SOURCE_DATE_EPOCH=1700000000
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# status PKG... prints the real dpkg stanzas of those packages.
status() {
  python3 - "$deb/var/lib/dpkg/status" "$@" <<'PY'
import sys
want = sys.argv[2:]
blocks = {}
for b in open(sys.argv[1], encoding="utf-8").read().split("\n\n"):
    for line in b.splitlines():
        if line.startswith("Package: "):
            blocks[line[9:].strip()] = b.strip("\n")
missing = [p for p in want if p not in blocks]
if missing:
    sys.exit("not in the Debian root's status: %s" % " ".join(missing))
print("\n\n".join(blocks[p] for p in want))
PY
}

base=$stage/base
py=$stage/py
mkdir -p "$base/etc" "$base/usr/lib/x86_64-linux-gnu" "$base/var/lib/dpkg" "$py/usr/lib/python3/dist-packages" \
  "$py/usr/local/cuda-12.4" "$py/usr/include" "$stage/purge"
cp -a "$deb/etc/os-release" "$deb/etc/debian_version" "$base/etc/"
cp -a "$deb/usr/lib/os-release" "$base/usr/lib/"
cp -a "$deb/lib" "$base/lib"
for f in libz.so.1 libz.so.1.2.13 libffi.so.8 libffi.so.8.1.2; do
  cp -a "$deb/usr/lib/x86_64-linux-gnu/$f" "$base/usr/lib/x86_64-linux-gnu/"
done
status base-files zlib1g libffi8 python3-requests python3-charset-normalizer python3-chardet >"$base/var/lib/dpkg/status"
status base-files zlib1g libffi8 python3-requests python3-charset-normalizer >"$stage/purge/status"
for d in requests-2.28.1.egg-info charset_normalizer-3.0.1.dist-info chardet-5.1.0.dist-info; do
  cp -a "$deb/usr/lib/python3/dist-packages/$d" "$py/usr/lib/python3/dist-packages/"
done
ln -s cuda-12.4 "$py/usr/local/cuda"
cat >"$py/usr/local/cuda-12.4/version.json" <<'JSON'
{
   "cuda" : {
      "name" : "CUDA SDK",
      "version" : "12.4.1"
   },
   "cuda_cccl" : {
      "name" : "CUDA C++ Core Compute Libraries",
      "version" : "12.4.127"
   },
   "cuda_cudart" : {
      "name" : "CUDA Runtime (cudart)",
      "version" : "12.4.127"
   },
   "cuda_nvcc" : {
      "name" : "CUDA NVCC",
      "version" : "12.4.131"
   },
   "cuda_nvrtc" : {
      "name" : "CUDA NVRTC",
      "version" : "12.4.127"
   },
   "libcublas" : {
      "name" : "CUDA cuBLAS",
      "version" : "12.4.5.8"
   },
   "nvidia_driver" : {
      "name" : "NVIDIA Linux Driver",
      "version" : "550.54.15"
   }
}
JSON
cat >"$py/usr/include/cudnn_version.h" <<'H'
/*
 * Copyright 2014-2024 NVIDIA Corporation.  All rights reserved.
 */

/**
 * \file: The master cuDNN version file.
 */

#ifndef CUDNN_VERSION_H_
#define CUDNN_VERSION_H_

#define CUDNN_MAJOR 9
#define CUDNN_MINOR 1
#define CUDNN_PATCHLEVEL 0

#define CUDNN_VERSION (CUDNN_MAJOR * 10000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL)

/* cannot use constexpr here since this is a C-only file */
/* Below is the max SM version this cuDNN library is aware of and supports natively */

#define CUDNN_MAX_SM_MAJOR_NUMBER 9
#define CUDNN_MAX_SM_MINOR_NUMBER 0
#define CUDNN_MAX_DEVICE_VERSION (CUDNN_MAX_SM_MAJOR_NUMBER * 100 + CUDNN_MAX_SM_MINOR_NUMBER * 10)

#endif /* CUDNN_VERSION_H */
H

cat >"$stage/plan.json" <<JSON
{
  "config": {
    "env": ["PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "CUDA_VERSION=12.4.1", "NVIDIA_REQUIRE_CUDA=cuda>=12.4",
            "LD_LIBRARY_PATH=/usr/local/nvidia/lib:/usr/local/nvidia/lib64", "LANG=C.UTF-8"],
    "labels": {"org.opencontainers.image.title": "seshat sample",
               "org.opencontainers.image.description": "real Debian 12 files; CUDA files in NVIDIA's formats"},
    "cmd": ["/bin/sh"]
  },
  "layers": [
    {"comment": "Debian 12 base files, libz, libffi, dpkg status", "root": "$base",
     "paths": ["etc", "lib", "usr", "var"]},
    {"comment": "python3-requests, python3-charset-normalizer, python3-chardet metadata; CUDA 12.4.1, cuDNN 9.1.0", "root": "$py",
     "paths": ["usr"]},
    {"comment": "dpkg --purge python3-chardet", "root": "$base",
     "entries": [{"whiteout": "usr/lib/python3/dist-packages/chardet-5.1.0.dist-info"},
                 {"path": "var/lib/dpkg/status", "from": "$stage/purge/status"}]}
  ],
  "oci": "$here/oci", "tag": "latest", "report": "$stage/report.json"
}
JSON
(cd "$repo" && go run ./internal/imagebuild/cmd/mkimage -plan "$stage/plan.json" -tmp "$stage/blobs")
python3 - "$stage/report.json" >"$here/expected.json" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
json.dump({
    "digest": rep["digest"],
    "layers": [{k: l[k] for k in ("digest", "size", "mediaType")} for l in rep["layers"]],
    "os": {"id": "debian", "versionId": "12", "name": "Debian GNU/Linux",
           "prettyName": "Debian GNU/Linux 12 (bookworm)", "idLike": []},
    "debPackages": ["base-files", "libffi8", "python3-charset-normalizer", "python3-requests", "zlib1g"],
    "pythonDistributions": {"requests": "2.28.1", "charset-normalizer": "3.0.1"},
    "removedByWhiteout": ["/usr/lib/python3/dist-packages/chardet-5.1.0.dist-info"],
    "libraries": {"/usr/lib/x86_64-linux-gnu/libz.so.1.2.13": "libz.so.1",
                  "/usr/lib/x86_64-linux-gnu/libffi.so.8.1.2": "libffi.so.8"},
    "cuda": {"version": "12.4.1", "source": "/usr/local/cuda/version.json",
             "cudnnVersion": "9.1.0", "cudnnSource": "/usr/include/cudnn_version.h"},
}, sys.stdout, indent=2)
print()
PY
echo "sample: $(du -sh "$here/oci" | cut -f1) in $here/oci" >&2
