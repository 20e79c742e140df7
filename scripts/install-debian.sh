#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are missing (by the command each
# provides: "chromium" or "redis-server"), with one `apt-get update` first. Never downloads
# anything but Debian's packages.
set -euo pipefail
missing=()
for package in "$@"; do
  command -v "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
