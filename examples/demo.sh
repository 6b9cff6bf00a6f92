#!/bin/sh
# genman's main job on the built-in example, in a sandbox root (nothing on this host changes):
# builds and switches generations of examples/fra1 with boot entries on a sandbox ESP,
# changes one template variable, then shows list-generations, diff, rollback, prune,
# a confirmed switch reverted and one kept, the health checks and tries a switch would
# start, a secret, content diffs, drift, and a fleet deploy's plan.
# Run as root on Debian 12; it installs what it needs.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
sh "$here/tools/bootstrap.sh"
genman="${GENMAN_VENV:-$here/.venv}/bin/genman"

work=${GENMAN_DEMO_DIR:-$(mktemp -d /tmp/genman-demo.XXXXXX)}
root="$work/root"
# Links in the sandbox name target paths (/etc/static/...), as they must to boot: follow
# them the way the target will, inside the root.
show_in_root() {
  "${GENMAN_VENV:-$here/.venv}/bin/python" -c 'import sys; from pathlib import Path, PurePosixPath
from genman.profile import resolve_in_root
r = Path(sys.argv[1]); real = resolve_in_root(r, PurePosixPath(sys.argv[2]))
sys.stdout.write((r / str(real).lstrip("/")).read_text())' "$root" "$1" | sed "s|^|  $1: |"
}
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

esp="$root/boot/efi"
mkdir -p "$esp"
# A sandbox has no firmware to probe: name the ESP and the bootloader.
g() { "$genman" --root "$root" --esp "$esp" --bootloader systemd-boot "$@"; }

step "genman build: generation 1 (nothing live changes yet)"
g build "$profile"

step "the same profile again: no new generation"
g build "$profile"

step "genman switch: activate generation 1, write its boot entry, make it the default"
g switch "$profile"
echo "/etc/motd -> $(readlink "$root/etc/motd")"
show_in_root /etc/motd

step "change one template variable (ltnet_index 3 -> 4): what would switch do?"
sed -i 's/^ltnet_index = 3/ltnet_index = 4/' "$profile"
g switch --dry-run "$profile"

step "the same plan as JSON (switch --dry-run --json): the service decisions"
g switch --dry-run --json "$profile" | "${GENMAN_VENV:-$here/.venv}/bin/python" -c '
import json, sys
for a in json.load(sys.stdin):
    if a["kind"] == "service":
        print("  " + a["action"], a["unit"] + ":", a["reason"])
    elif a["kind"] == "check_running":
        print("  then check", ", ".join(a["units"]), "still run after", a["settle"], "s")'

step "genman switch: generation 2"
g switch "$profile"

step "genman list-generations"
g list-generations

step "genman diff 1 2"
g diff 1 2

step "unchanged files are shared: one copy of each in the store"
ls "$root/var/lib/genman/store" | sed 's/^/  /'

step "one boot entry per generation, one copy of the kernel on the ESP"
for e in "$esp"/loader/entries/*.conf; do echo "--- ${e#"$root"}"; sed 's/^/  /' "$e"; done
echo "--- /boot/efi/EFI/genman:"
ls "$esp/EFI/genman" | sed 's/^/  /'
echo "--- /boot/efi/loader/loader.conf (the entries' sort-key puts the default first):"
sed 's/^/  /' "$esp/loader/loader.conf"

step "genman rollback: generation 1 is live and the default again, /etc included"
g rollback
g status
show_in_root /etc/motd

step "genman switch-generation 2, then prune --keep 1: generation 1, its entry and files go"
g switch-generation 2
g prune --keep 1 --wait
g list-generations
ls "$esp/loader/entries" | sed 's/^/  loader\/entries\//'

step "a confirmed switch nobody confirms: reverted by itself, exit 5 (nobody at the console)"
sed -i 's/^ltnet_index = 4/ltnet_index = 5/' "$profile"
rc=0; g switch --confirm-within 5s --wait "$profile" || rc=$?
echo "exit code: $rc"
g status

step "the same switch, confirmed this time: it becomes the boot default"
g switch --confirm-within 2m "$profile"
g confirm
g list-generations

step "with [health]: the tries and checks a switch would start (switch --dry-run, the tail)"
cp "$profile" "$work/fra1/health.toml"
printf '\n[health]\ntries = 3\nboot_timeout = "5m"\n[health.checks.ssh]\ncommand = ["sh", "-c", "true"]\n' >> "$work/fra1/health.toml"
g health --install-marker --init-system systemd
g switch --dry-run "$work/fra1/health.toml" | grep -E '^  (health|confirm)'

default_of() {
  g status --json | "${GENMAN_VENV:-$here/.venv}/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["default"])'
}

step "a secret: its content goes to /var/lib/genman/secrets (0700), never to the store"
prev=$(default_of)
cat >> "$profile" <<'PROFILE'

[secrets."bird/ospf.key"]
command = ["sh", "-c", "echo ospf-demo-key-5f1e"]   # e.g. ["pass", "show", "fra1/ospf"]
mode = "0640"
group = "bird"
PROFILE
sed -i 's/^ltnet_index = 5/ltnet_index = 6/' "$profile"
g switch --dry-run --diff "$profile"
g switch "$profile"
ls -l "$root/etc/bird/ospf.key" | sed "s|$root||; s/^/  /"
if grep -rq ospf-demo-key-5f1e "$root/var/lib/genman/store"; then echo "  FOUND IN THE STORE"; exit 1; fi
echo "  the key's content is nowhere in the store"

step "genman diff --content: the summary, then each file's hunks (the secret redacted)"
g diff "$prev" "$(default_of)" --content

step "a hand edit under /etc: genman drift shows it, switch refuses to overwrite it"
rm "$root/etc/motd"
echo "edited by hand" > "$root/etc/motd"
g drift
rc=0; g switch "$profile" || rc=$?
echo "exit code: $rc"
g switch --backup "$profile"
for f in "$root"/etc/motd*; do echo "  ${f#"$root"}"; done

step "genman import: a profile that reproduces this host's /etc as it is (the sandbox has no dpkg database, so every file is taken)"
g import "$work/imported"
sed -n '1,3p' "$work/imported/profile.toml" | sed 's/^/  /'
g switch --dry-run --diff "$work/imported/profile.toml" | tail -n 1

step "a fleet: how genman deploy would roll out examples/hosts.toml (--dry-run --offline: no host is contacted; without --offline each host prints its own plan)"
(cd "$here/examples" && "$genman" deploy -i hosts.toml --dry-run --offline)

echo
echo "sandbox left in $work (remove it with: rm -rf $work)"
