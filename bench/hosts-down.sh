#!/bin/bash
# hosts-down.sh : stop every bench sshd by the PID in its pid file; remove the bench cgroups.
# Keys and configs stay in $STATE (reused by the next hosts-up.sh).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
pids=()
for f in "$STATE"/hosts/h*/sshd.pid; do
  [ -f "$f" ] || continue
  p=$(cat "$f"); kill "$p" 2>/dev/null && pids+=("$p"); rm -f "$f"
done
for p in "${pids[@]}"; do
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$p" 2>/dev/null && echo "sshd pid $p still running" >&2
done
rm -f "$HOSTS_TSV"
rmdir "$CG_CTL" "$CG_TGT" 2>/dev/null
log "stopped ${#pids[@]} sshd(s)"
