#!/bin/sh
# Removes what after-install.sh put outside the app folder.
rm -rf /usr/lib/hindsight
rm -f /usr/share/polkit-1/actions/org.hindsight.policy /usr/bin/hindsight-app
