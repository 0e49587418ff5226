#!/usr/bin/env bash
# Installs coral-pipe on a Debian-based device: the npm package, the `coral-pipe` system user (groups
# plugdev and apex), udev rules, the systemd unit and a default config. Safe to run again: it only
# changes what is missing or different, and never overwrites an edited config.
#
# usage: sudo scripts/install.sh [PACKAGE]
#   PACKAGE  what `npm install -g` installs; default: this checkout (packed), or `coral-pipe` from the registry.
# DESTDIR=/some/root scripts/install.sh  installs only the files, under that root, and skips users,
#   npm, udevadm and systemctl (for packaging and tests).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
DESTDIR="${DESTDIR:-}"
system=true
[ -n "$DESTDIR" ] && system=false
user=coral-pipe
conf_dir="$DESTDIR/etc/coral-pipe"

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

# Copies $1 to $2 with mode $3 unless an identical file is already there.
put() {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then return 0; fi
  install -D -m "$3" "$1" "$2"
  say "installed $2"
}

for f in systemd/coral-pipe.service systemd/60-coral-pipe.rules config/coral-pipe.yaml config/coral-pipe.schema.json; do
  [ -f "$here/$f" ] || die "missing $here/$f: run this from a coral-pipe checkout or package"
done

if $system; then
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo $0)"
  command -v node >/dev/null || die "Node.js 20 or newer is needed: https://nodejs.org or the NodeSource Debian packages"
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || die "Node.js $(node -v) is too old; 20 or newer is needed"

  package="${1:-}"
  if [ -z "$package" ]; then
    if [ -f "$here/package.json" ] && [ -d "$here/src" ]; then
      tmp="$(mktemp -d)"
      trap 'rm -rf "$tmp"' EXIT
      (cd "$here" && npm pack --silent --pack-destination "$tmp" >/dev/null)
      package="$(ls "$tmp"/coral-pipe-*.tgz)"
    else
      package=coral-pipe
    fi
  fi
  # The package's install script fetches the TensorFlow Lite C library and builds the native addon,
  # without which the unit (Type=notify) never becomes ready. npm 11 runs install scripts of global
  # packages only when allowed by name (it warns today and will refuse later), so allow this one.
  allow=()
  [ "$(npm config get allow-scripts 2>/dev/null)" != undefined ] && allow=(--allow-scripts="$package")
  say "npm install -g $package"
  npm install -g --omit=dev --no-audit --no-fund "${allow[@]}" "$package" >/dev/null
  pkg_dir="$(npm root -g)/coral-pipe"
  addon="$pkg_dir/native/build/Release/coral_sd_notify.node"
  if [ ! -f "$addon" ]; then
    say "the package's install script did not build the native addon; building it now"
    gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
    (cd "$pkg_dir" && npm_config_node_gyp="$gyp" node native/install.mjs) >&2
    [ -f "$addon" ] || die "the native addon did not build (see above): install g++, make and python3, then run this again"
  fi
  say "native addon built: $pkg_dir/native/build/Release"
  # The unit runs /usr/bin/coral-pipe; npm's global prefix may be /usr/local.
  bin="$(npm prefix -g)/bin/coral-pipe"
  if [ "$bin" != /usr/bin/coral-pipe ] && [ "$(readlink -f /usr/bin/coral-pipe 2>/dev/null)" != "$(readlink -f "$bin")" ]; then
    ln -sfn "$bin" /usr/bin/coral-pipe
    say "linked /usr/bin/coral-pipe -> $bin"
  fi

  for group in plugdev apex; do
    getent group "$group" >/dev/null || { groupadd --system "$group"; say "created group $group"; }
  done
  if ! id "$user" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/coral-pipe --no-create-home --shell /usr/sbin/nologin "$user"
    say "created user $user"
  fi
  usermod -a -G plugdev,apex "$user"
fi

put "$here/systemd/60-coral-pipe.rules" "$DESTDIR/etc/udev/rules.d/60-coral-pipe.rules" 0644
put "$here/systemd/coral-pipe.service" "$DESTDIR/etc/systemd/system/coral-pipe.service" 0644
put "$here/config/coral-pipe.schema.json" "$conf_dir/coral-pipe.schema.json" 0644
install -d -m 0755 "$conf_dir/models" "$conf_dir/labels"
if [ -e "$conf_dir/coral-pipe.yaml" ]; then
  say "kept existing $conf_dir/coral-pipe.yaml"
else
  install -m 0640 "$here/config/coral-pipe.yaml" "$conf_dir/coral-pipe.yaml"
  say "installed $conf_dir/coral-pipe.yaml"
fi

if $system; then
  chgrp "$user" "$conf_dir/coral-pipe.yaml"
  if command -v udevadm >/dev/null && [ -d /run/udev ]; then
    udevadm control --reload-rules
    udevadm trigger --subsystem-match=usb --subsystem-match=apex || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable coral-pipe.service >/dev/null 2>&1
    say "enabled coral-pipe.service"
  fi
fi

# The Edge TPU runtime is Coral's package, not ours: say whether it is there and how to get it. (On a
# Dev Board, Mendel Linux ships it.) The TFLite C library came with the npm package's install step.
if $system; then
  if ldconfig -p 2>/dev/null | grep -q 'libedgetpu\.so\.1 '; then
    say "found libedgetpu.so.1 (Coral's Edge TPU runtime)"
  else
    say "libedgetpu.so.1 is not installed; Edge TPU segments need it. On Debian, as root:"
    say "  curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor -o /usr/share/keyrings/coral-edgetpu.gpg"
    say "  echo 'deb [signed-by=/usr/share/keyrings/coral-edgetpu.gpg] https://packages.cloud.google.com/apt coral-edgetpu-stable main' > /etc/apt/sources.list.d/coral-edgetpu.list"
    say "  apt-get update && apt-get install libedgetpu1-std"
  fi
fi

cat <<MSG
install: done. Next:
  1. put the model and labels the config names into $conf_dir/models and $conf_dir/labels
  2. edit $conf_dir/coral-pipe.yaml (broker, cameras), then: coral-pipe check-config $conf_dir/coral-pipe.yaml
  3. systemctl restart coral-pipe && journalctl -u coral-pipe -f
  coral-pipe devices  lists the Edge TPUs and the libraries found
MSG
