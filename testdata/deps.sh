#!/usr/bin/env bash
# Installs the Debian packages the tests use, when they are missing.
set -euo pipefail
pkgs=(docker-registry mmdebstrap pipenv python3-pip-whl python3-setuptools-whl python3-wheel-whl binutils zstd openssl apache2-utils python3-packaging time python3-venv libpython3.11-dev python3-yaml buildah runc)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
