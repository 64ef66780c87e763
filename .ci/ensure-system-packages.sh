#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real (ostree, rpm, dpkg, pacman with makepkg,
# Chromium, gjs with libostree's typelib), when running as root and they are missing. Prints what
# it does.
set -euo pipefail

need=()
vm=()
have() { command -v "$1" >/dev/null 2>&1; }
have ostree || need+=(ostree)
have rpm || need+=(rpm)
have rpmbuild || need+=(rpm)
have dpkg-query || need+=(dpkg)
# pacman's database and version order: makepkg builds real packages (and has vercmp), pacman
# installs them; makepkg packs with bsdtar and drops to fakeroot.
have pacman || need+=(pacman-package-manager)
have makepkg || need+=(makepkg)
have vercmp || need+=(makepkg)
have bsdtar || need+=(libarchive-tools)
have fakeroot || need+=(fakeroot)
have setpriv || need+=(util-linux)
have chromium || need+=(chromium)
have gjs || need+=(gjs)
[ -e /usr/lib/x86_64-linux-gnu/girepository-1.0/OSTree-1.0.typelib ] || ls /usr/lib/*/girepository-1.0/OSTree-1.0.typelib >/dev/null 2>&1 || need+=(gir1.2-ostree-1.0)
have chattr || need+=(e2fsprogs)
have python3 || need+=(python3)
# Snapper roots on loop-backed btrfs (electron/core/fixtures/snapper-root.ts).
have btrfs || need+=(btrfs-progs)
have snapper || need+=(snapper)
# The booted-VM scenarios (npm run test:vm): a Debian guest built with debootstrap, booted by QEMU
# through extlinux. Skipped on purpose with HINDSIGHT_SKIP_VM=1.
if [ "${HINDSIGHT_SKIP_VM:-}" != 1 ]; then
  have qemu-system-x86_64 || vm+=(qemu-system-x86)
  have qemu-img || vm+=(qemu-utils)
  have debootstrap || vm+=(debootstrap)
  have extlinux || vm+=(extlinux)
  have sfdisk || vm+=(fdisk)
  [ -e /usr/lib/syslinux/mbr/mbr.bin ] || [ -e /usr/lib/EXTLINUX/mbr.bin ] || vm+=(syslinux-common)
fi

if [ ${#need[@]} -eq 0 ] && [ ${#vm[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${need[*]} ${vm[*]}. Install them with: sudo apt-get install -y ${need[*]} ${vm[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${need[*]} ${vm[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then
  # shellcheck disable=SC2207
  need=($(printf '%s\n' "${need[@]}" | sort -u))
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# No recommends for the VM tools: qemu-system-x86 would bring a desktop stack the tests never use.
if [ ${#vm[@]} -gt 0 ]; then
  apt-get install -y -qq --no-install-recommends "${vm[@]}" >/dev/null
fi
