#!/usr/bin/env bash
# Prints those of the given Debian packages that are not installed, one per line.
# (`dpkg -s` alone succeeds for a removed package whose configuration files remain.)
set -euo pipefail
for package in "$@"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || echo "$package"
done
