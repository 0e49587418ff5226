#!/usr/bin/env bash
# CI: the systemd unit under a real systemd (Debian's, booted by ../shared/tools/systemd-sandbox as PID 1
# of private namespaces): install, READY/STATUS, a frame, reloads, the watchdog, stop, a config error,
# PrivateTmp, journal priorities and the exposure score (test/jobs/systemd.job.ts). About a minute.
# Needs root, the Debian package systemd and a mosquitto (both installed by .ci/run), and dist/ built.
set -euo pipefail
cd "$(dirname "$0")/.."
sandbox=${SYSTEMD_SANDBOX:-../shared/tools/systemd-sandbox}
skip() { echo "SKIPPED: the systemd job cannot run here: $*"; exit 0; }
[ -x "$sandbox/up.sh" ] || skip "no systemd sandbox at $sandbox"
[ "$(id -u)" -eq 0 ] || skip "it needs root"
start=$(date +%s)
node --test --test-timeout=300000 dist/test/jobs/systemd.job.js
echo "systemd job: passed in $(( $(date +%s) - start )) s"
