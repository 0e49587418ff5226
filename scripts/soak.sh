#!/usr/bin/env bash
# Soak test on a device: the daemon serving 4 overloaded cameras for DURATION, with its memory and logs
# checked at the end (test/e2e/soak.test.ts, which CI runs for 60 s). Needs a source checkout with its dev
# dependencies, mosquitto, and the test data (CORAL_TEST_DATA or ../shared/testdata).
#   scripts/soak.sh 8h                 # also 3600, 3600s, 90m
#   CORAL_PIPE_SOAK_MODEL=models/mobilenet_v1_0.25_128_quant.tflite scripts/soak.sh 1h
set -euo pipefail

usage() {
  echo "usage: scripts/soak.sh [DURATION]   (seconds, or with s/m/h: 3600, 90m, 8h; default 1h)" >&2
  exit 2
}

duration=${1:-1h}
[[ $# -le 1 ]] || usage
if [[ $duration =~ ^([0-9]+)(s|m|h)?$ ]]; then
  case ${BASH_REMATCH[2]} in
    h) seconds=$((BASH_REMATCH[1] * 3600)) ;;
    m) seconds=$((BASH_REMATCH[1] * 60)) ;;
    *) seconds=${BASH_REMATCH[1]} ;;
  esac
else
  usage
fi
if ((seconds < 8)); then
  echo "scripts/soak.sh: DURATION must be at least 8 seconds, not \"$duration\"" >&2
  exit 2
fi

cd "$(dirname "$0")/.."
npx tsc -p .
echo "soak: ${seconds} s (ends about $(date -d "+${seconds} seconds" '+%F %T' 2>/dev/null || echo "in ${seconds} s"))"
CORAL_PIPE_SOAK_SECONDS=$seconds exec node --test --test-reporter=spec dist/test/e2e/soak.test.js
