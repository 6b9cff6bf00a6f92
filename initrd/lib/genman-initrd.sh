# genman initrd support: shared by the initramfs-tools script and the dracut module.
# POSIX sh, busybox- and klibc-sh-compatible: no arrays, no `local` beyond what dash
# and busybox ash accept, no readlink -f (klibc has none, and it would resolve against
# the initrd, not the target root).
#
# Entry point: genman_choose_init ROOTMNT INIT CMDLINE
#   Prints the init to exec (a path as seen inside ROOTMNT) on stdout; messages for
#   the console go to stderr. Before choosing, mounts the filesystem that holds
#   /var/lib/genman when the target's fstab puts it on its own partition.
#
# Knobs for tests and for the two initrd flavours:
#   GENMAN_MOUNT      command used to mount (default: mount)
#   GENMAN_FINDFS     command resolving LABEL=/UUID=/PARTUUID= (default: blkid/findfs)
#   GENMAN_STATE_DIR  default /var/lib/genman
#   GENMAN_RUN_DIR    where the fallback report goes (default /run/genman: the initrd /run
#                     is moved onto the new root, the on-disk ROOTMNT/run is hidden)

GENMAN_STATE_DIR=${GENMAN_STATE_DIR:-/var/lib/genman}

genman_msg() {
	echo "genman: $*" >&2
}

