#!/bin/sh
# Removes what after-install.sh put outside the app folder, unless this is an upgrade: rpm runs the
# old package's script (with 1, the copies left) after the new one's after-install.sh.
# HINDSIGHT_INSTALL_ROOT: as in after-install.sh.
set -e
case ${1:-} in
  1 | upgrade | failed-upgrade) exit 0 ;;
esac
root=${HINDSIGHT_INSTALL_ROOT:-}
rm -rf "$root/usr/lib/hindsight"
rm -f "$root/usr/share/polkit-1/actions/org.hindsight.policy" "$root/usr/bin/hindsight-app"
