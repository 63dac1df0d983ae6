#!/usr/bin/env bash
# Install what the tests need (only what is missing) and run the whole test suite.
# Usage: bash scripts/run-tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
# tests/test_wheel.py installs the wheel into a fresh virtual environment (Debian's Python
# keeps venv and ensurepip in a package of their own)
python -c "import ensurepip, venv" >/dev/null 2>&1 || need+=(python3-venv)
if ! { command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi "wenquanyi\|wqy"; }; then
  need+=(fonts-wqy-microhei)
fi
# Carlito has Calibri's metrics: LibreOffice prints the sheets as Excel lays them out
# (tests/test_print.py)
if ! { command -v fc-list >/dev/null 2>&1 && fc-list | grep -qi "carlito"; }; then
  need+=(fonts-crosextra-carlito)
fi
# The team ledger's tests start a PostgreSQL server of their own (tests/pg_server.py)
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  need+=(postgresql)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi

python -m pip install -q --disable-pip-version-check -e '.[test]'
python -m ruff check xlsales tests
python -m pytest "$@"
