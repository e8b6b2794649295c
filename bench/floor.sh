#!/bin/bash
# floor.sh [N] : what one plain OpenSSH connection per host costs the targets, as a floor for the
# second run's target CPU. For each row, connects to hosts h1..hN (./hosts-up.sh N first;
# default 100) one after another with the OpenSSH client and prints the target CPU per host
# (the rinfra-bench-tgt cgroup: every sshd and what it ran). Rows:
#   true      connect, authenticate, run `true`
#   sh -s     the same with rinfra's persistent shell started and ended
#   commands  the five commands the bench's second run needs, in one exec
# KEX curve25519-sha256, the one rinfra and this sshd pick (OpenSSH's client would pick
# sntrup761x25519, which costs the server more). Untimed: the run's wall time is not a figure.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
n=${1:-100}
hosts_n "$n" >/dev/null || exit 2
[ -r "$CG_TGT/cpuacct.usage_user" ] || { echo "floor.sh: no target cgroup ($CG_TGT): run ./hosts-up.sh as root" >&2; exit 2; }
reset_targets "$n"
"$BENCH/run.sh" rinfra "$n" first >/dev/null || { echo "floor.sh: the first run failed" >&2; exit 1; }
row() {
  local name=$1 cmd=$2 k a b c d
  read -r a b < <(cg_cpu "$CG_TGT")
  for k in $(seq "$n"); do
    cmd_k=${cmd//@ROOT@/$TARGET_ROOT/h$k}
    ssh "${SSH_OPTS[@]}" -o KexAlgorithms=curve25519-sha256 "root@$(addr "$k")" "$cmd_k" >/dev/null 2>&1
  done
  sleep 0.3   # let the sessions finish exiting
  read -r c d < <(cg_cpu "$CG_TGT")
  awk -v t=$((c + d - a - b)) -v n="$n" -v w="$name" 'BEGIN { printf "| %s | %.1f ms |\n", w, t / 1e6 / n }'
}
printf '| what (N = %s) | target CPU per host |\n|---|---:|\n' "$n"
row true true
row 'sh -s' 'sh -s </dev/null'
row commands "uname -s; stat @ROOT@/app/shell.out; stat @ROOT@/app @ROOT@/app/logs @ROOT@/app/payload.txt; grep -e managed_by=bench @ROOT@/app/extra.conf; sha1sum @ROOT@/app/payload.txt @ROOT@/app/app.conf"
