#!/bin/sh
# dracut pre-pivot hook (sourced by dracut): mount a separate /var for the genman
# entry's init= and fall back to the default generation if that init is unusable.
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh
. /lib/genman/genman-initrd.sh
_genman_init=$(getarg init=)
_genman_chosen=$(genman_choose_init "${NEWROOT:-/sysroot}" "$_genman_init" "$(cat /proc/cmdline)") || true
if [ -n "$_genman_chosen" ] && [ "$_genman_chosen" != "$_genman_init" ]; then
	if [ -n "${DRACUT_SYSTEMD:-}" ]; then
		# systemd in the initrd switches root through initrd-switch-root.service,
		# which takes init= from the kernel command line: override its command.
		_genman_d=/run/systemd/system/initrd-switch-root.service.d
		mkdir -p "$_genman_d"
		printf '[Service]\nExecStart=\nExecStart=systemctl --no-block switch-root /sysroot %s\n' \
			"$_genman_chosen" >"$_genman_d/90-genman.conf"
		systemctl daemon-reload
	else
		# The shell init tries real_init= before init= (both via getarg, which
		# also reads /etc/cmdline.d), so this wins over the kernel's init=.
		mkdir -p /etc/cmdline.d
		echo "real_init=$_genman_chosen" >/etc/cmdline.d/90genman-init.conf
	fi
fi
unset _genman_init _genman_chosen _genman_d
