#!/bin/sh
# genman's main job on the built-in example, in a sandbox root (nothing on this host changes):
# builds generations of examples/fra1, changes one template variable, and shows
# list-generations and a diff. Run as root on Debian 12; it installs what it needs.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
sh "$here/tools/bootstrap.sh"
genman="${GENMAN_VENV:-$here/.venv}/bin/genman"

work=${GENMAN_DEMO_DIR:-$(mktemp -d /tmp/genman-demo.XXXXXX)}
root="$work/root"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "a sandbox root in $root: a few files of a Debian host, with a kernel in /boot"
mkdir -p "$root/etc" "$root/boot" "$root/lib/modules/6.1.0-28-amd64/kernel"
printf 'root:x:0:0:root:/root:/bin/sh\nbird:x:108:115::/run/bird:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nbird:x:115:\n' > "$root/etc/group"
echo fra1 > "$root/etc/hostname"
echo "# the host's own file: genman never touches it" > "$root/etc/fstab"
head -c 65536 /dev/urandom > "$root/boot/vmlinuz-6.1.0-28-amd64"
head -c 32768 /dev/urandom > "$root/boot/initrd.img-6.1.0-28-amd64"
echo "fake module" > "$root/lib/modules/6.1.0-28-amd64/kernel/dummy.ko"
cp -r "$here/examples/fra1" "$work/fra1"
cp -r "$here/examples/packages" "$work/packages"
profile="$work/fra1/profile.toml"

step "genman build: generation 1"
"$genman" --root "$root" build "$profile"

step "the same profile again: no new generation"
"$genman" --root "$root" build "$profile"

step "change one template variable (ltnet_index 3 -> 4) and build: generation 2"
sed -i 's/^ltnet_index = 3/ltnet_index = 4/' "$profile"
"$genman" --root "$root" build "$profile"

step "genman list-generations"
"$genman" --root "$root" list-generations

step "genman diff 1 2"
"$genman" --root "$root" diff 1 2

step "unchanged files are shared: the store holds one copy of each"
ls "$root/var/lib/genman/store" | sed 's/^/  /'

echo
echo "sandbox left in $work (remove it with: rm -rf $work)"
