#!/usr/bin/env bash
# Quick start 2: set up (if needed) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
VENV="${CALLREVIEW_VENV:-.venv}"
exec "$VENV/bin/python" -m pytest "$@"
