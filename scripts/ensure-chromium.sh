#!/usr/bin/env bash
# The report's browser test drives Debian's Chromium (playwright-core, no browser download).
# Installs it when it is missing and we may (root, apt-get present); otherwise says how.
# Another apt-get or dpkg holding its lock (a CI image's unattended upgrade, a neighbour's
# install) is waited for, up to 10 minutes, instead of failing with apt's exit 100.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the report's browser test" >&2
  apt_wait() {
    local deadline=$((SECONDS + 600)) err
    while :; do
      err=$(mktemp)
      if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@" 2>"$err"; then rm -f "$err"; return 0; fi
      if grep -qiE 'could not get lock|unable to lock|is another process using it' "$err" && [ $SECONDS -lt $deadline ]; then
        echo "apt-get $1: another apt holds its lock; waiting" >&2
        rm -f "$err"
        sleep "${APT_LOCK_RETRY_S:-5}"
        continue
      fi
      cat "$err" >&2
      rm -f "$err"
      return 1
    done
  }
  apt_wait update -qq
  apt_wait install -y -qq chromium >/dev/null
  exit 0
fi
echo "chromium is missing: install Debian's chromium package (apt-get install chromium) for the browser test" >&2
exit 1
