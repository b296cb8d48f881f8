#!/usr/bin/env bash
# Install what the tests need (Python packages and Debian's Chromium for the browser tests), then run them.
# Usage: bash scripts/test.sh [pytest args...]     e.g. -m "not slow and not browser" for the quick subset
set -euo pipefail
cd "$(dirname "$0")/.."
echo "[test.sh] installing Python packages (requirements-dev.txt; the first time takes a minute or two)..."
python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "[test.sh] installing EMS Studio itself (editable, no dependencies)..."
python -m pip install --quiet --disable-pip-version-check --no-deps -e . >/dev/null
if ! command -v chromium >/dev/null 2>&1; then
  echo "[test.sh] installing Debian's chromium for the browser tests..."
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
echo "[test.sh] running the tests..."
export HF_HUB_OFFLINE=1
exec python -m pytest "$@"
