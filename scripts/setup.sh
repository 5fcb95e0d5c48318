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
echo "dialogkit is installed in .venv: run .venv/bin/dialogkit --help"
