#!/usr/bin/env bash
# Debian 12 (bookworm) fixture from Debian's own packages (glibc 2.36,
# Python 3.11, pip, requests, flask, and a venv at /opt/app-root):
#   $OUT/rootfs/debian12        mmdebstrap's root, as installed (for dir:)
#   $OUT/rootfs/debian12-slim   that root after one build step run in its chroot:
#                               `apt-get purge python3-flask`, docs but copyright
#                               removed, apt lists dropped. It is exactly the
#                               merged view of the image below.
#   $OUT/images/debian12/       OCI layout: debian12 (less the venv) in 4 layers,
#                               + the build step as a layer (whiteouts, replaced
#                               files, /usr/share/doc opaque), + the venv layer
#   $OUT/images/debian12.tar    the same image as a docker-archive
#   $OUT/images/debian12.expected.json  facts tests compare against
# Idempotent: each output is skipped when it exists.
set -euo pipefail
out=$(realpath -m "${1:?usage: 11-debian.sh OUTDIR}")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
root=$out/rootfs/debian12
slim=$out/rootfs/debian12-slim
img=$out/images/debian12
mirror=${SESHAT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
mkdir -p "$out/rootfs" "$out/images" "$out/bin"

if [ ! -e "$root.complete" ]; then
  rm -rf "$root" "$root.tmp"
  start=$(date +%s)
  # --mode=root: we are root. The venv is made in the chroot by Debian's own
  # `python3 -m venv` (pip and setuptools from python3-pip-whl and
  # python3-setuptools-whl), then wheel is installed into it from
  # python3-wheel-whl, offline.
  mmdebstrap --mode=root --variant=minbase --quiet \
    --include=python3,python3-pip,python3-venv,python3-requests,python3-flask,python3-wheel-whl \
    --customize-hook='chroot "$1" python3 -m venv /opt/app-root' \
    --customize-hook='chroot "$1" sh -c "/opt/app-root/bin/pip install --no-index --no-deps --disable-pip-version-check -q /usr/share/python-wheels/wheel-*.whl"' \
    --customize-hook='rm -rf "$1"/opt/app-root/lib/python3*/site-packages/__pycache__ "$1"/root/.cache' \
    bookworm "$root.tmp" "$mirror"
  mv "$root.tmp" "$root"
  touch "$root.complete"
  echo "11-debian: mmdebstrap took $(( $(date +%s) - start ))s, $(du -sh "$root" | cut -f1)" >&2
fi

if [ ! -e "$slim.complete" ]; then
  rm -rf "$slim" "$slim.tmp"
  cp -a "$root" "$slim.tmp"
  # The build step, run by Debian's own tools in the chroot.
  chroot "$slim.tmp" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q python3-flask >/dev/null
  find "$slim.tmp/usr/share/doc" -type f ! -name copyright -delete
  rm -rf "$slim.tmp"/var/lib/apt/lists/* "$slim.tmp"/var/cache/apt/*.bin
  mv "$slim.tmp" "$slim"
  touch "$slim.complete"
fi

if [ ! -e "$img/index.json" ] || [ ! -e "$img.tar" ] || [ ! -e "$img.expected.json" ]; then
  (cd "$repo" && go build -o "$out/bin/mkimage" ./internal/imagebuild/cmd/mkimage)
  start=$(date +%s)
  cat >"$img.plan.json" <<JSON
{
  "config": {
    "env": ["PATH=/opt/app-root/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C.UTF-8", "VIRTUAL_ENV=/opt/app-root"],
    "labels": {"org.opencontainers.image.title": "seshat debian12 fixture",
               "org.opencontainers.image.base.name": "debian:bookworm"},
    "workingDir": "/opt/app-root",
    "cmd": ["/usr/bin/python3"]
  },
  "layers": [
    {"comment": "mmdebstrap --variant=minbase --include=python3,python3-pip,python3-venv,python3-requests,python3-flask,python3-wheel-whl bookworm",
     "root": "$root", "split": 4, "exclude": ["opt/app-root"]},
    {"comment": "apt-get purge python3-flask; find /usr/share/doc -type f ! -name copyright -delete; rm -rf /var/lib/apt/lists/*",
     "root": "$slim", "lower": "$root", "exclude": ["opt/app-root"], "opaque": ["usr/share/doc"]},
    {"comment": "python3 -m venv /opt/app-root; pip install wheel",
     "root": "$slim", "paths": ["opt/app-root"]}
  ],
  "oci": "$img", "tag": "latest",
  "dockerArchive": "$img.tar", "ref": "seshat.test/debian12:latest",
  "report": "$img.report.json"
}
JSON
  "$out/bin/mkimage" -plan "$img.plan.json" -tmp "$out/images/.debian12.blobs" >/dev/null
  python3 - "$root" "$slim" "$img.report.json" >"$img.expected.json.tmp" <<'PY'
import glob, json, os, re, sys
root, slim, report = sys.argv[1:4]

def stanzas(path):
    text = open(path, encoding="utf-8").read()
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Package"):
            yield fields

def installed(r):
    out = {}
    for s in stanzas(os.path.join(r, "var/lib/dpkg/status")):
        if s.get("Status", "").endswith(" installed"):
            out[s["Package"]] = s
    return out

def debversion(v):
    epoch = None
    if ":" in v:
        e, v = v.split(":", 1)
        epoch = int(e)
    upstream, release = v, ""
    if "-" in v:
        upstream, release = v.rsplit("-", 1)
    return epoch, upstream, release

def osrelease(r):
    p = os.path.join(r, "etc/os-release")
    if not os.path.exists(p):
        p = os.path.join(r, "usr/lib/os-release")
    kv = {}
    for line in open(os.path.realpath(p) if not os.path.islink(p) else os.path.join(r, "usr/lib/os-release")):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            kv[k] = v.strip('"')
    return {"id": kv.get("ID", ""), "versionId": kv.get("VERSION_ID", ""), "name": kv.get("NAME", ""),
            "prettyName": kv.get("PRETTY_NAME", ""), "idLike": kv.get("ID_LIKE", "").split() }

def headers(path):
    kv = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        if not line.strip():
            break
        if ":" in line and line[:1] not in (" ", "\t"):
            k, v = line.split(":", 1)
            kv.setdefault(k.strip(), v.strip())
    return kv

def dists(r, rel):
    out = []
    for p in sorted(glob.glob(os.path.join(r, rel, "*.dist-info")) + glob.glob(os.path.join(r, rel, "*.egg-info"))):
        meta = os.path.join(p, "METADATA") if p.endswith(".dist-info") else (os.path.join(p, "PKG-INFO") if os.path.isdir(p) else p)
        h = headers(meta)
        installer = ""
        inst = os.path.join(p, "INSTALLER")
        if os.path.isfile(inst):
            installer = open(inst).read().strip()
        out.append({"name": h.get("Name", ""), "version": h.get("Version", ""), "installer": installer,
                    "location": "/" + os.path.relpath(p, r)})
    return out

pk_root, pk_slim = installed(root), installed(slim)
packages = []
for name in sorted(pk_slim):
    s = pk_slim[name]
    epoch, upstream, release = debversion(s["Version"])
    packages.append({"type": "deb", "name": name, "version": upstream, "release": release, "epoch": epoch,
                     "arch": s.get("Architecture", ""), "source": s.get("Source", name).split(" ")[0],
                     "debVersion": s["Version"]})
libc = os.path.realpath(os.path.join(slim, "lib/x86_64-linux-gnu/libc.so.6"))
py = pk_slim["python3.11"]
rep = json.load(open(report))
diff = rep["layers"][4]
venv_cfg = open(os.path.join(slim, "opt/app-root/pyvenv.cfg")).read()
expected = {
    "comment": "Facts of images/debian12 (OCI) and images/debian12.tar, read from the roots by 11-debian.sh; "
               "rootfs/debian12-slim is the image's merged view, rootfs/debian12 the root before the purge layer.",
    "image": {"digest": rep["digest"], "tag": "latest", "ref": "seshat.test/debian12:latest",
              "layers": rep["layers"],
              "config": {"env": ["PATH=/opt/app-root/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                 "LANG=C.UTF-8", "VIRTUAL_ENV=/opt/app-root"],
                         "workingDir": "/opt/app-root", "cmd": ["/usr/bin/python3"]}},
    "os": osrelease(slim),
    "packages": packages,
    "packagesBeforePurge": len(pk_root),
    "removedPackages": sorted(set(pk_root) - set(pk_slim)),
    "whiteouts": diff.get("whiteouts", []),
    "opaque": diff.get("opaque", []),
    "replaced": diff.get("replaced", []),
    "libc": {"family": "glibc", "version": debversion(pk_slim["libc6"]["Version"])[1],
             "path": "/" + os.path.relpath(libc, slim)},
    "python": {
        "interpreter": {"path": "/usr/bin/python3.11", "links": ["/usr/bin/python3"],
                        "version": debversion(py["Version"])[1], "implementation": "cpython",
                        "soabi": "cpython-311-x86_64-linux-gnu", "abiFlags": "", "prefix": "/usr"},
        "environments": [
            {"path": "/usr/lib/python3/dist-packages", "interpreter": "/usr/bin/python3.11",
             "distributions": dists(slim, "usr/lib/python3/dist-packages")},
            {"path": "/opt/app-root", "interpreter": "/usr/bin/python3.11",
             "pyvenvCfg": venv_cfg, "sitePackages": "/opt/app-root/lib/python3.11/site-packages",
             "distributions": dists(slim, "opt/app-root/lib/python3.11/site-packages")},
        ],
        "removedDistributions": sorted({d["name"] for d in dists(root, "usr/lib/python3/dist-packages")}
                                       - {d["name"] for d in dists(slim, "usr/lib/python3/dist-packages")}),
    },
}
json.dump(expected, sys.stdout, indent=2)
print()
PY
  mv "$img.expected.json.tmp" "$img.expected.json"
  rm -f "$img.plan.json"
  echo "11-debian: images took $(( $(date +%s) - start ))s: $(du -sh "$img" | cut -f1) OCI, $(du -sh "$img.tar" | cut -f1) docker-archive" >&2
fi
