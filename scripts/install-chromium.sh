#!/usr/bin/env bash
# Installs Debian's Chromium when it is missing. Never downloads a browser of its own.
exec "$(dirname "$0")/install-debian.sh" chromium
