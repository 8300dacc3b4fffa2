#!/usr/bin/env bash
# Quick start 1: set up (if needed) and analyse the sample calls in sample_audio/ offline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV="${CALLREVIEW_VENV:-.venv}"
OUT="${1:-callreview-results}"
"$VENV/bin/callreview" analyze sample_audio/ --out "$OUT"
echo
echo "Open the results: the JSON reports are in $OUT/ (one <call-id>.json per call)."
