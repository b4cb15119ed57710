#!/usr/bin/env bash
# Installs (from Debian, as root) the Chromium that test/observability/dashboard.test.ts
# drives through playwright-core, plus fonts for its screenshots. Never downloads
# a browser from anywhere else. Idempotent and quiet: does nothing when all is
# there already.
set -euo pipefail

packages=(
  chromium            # /usr/bin/chromium
  fonts-liberation    # metric-compatible sans/serif/mono: readable screenshots
  fonts-dejavu-core
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ "${#missing[@]}" -eq 0 ] && [ -x /usr/bin/chromium ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "install-browser: needs Debian/Ubuntu apt-get to install: ${missing[*]:-chromium}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Skip the index refresh when .ci/run (or anyone) refreshed it in the last hour.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -60 -print -quit 2>/dev/null)" ]; then
  apt-get update -qq
fi
apt-get install -y -qq --no-install-recommends "${missing[@]:-chromium}" >/dev/null
/usr/bin/chromium --version >/dev/null 2>&1
