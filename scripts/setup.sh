#!/usr/bin/env bash
# Set up dialogkit in ./.venv: CPU torch first (a bare torch requirement would pull a multi-GB
# CUDA build), then dialogkit with every extra. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[all]"
# Headless Chromium for the HTML report's browser test (Debian package; the test skips without it).
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: chromium could not be installed; the browser test will be skipped" >&2
fi
echo "dialogkit is installed in .venv: run .venv/bin/dialogkit --help"
