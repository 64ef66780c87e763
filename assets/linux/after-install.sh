#!/bin/sh
# Installs the helper at the root-owned path the polkit policy is pinned to, and the policy itself.
# Keeps electron-builder's own chrome-sandbox setup (setuid root) as its default script does.
# electron-builder expands $ followed by a braced word in this file as its own macro: none here.
set -e
# A folder to install into instead of / (electron/main/packaging.test.ts); dpkg and rpm set none.
root=${HINDSIGHT_INSTALL_ROOT:-}
APP=$root/opt/Hindsight
LIB=$root/usr/lib/hindsight
if [ -f "$APP/chrome-sandbox" ]; then
  chown root:root "$APP/chrome-sandbox"
  chmod 4755 "$APP/chrome-sandbox"
fi
# resources/helper holds the helper as .ci/helper-tree.mjs assembled it: the launcher, the bundled
# helper, and better-sqlite3 built for Node.js (the app's own copy is rebuilt for Electron's ABI,
# which node cannot load).
install -d -m 0755 "$LIB"
install -m 0755 "$APP/resources/helper/hindsight-helper" "$LIB/hindsight-helper"
install -m 0644 "$APP/resources/helper/helper.mjs" "$LIB/helper.mjs"
rm -rf "$LIB/node_modules"
cp -R "$APP/resources/helper/node_modules" "$LIB/node_modules"
chown -R root:root "$LIB/node_modules"
chmod -R u=rwX,go=rX "$LIB/node_modules"
install -D -m 0644 "$APP/resources/polkit/org.hindsight.policy" "$root/usr/share/polkit-1/actions/org.hindsight.policy"
mkdir -p "$root/usr/bin"
ln -sf /opt/Hindsight/hindsight "$root/usr/bin/hindsight-app"
