#!/usr/bin/env bash
# Builds $1/wheels: a flat directory of real wheels for the test Python index
# (internal/pyindex serves it as is).
#   - Debian's python3-{pip,setuptools,wheel}-whl from bookworm and trixie:
#     upstream wheels, byte for byte;
#   - wheels repacked (internal/pyindex/cmd/repack) from the python3-* packages
#     of Debian 12 bookworm (older versions, Python 3.11, often egg-info) and
#     Debian 13 trixie (newer, Python 3.13, .dist-info with upstream
#     Requires-Dist). Compiled ones become cp311/cp313 manylinux wheels tagged
#     with the glibc their .so files really need.
# The .debs are fetched with a private apt configuration in a temp dir, so the
# system's apt state is not touched and no root filesystem is built.
# Upload times (file mtimes, which the index reports) are fixed per suite, the
# suite's release day, so lockfiles that record them are reproducible.
# Idempotent: does nothing once $1/wheels/.complete-v2 exists.
set -euo pipefail
out=${1:?usage: 30-wheels.sh OUTDIR}/wheels
[ -e "$out/.complete-v2" ] && exit 0
repo=$(cd "$(dirname "$0")/../.." && pwd)

pkgs=(flask werkzeug jinja2 markupsafe click blinker itsdangerous requests urllib3 idna certifi
  charset-normalizer rich pygments markdown-it mdurl jsonschema jsonschema-specifications referencing
  rpds-py attr pydantic pydantic-core typing-extensions annotated-types six packaging chardet)
whl=(python3-pip-whl python3-setuptools-whl python3-wheel-whl)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
(cd "$repo" && go build -o "$tmp/repack" ./internal/pyindex/cmd/repack)
mkdir -p "$tmp/wheels"

for suite in bookworm trixie; do
  case $suite in bookworm) abi=cp311 released=2023-06-10T12:00:00Z ;; trixie) abi=cp313 released=2025-08-09T12:00:00Z ;; esac
  mkdir -p "$tmp/wheels-$suite"
  a=$tmp/apt-$suite
  mkdir -p "$a/etc/sources.list.d" "$a/etc/preferences.d" "$a/state/lists/partial" "$a/cache/archives/partial" "$a/debs"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$a/etc/sources.list"
  touch "$a/state/status"
  opts=(-o "Dir::Etc=$a/etc" -o "Dir::State=$a/state" -o "Dir::State::status=$a/state/status"
    -o "Dir::Cache=$a/cache" -o APT::Architecture=amd64 -o APT::Sandbox::User=root -qq
    -o Acquire::Languages=none -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
    -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false)
  apt-get "${opts[@]}" update >/dev/null
  echo "wheels: $suite package lists after $((SECONDS - start))s" >&2
  want=("${whl[@]}")
  have=$(apt-cache "${opts[@]}" pkgnames python3-)
  for p in "${pkgs[@]}"; do
    # Not every package exists in every suite (bookworm has no rpds-py, …).
    if grep -qx "python3-$p" <<<"$have"; then want+=("python3-$p"); fi
  done
  (cd "$a/debs" && apt-get "${opts[@]}" download "${want[@]}" >/dev/null)
  for deb in "$a"/debs/*.deb; do
    root=$a/root/$(basename "$deb" .deb)
    mkdir -p "$root"
    dpkg-deb -x "$deb" "$root"
    case $(basename "$deb") in
      python3-*-whl_*) cp "$root"/usr/share/python-wheels/*.whl "$tmp/wheels-$suite/" ;;
      *) "$tmp/repack" -root "$root" -abi "$abi" -out "$tmp/wheels-$suite" >/dev/null ;;
    esac
  done
  touch -d "$released" "$tmp/wheels-$suite"/*.whl
  cp -p "$tmp/wheels-$suite"/*.whl "$tmp/wheels/"
done

# Swap in the new directory in one rename, so tests reading the old one see
# a whole corpus either way.
mkdir -p "$(dirname "$out")"
rm -rf "$out.new" "$out.old"
cp -rp "$tmp/wheels" "$out.new"
touch "$out.new/.complete-v2"
if [ -d "$out" ]; then mv "$out" "$out.old"; fi
mv "$out.new" "$out"
rm -rf "$out.old"
echo "wheels: $(ls "$out"/*.whl | wc -l) files, $(du -sh "$out" | cut -f1) in $out" >&2
