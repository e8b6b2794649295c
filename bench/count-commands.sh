#!/bin/bash
# count-commands.sh [N] : how many SSH connections, exec channels (commands) and SFTP sessions
# each tool opens per host, first and second run. Counted on the target side: a separate set of
# N hosts (default 3; state/count/, 127.0.35.x) whose sshds run with LogLevel VERBOSE, which logs
# every "Starting session: command|subsystem 'sftp'". Also counts the tool's own `-vv` echo of
# the commands it runs (rinfra and pyinfra both print them; lines containing ">>>").
# Untimed; does not touch the hosts of bench.sh.
set -uo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
n=${1:-3}
export STATE=$BENCH/state/count NET0=${COUNT_NET0:-35} SSHD_LOGLEVEL=VERBOSE
. "$BENCH/lib.sh"
"$BENCH/hosts-up.sh" "$n" >/dev/null || exit 1
trap '"$BENCH/hosts-down.sh" >/dev/null 2>&1' EXIT
printf '| tool | run | connections/host | exec channels/host | SFTP sessions/host | `-vv` command lines/host | changed |\n|---|---|---:|---:|---:|---:|---:|\n'
for tool in ${TOOLS:-rinfra pyinfra}; do
  for run in first second; do
    for k in $(seq "$n"); do : >"$STATE/hosts/h$k/sshd.log"; done
    row=$(EXTRA_ARGS=-vv "$BENCH/run.sh" "$tool" "$n" "$run") || echo "run.sh $tool $n $run failed: $row" >&2
    sleep 0.5
    logs=("$STATE"/hosts/h*/sshd.log)
    conn=$(cat "${logs[@]}" | grep -c 'Accepted publickey')
    execs=$(cat "${logs[@]}" | grep -c 'Starting session: command')
    sftp=$(cat "${logs[@]}" | grep -c "Starting session: .*sftp")
    vv=$(grep -c '>>>' "$STATE/logs/$tool-$n-$run.log")
    awk -v t="$tool" -v r="$run" -v n="$n" -v c="$conn" -v e="$execs" -v s="$sftp" -v v="$vv" -v ch="$(cut -f12 <<<"$row")" \
      'BEGIN { printf "| %s | %s | %.1f | %.1f | %.1f | %.1f | %s |\n", t, r, c/n, e/n, s/n, v/n, ch }'
  done
done
