# Shared by genman's kernel hooks, /etc/kernel/postinst.d/zz-genman and postrm.d/zz-genman
# (sourced, POSIX sh; installed as /usr/share/genman/kernel-hook.sh). The hooks are conffiles
# and stay after the package is removed; they source this file and stop when it is gone.

say() { echo "genman: $*"; }

# One line per generation, oldest first: "NUMBER KERNEL_VERSION DEFAULT" ("-" where a
# generation has no kernel; DEFAULT is 1 for the boot default), read from
# `genman list-generations --json`. Parsed with awk, so the hooks need nothing more than
# genman itself; fails when genman does.
genman_generations() {
  json=$(genman list-generations --json 2>/dev/null) || return 1
  printf '%s\n' "$json" | awk '
    { text = text $0 " " }
    END {
      n = split(text, parts, "\"number\"[ \t]*:[ \t]*")
      for (i = 2; i <= n; i++) {
        s = parts[i]
        num = s; sub(/[^0-9].*/, "", num)
        kv = "-"
        if (match(s, /"kernel_version"[ \t]*:[ \t]*"[^"]*"/)) {
          kv = substr(s, RSTART, RLENGTH)
          sub(/^"kernel_version"[ \t]*:[ \t]*"/, "", kv)
          sub(/"$/, "", kv)
        }
        print num, kv, (s ~ /"default"[ \t]*:[ \t]*true/) ? 1 : 0
      }
    }' | sort -n
}

# "generation 3" or "generations 1, 2 and 3".
generations_phrase() {
  # shellcheck disable=SC2086 # word splitting of the number list is intended
  set -- $1
  if [ $# -eq 1 ]; then
    echo "generation $1"
    return
  fi
  out="generations $1"
  shift
  while [ $# -gt 1 ]; do out="$out, $1"; shift; done
  echo "$out and $1"
}
