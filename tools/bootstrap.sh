#!/bin/sh
# Set up what genman's demo and tests need on a fresh Debian 12 machine (run as root):
# Debian packages, then a virtualenv with genman installed from this checkout.
#   tools/bootstrap.sh          runtime only (the demo)
#   tools/bootstrap.sh --test   plus test tools and every package in tools/apt-packages.txt
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv=${GENMAN_VENV:-$here/.venv}
want_test=${1:-}

say() { echo "bootstrap: $*" >&2; }

[ "$(id -u)" = 0 ] || { echo "error: run as root (it installs Debian packages)" >&2; exit 1; }

packages="python3 python3-venv python3-pip"
if [ "$want_test" = "--test" ]; then
  # Sandbox tests use the real tools: busybox sh for init scripts, grub-script-check, and
  # the shell linter for every script; tools/apt-packages.txt adds what VM tests need.
  packages="$packages busybox-static grub-common shellcheck"
  if [ -f "$here/tools/apt-packages.txt" ]; then
    packages="$packages $(grep -v '^#' "$here/tools/apt-packages.txt" | tr '\n' ' ')"
  fi
fi
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  say "installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
# The real bootctl for the systemd-boot tests, unpacked into a cache (never installed).
[ "$want_test" = "--test" ] && sh "$here/tools/fetch-bootctl.sh" >/dev/null

# Prefer Debian's interpreter: it is what the hosts run. Fall back to whatever python3 is first.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
extras=""
[ "$want_test" = "--test" ] && extras="[test]"
stamp="$venv/.genman-installed"
fingerprint="$(cat "$here/pyproject.toml" | cksum)$extras"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$fingerprint" ]; then
  say "creating the virtualenv $venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -e "$here$extras"
  echo "$fingerprint" > "$stamp"
fi
