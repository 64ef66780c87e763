#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real (ostree, rpm, dpkg, Chromium, gjs with
# libostree's typelib), when running as root and they are missing. Prints what it does.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ostree || need+=(ostree)
have rpm || need+=(rpm)
have rpmbuild || need+=(rpm)
have dpkg-query || need+=(dpkg)
have chromium || need+=(chromium)
have gjs || need+=(gjs)
[ -e /usr/lib/x86_64-linux-gnu/girepository-1.0/OSTree-1.0.typelib ] || ls /usr/lib/*/girepository-1.0/OSTree-1.0.typelib >/dev/null 2>&1 || need+=(gir1.2-ostree-1.0)
have chattr || need+=(e2fsprogs)
have python3 || need+=(python3)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
# shellcheck disable=SC2207
need=($(printf '%s\n' "${need[@]}" | sort -u))
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${need[*]}. Install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
