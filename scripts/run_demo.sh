#!/usr/bin/env bash
# Quick start 1: set up (if needed), analyse the sample calls in sample_audio/ offline into a
# batch folder with its catalog, print each call's summary, and say how to open the results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV="${CALLREVIEW_VENV:-.venv}"
OUT="${1:-callreview-results}"
"$VENV/bin/callreview" batch sample_audio/ --out "$OUT" --workers "${CALLREVIEW_WORKERS:-1}"
"$VENV/bin/callreview" show "$OUT"
cat <<MSG
Results: $OUT/<call-id>.json (one report per call) and $OUT/catalog.sqlite.
Open them in the dashboard:   $VENV/bin/callreview dashboard $OUT    (then http://127.0.0.1:8501)
MSG
