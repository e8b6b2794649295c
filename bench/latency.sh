#!/bin/bash
# latency.sh [N=20] : the bench workload at WAN latencies, as multiples of the floor.
# For each RTT in $RTTS (ms, default "0 50 100") and each of $REPS repetitions (default 3), in
# turn: the floor (one plain OpenSSH `ssh host true` to one host on its own, wall time), the
# parallel floor (N such commands at once, one per host: what N connections cost this machine's
# 2 cores, which the N targets share), rinfra first run, verify, rinfra second run, then
# pyinfra's (TOOLS="rinfra pyinfra"). Hosts
# h1..hN (./hosts-up.sh N first) are reached through delayline.py (127.0.(NET0+10).K, half the
# RTT added each way); RTT 0 connects directly. Rows go to state/latency.tsv; the table of
# medians (seconds, and multiples of that RTT's floor) to state/latency.md.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
n=${1:-20} RTTS=${RTTS:-"0 50 100"} REPS=${REPS:-3} TOOLS=${TOOLS:-"rinfra pyinfra"}
hosts_n "$n" >/dev/null || exit 2
front_net=127.0.$((NET0 + 10))
lat=$STATE/latency; mkdir -p "$lat"
sed "s/^127\.0\.$NET0\./$front_net./" "$KNOWN_HOSTS" >"$lat/known_hosts"
tsv=$STATE/latency.tsv; : >"$tsv"
proxy=
stop_proxy() { [ -n "$proxy" ] && kill "$proxy" 2>/dev/null; wait "$proxy" 2>/dev/null; proxy=; }
trap stop_proxy EXIT
now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
for rtt in $RTTS; do
  if [ "$rtt" = 0 ]; then net=127.0.$NET0 kh=$KNOWN_HOSTS
  else
    net=$front_net kh=$lat/known_hosts
    python3 "$BENCH/delayline.py" "$n" "$(awk -v r="$rtt" 'BEGIN { print r / 2 }')" "$front_net" "127.0.$NET0" "$PORT" >"$lat/proxy.log" 2>&1 &
    proxy=$!
    for _ in $(seq 50); do grep -q up "$lat/proxy.log" 2>/dev/null && break; sleep 0.1; done
  fi
  inv=$lat/inventory-$n-$rtt.py
  "$BENCH/rinfra/make-inventory.sh" "$n" | sed "s/\"127\.0\.$NET0\./\"$net./; s#$KNOWN_HOSTS#$kh#" >"$inv"
  for rep in $(seq "$REPS"); do
    # The floor: what one host costs on its own (not N at once, which measures 2 cores).
    t0=$(now)
    ssh "${SSH_OPTS[@]/#UserKnownHostsFile=*/UserKnownHostsFile=$kh}" "root@$net.$(( (rep - 1) % n + 1 ))" true
    printf 'floor\t%s\t%s\t-\t%s\t0\n' "$n" "$rtt" "$(secs "$t0" "$(now)")" >>"$tsv"
    t0=$(now) pids=()
    for k in $(seq "$n"); do
      ssh "${SSH_OPTS[@]/#UserKnownHostsFile=*/UserKnownHostsFile=$kh}" "root@$net.$k" true &
      pids+=($!)
    done
    wait "${pids[@]}"   # (not the delay line, also a child)
    printf 'pfloor\t%s\t%s\t-\t%s\t0\n' "$n" "$rtt" "$(secs "$t0" "$(now)")" >>"$tsv"
    for tool in $TOOLS; do
      if [ "$tool" = rinfra ]; then cmd=("${RINFRA_BIN:-$RINFRA_DEFAULT}"); else cmd=("$VENV/bin/pyinfra"); fi
      reset_targets "$n"
      for run in first second; do
        log=$lat/$tool-$n-$rtt-$run.log
        t0=$(now); "${cmd[@]}" -y "$inv" "$BENCH/rinfra/deploy.py" >"$log" 2>&1; rc=$?; t1=$(now)
        "$BENCH/verify.sh" "$n" >/dev/null 2>&1; ok=$?
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$n" "$rtt" "$run" "$(secs "$t0" "$t1")" "$((rc + ok))" >>"$tsv"
        [ $((rc + ok)) = 0 ] || log "$tool $run at $rtt ms failed (rc=$rc verify=$ok): $log"
      done
    done
  done
  stop_proxy
done
python3 - "$tsv" >"$STATE/latency.md" <<'PY'
import statistics, sys, collections
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
t = collections.defaultdict(list); bad = collections.Counter()
for tool, n, rtt, run, s, rc in rows:
    t[(tool, n, int(rtt), run)].append(float(s)); bad[(tool, n, int(rtt), run)] += rc != "0"
print("| N | RTT | floor (ssh true) | parallel floor | tool | first run | x floor | x parallel | second run | x floor | x parallel | failed runs |")
print("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
for (tool, n, rtt, run), v in sorted(t.items(), key=lambda kv: (kv[0][2], kv[0][0])):
    if tool in ("floor", "pfloor") or run != "first":
        continue
    f = statistics.median(t[("floor", n, rtt, "-")]); a = statistics.median(v)
    p = statistics.median(t[("pfloor", n, rtt, "-")])
    b = statistics.median(t[(tool, n, rtt, "second")])
    print(f"| {n} | {rtt} ms | {f:.2f} s | {p:.2f} s | {tool} | {a:.2f} s | {a / f:.2f}x | {a / p:.2f}x | {b:.2f} s | {b / f:.2f}x | {b / p:.2f}x | {bad[(tool, n, rtt, 'first')] + bad[(tool, n, rtt, 'second')]} |")
PY
cat "$STATE/latency.md"
