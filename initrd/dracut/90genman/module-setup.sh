#!/bin/bash
# dracut module: genman's boot-time helper (see initrd/lib/genman-initrd.sh).
# Installed as /usr/lib/dracut/modules.d/90genman/ next to genman-initrd.sh.

check() {
	# Only when asked for or when the host uses genman.
	[[ -d /var/lib/genman ]] || return 255
	return 0
}

depends() {
	echo fs-lib
	return 0
}

install() {
	# shellcheck disable=SC2154 # dracut sets $moddir for module-setup.sh
	inst_simple "$moddir/genman-initrd.sh" /lib/genman/genman-initrd.sh
	inst_multiple blkid readlink mount
	# pre-pivot: the root is mounted at $NEWROOT and init= has not been checked yet.
	inst_hook pre-pivot 90 "$moddir/genman-pre-pivot.sh"
}