# genman_resolve ROOT PATH: PATH with every symlink resolved as if ROOT were /.
# Prints the resolved absolute path (without ROOT); returns 1 on a loop (>40 hops).
genman_resolve() {
	_gr_root=$1
	_gr_todo=$2
	_gr_done=
	_gr_hops=0
	while [ -n "$_gr_todo" ]; do
		_gr_todo=${_gr_todo#/}
		case $_gr_todo in
		*/*)
			_gr_comp=${_gr_todo%%/*}
			_gr_todo=/${_gr_todo#*/}
			;;
		*)
			_gr_comp=$_gr_todo
			_gr_todo=
			;;
		esac
		case $_gr_comp in
		'' | .) continue ;;
		..)
			_gr_done=${_gr_done%/*}
			continue
			;;
		esac
		if [ -L "$_gr_root$_gr_done/$_gr_comp" ]; then
			_gr_hops=$((_gr_hops + 1))
			[ "$_gr_hops" -le 40 ] || return 1
			_gr_link=$(readlink "$_gr_root$_gr_done/$_gr_comp") || return 1
			case $_gr_link in
			/*) _gr_done= ;;
			esac
			_gr_todo=$_gr_link$_gr_todo
		else
			_gr_done=$_gr_done/$_gr_comp
		fi
	done
	echo "${_gr_done:-/}"
}

# genman_usable_init ROOT PATH: PATH (inside ROOT) is a non-empty executable file.
genman_usable_init() {
	_gu_real=$(genman_resolve "$1" "$2") || return 1
	[ -f "$1$_gu_real" ] && [ -x "$1$_gu_real" ] && [ -s "$1$_gu_real" ]
}

# genman_fstab_mountpoint ROOT PATH: the longest fstab mount point (other than /) that
# contains PATH, printed as "SPEC DIR TYPE OPTS"; nothing if PATH lives on the root fs.
genman_fstab_mountpoint() {
	_gf_best=
	_gf_bestlen=0
	[ -r "$1/etc/fstab" ] || return 0
	while read -r _gf_spec _gf_dir _gf_type _gf_opts _gf_rest; do
		case $_gf_spec in '' | '#'*) continue ;; esac
		case $_gf_type in swap | none) continue ;; esac
		_gf_dir=${_gf_dir%/}
		[ -n "$_gf_dir" ] || continue # the root itself
		case $2/ in
		"$_gf_dir"/*)
			if [ ${#_gf_dir} -gt "$_gf_bestlen" ]; then
				_gf_bestlen=${#_gf_dir}
				_gf_best="$_gf_spec $_gf_dir $_gf_type ${_gf_opts:-defaults}"
			fi
			;;
		esac
	done <"$1/etc/fstab"
	[ -z "$_gf_best" ] || echo "$_gf_best"
}

genman_find_device() {
	if [ -n "${GENMAN_FINDFS:-}" ]; then
		$GENMAN_FINDFS "$1"
		return
	fi
	case $1 in
	/*)
		echo "$1"
		;;
	*=*)
		# blkid is in both initramfs-tools (copied by its own hook) and dracut images.
		if command -v blkid >/dev/null 2>&1; then
			_gd_dev=$(blkid -l -o device -t "$1" 2>/dev/null) && [ -n "$_gd_dev" ] && {
				echo "$_gd_dev"
				return 0
			}
		fi
		findfs "$1" 2>/dev/null
		;;
	*)
		return 1
		;;
	esac
}

# genman_mount_state ROOT INIT: if INIT (or the state dir) is on a filesystem the
# target mounts separately (a /var partition, say), mount it under ROOT now; the
# initrd only mounted / (and /usr), and init= must exist before it is exec'd.
genman_mount_state() {
	_gm_entry=$(genman_fstab_mountpoint "$1" "$2")
	[ -n "$_gm_entry" ] || return 0
	# shellcheck disable=SC2086 # deliberate word splitting of the fstab fields
	set -- "$1" "$2" $_gm_entry
	_gm_root=$1 _gm_spec=$3 _gm_dir=$4 _gm_type=$5 _gm_opts=$6
	# Already mounted (a second run, or the initrd's /usr logic covered it).
	# (No grep: an initramfs-tools image without busybox has only klibc tools.)
	if [ -r /proc/mounts ]; then
		while read -r _gm_x _gm_mp _gm_rest; do
			[ "$_gm_mp" != "$_gm_root$_gm_dir" ] || return 0
		done </proc/mounts
	fi
	_gm_dev=$(genman_find_device "$_gm_spec") || _gm_dev=
	if [ -z "$_gm_dev" ]; then
		genman_msg "cannot find $_gm_spec for $_gm_dir (needed for $2)"
		return 1
	fi
	# fstab options, minus the ones mount(8) in an initrd rejects or that mean "not now".
	_gm_o=
	_gm_ifs=$IFS
	IFS=,
	for _gm_x in $_gm_opts; do
		case $_gm_x in
		defaults | auto | noauto | nofail | _netdev | x-* | comment=*) ;;
		*) _gm_o=${_gm_o:+$_gm_o,}$_gm_x ;;
		esac
	done
	IFS=$_gm_ifs
	genman_msg "mounting $_gm_spec on $_gm_dir (it holds $2)"
	# shellcheck disable=SC2086
	${GENMAN_MOUNT:-mount} -t "$_gm_type" ${_gm_o:+-o "$_gm_o"} "$_gm_dev" "$_gm_root$_gm_dir" || {
		genman_msg "mounting $_gm_dir failed"
		return 1
	}
}

# genman_cmdline_generation CMDLINE: the N of genman.generation=N, if any.
genman_cmdline_generation() {
	for _gc_arg in $1; do
		case $_gc_arg in
		genman.generation=*) echo "${_gc_arg#genman.generation=}" ;;
		esac
	done
}

genman_report() {
	# Leave a note for genman status / the tests: which init was asked for, which ran.
	_gp_dir=${GENMAN_RUN_DIR:-/run/genman}
	mkdir -p "$_gp_dir" 2>/dev/null &&
		printf 'requested=%s\nchosen=%s\nreason=%s\n' "$2" "$3" "$4" >"$_gp_dir/initrd-fallback" 2>/dev/null
	return 0
}

# genman_choose_init ROOT INIT CMDLINE
genman_choose_init() {
	_gc_root=$1
	_gc_init=$2
	_gc_gen=$(genman_cmdline_generation "$3")
	case $_gc_init in
	"$GENMAN_STATE_DIR"/*) ;;
	*)
		# Not a genman entry (a distro entry, or no init= at all): not ours to judge.
		if [ -z "$_gc_gen" ]; then
			echo "$_gc_init"
			return 0
		fi
		;;
	esac

	genman_mount_state "$_gc_root" "$GENMAN_STATE_DIR" || true

	_gc_why=
	# generations/N is an absolute link into the store: resolve it inside the root.
	if [ -n "$_gc_gen" ] && ! {
		_gc_gdir=$(genman_resolve "$_gc_root" "$GENMAN_STATE_DIR/generations/$_gc_gen") &&
			[ -d "$_gc_root$_gc_gdir" ]
	}; then
		_gc_why="generation $_gc_gen is missing"
	elif [ -z "$_gc_init" ]; then
		_gc_why="the entry names no init"
	elif ! genman_usable_init "$_gc_root" "$_gc_init"; then
		_gc_why="$_gc_init is missing or not executable"
	fi
	if [ -z "$_gc_why" ]; then
		echo "$_gc_init"
		return 0
	fi

	_gc_def=$GENMAN_STATE_DIR/default/init
	if genman_usable_init "$_gc_root" "$_gc_def"; then
		# default -> .../generations/N: one readlink gives the number to show.
		_gc_defgen=$(readlink "$_gc_root$GENMAN_STATE_DIR/default")
		genman_msg "$_gc_why; booting the default generation instead (${_gc_defgen##*/})"
		genman_report "$_gc_root" "$_gc_init" "$_gc_def" "$_gc_why"
		echo "$_gc_def"
		return 0
	fi
	genman_msg "$_gc_why, and the default generation has no usable init either"
	for _gc_try in /sbin/init /lib/systemd/systemd /bin/init; do
		if genman_usable_init "$_gc_root" "$_gc_try"; then
			genman_msg "falling back to $_gc_try: the system boots without genman's /etc"
			genman_report "$_gc_root" "$_gc_init" "$_gc_try" "$_gc_why; default unusable"
			echo "$_gc_try"
			return 0
		fi
	done
	genman_msg "no usable init found under $_gc_root"
	echo "$_gc_init"
	return 1
}
