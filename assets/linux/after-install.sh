#!/bin/sh
# Installs the helper at the root-owned path the polkit policy is pinned to, and the policy itself.
# Keeps electron-builder's own chrome-sandbox setup (setuid root) as its default script does.
set -e
APP=/opt/Hindsight
if [ -f "$APP/chrome-sandbox" ]; then
  chown root:root "$APP/chrome-sandbox"
  chmod 4755 "$APP/chrome-sandbox"
fi
install -d -m 0755 /usr/lib/hindsight
install -m 0644 "$APP/resources/app.asar.unpacked/dist/helper.mjs" /usr/lib/hindsight/helper.mjs
if [ -d "$APP/resources/app.asar.unpacked/electron/helper/gjs" ]; then
  install -d -m 0755 /usr/lib/hindsight/gjs
  install -m 0644 "$APP"/resources/app.asar.unpacked/electron/helper/gjs/* /usr/lib/hindsight/gjs/
fi
install -m 0755 "$APP/resources/polkit/hindsight-helper" /usr/lib/hindsight/hindsight-helper
install -D -m 0644 "$APP/resources/polkit/org.hindsight.policy" /usr/share/polkit-1/actions/org.hindsight.policy
ln -sf "$APP/hindsight" /usr/bin/hindsight-app
