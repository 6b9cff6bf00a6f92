#!/bin/sh
# Put Debian's bootctl where the tests look for it, without installing the systemd-boot
# package (its install scripts act on this machine's own ESP): download the .deb and
# unpack it into a cache directory. The tests (tests/test_systemd_boot.py) use
#   ${GENMAN_BOOTCTL_CACHE:-$HOME/.cache/genman/systemd-boot}/usr/bin/bootctl
# or a bootctl on PATH. Safe to run again: does nothing when bootctl is already there.
set -eu
cache=${GENMAN_BOOTCTL_CACHE:-$HOME/.cache/genman/systemd-boot}
if [ -x "$cache/usr/bin/bootctl" ]; then
  echo "fetch-bootctl: $cache/usr/bin/bootctl is there"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# apt-get download drops privileges to _apt where it can; let it write here.
chmod 0777 "$work"
apt-get download systemd-boot >&2
mkdir -p "$cache"
dpkg -x systemd-boot_*.deb "$cache"
"$cache/usr/bin/bootctl" --version | head -n 1
echo "fetch-bootctl: $cache/usr/bin/bootctl"
