#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian/Ubuntu machine:
# the package with its test extras (pip), headless Chromium, QGIS 3.x and
# PostgreSQL/PostGIS (apt).
# Safe to run twice: it skips what is already there.
set -euo pipefail
PYTHON=${PYTHON:-python3}
cd "$(dirname "$0")/.."

$PYTHON -m pip install --quiet --disable-pip-version-check -e '.[test]'

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
/usr/bin/python3 -c 'import qgis.core' >/dev/null 2>&1 || need+=(python3-qgis qgis-providers)
command -v ogrinfo >/dev/null 2>&1 || need+=(gdal-bin)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
# PostgreSQL + PostGIS server for the PostGIS export test (tests/test_export.py starts a
# throwaway cluster on a Unix socket; no TCP port is opened)
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  || need+=(postgresql)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need+=(postgis)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need+=(fonts-wqy-microhei)  # CJK glyphs in screenshots
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}"
fi

# The vendored Leaflet must equal the npm package pinned in package-lock.json.
if command -v npm >/dev/null 2>&1; then
  npm ci --ignore-scripts --no-audit --no-fund --silent
  $PYTHON scripts/vendor_assets.py --check
fi
