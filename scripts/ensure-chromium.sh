#!/usr/bin/env bash
# The report's browser test drives Debian's Chromium (playwright-core, no browser download).
# Installs it when it is missing and we may (root, apt-get present); otherwise says how.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the report's browser test" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "chromium is missing: install Debian's chromium package (apt-get install chromium) for the browser test" >&2
exit 1
