#!/usr/bin/env bash
# CI: the systemd unit under a real systemd (Debian's, booted by ../shared/tools/systemd-sandbox as PID 1
# of private namespaces): install, READY/STATUS, a frame, reloads, the watchdog, stop, a config error,
# PrivateTmp, journal priorities and the exposure score (test/jobs/systemd.job.ts). About a minute.
# Needs root, the Debian package systemd and a mosquitto (both installed by .ci/run), and dist/ built.
# A machine where the sandbox cannot boot at all skips the job saying why; once it has booted, every
# failure is fatal.
set -euo pipefail
cd "$(dirname "$0")/.."
sandbox=${SYSTEMD_SANDBOX:-../shared/tools/systemd-sandbox}
skip() { echo "SKIPPED: the systemd job cannot run here: $*"; exit 0; }
[ -x "$sandbox/up.sh" ] || skip "no systemd sandbox at $sandbox"
[ "$(id -u)" -eq 0 ] || skip "it needs root"
start=$(date +%s)
# Outside /tmp, as the sandbox's README advises.
work=$(mktemp -d /var/tmp/coral-pipe-sds-XXXXXX)
if ! pid=$("$sandbox/up.sh" "$work" 2>"$work.log"); then
  why=$( (tail -n 3 "$work.log" "$work/console.log" 2>/dev/null || true) | tr '\n' ' ')
  rm -rf "$work" "$work.log"
  skip "the sandbox did not boot: $why"
fi
trap '"$sandbox/down.sh" "$pid" "$work"; rm -rf "$work" "$work.log"' EXIT
echo "systemd job: sandbox booted ($(( $(date +%s) - start )) s)"
SYSTEMD_SANDBOX_PID=$pid node --test --test-timeout=300000 dist/test/jobs/systemd.job.js
echo "systemd job: passed in $(( $(date +%s) - start )) s"
