#!/bin/bash
# run.sh TOOL N [LABEL] : apply the bench workload once with TOOL to hosts h1..hN (hosts-up.sh N
# first) and print one TSV line:
#   tool n label wall_s ctl_cpu_s ctl_user_s ctl_sys_s tgt_cpu_s other_cpu_s maxrss_kb rc changed
# ctl_* = CPU of the tool and everything it forked (cgroup, so ssh ControlMaster daemons count);
# tgt_* = CPU of all target sshds and what they ran; other = the rest of the machine's busy CPU
# meanwhile (kernel networking, and anything else running: if it is large the run was disturbed);
# changed = ops/tasks the tool reported as changed ("-" if the tool has no parser).
# The tool's output goes to $STATE/logs/.
# LABEL "first" (the default) wipes and reseeds the target dirs before the run (untimed); any
# other LABEL ("second") runs against the dirs as the previous run left them.
# TOOLs: rinfra (RINFRA_BIN, default ../target/release/rinfra) and pyinfra (pyinfra 3.10 from
#        .venv), both on the same deploy rinfra/deploy.py with the static inventory written by
#        rinfra/make-inventory.sh, default parallelism. EXTRA_ARGS="..." is appended to the command
#        line (e.g. EXTRA_ARGS=-vv for count-commands.sh).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
tool=${1:?usage: run.sh TOOL N [LABEL]} n=${2:?usage: run.sh TOOL N [LABEL]} label=${3:-first}
hosts_n "$n" >/dev/null || exit 2
mkdir -p "$STATE/logs"; mkdir -p "$CG_CTL" 2>/dev/null   # (hosts-down.sh of another state dir may have removed it)
export BENCH_N=$n BENCH_STATE=$STATE
changed() { echo -; }   # per-tool parser of $out, overridden below

case $tool in
  rinfra|pyinfra)
    inv=$STATE/static-inventory-$n.py
    "$BENCH/rinfra/make-inventory.sh" "$n" >"$inv"
    if [ "$tool" = rinfra ]; then cmd=("${RINFRA_BIN:-$RINFRA_DEFAULT}"); else cmd=("$VENV/bin/pyinfra"); fi
    cmd+=(-y ${EXTRA_ARGS:-} "$inv" "$BENCH/rinfra/deploy.py")
    # "Success" column (= changed ops) of the "Grand total" row of the results table
    changed() { awk '$1 == "Grand" && $2 == "total" {print $4 + 0}' "$out"; } ;;
  *) echo "unknown TOOL $tool" >&2; exit 2 ;;
esac

[ "$label" = first ] && reset_targets "$n"
out=$STATE/logs/$tool-$n-$label.log
tf=$STATE/logs/$tool-$n-$label.time
read -r cu0 cs0 < <(cg_cpu "$CG_CTL"); read -r tu0 ts0 < <(cg_cpu "$CG_TGT"); m0=$(machine_cpu)
t0=$(date +%s%N)
( [ -w "$CG_CTL/cgroup.procs" ] && echo "$BASHPID" >"$CG_CTL/cgroup.procs"
  exec /usr/bin/time -f "%e %U %S %M" -o "$tf" "${cmd[@]}" ) >"$out" 2>&1
rc=$?
t1=$(date +%s%N)
sleep 0.2   # let target sessions finish exiting before reading their CPU
read -r cu1 cs1 < <(cg_cpu "$CG_CTL"); read -r tu1 ts1 < <(cg_cpu "$CG_TGT"); m1=$(machine_cpu)
read -r _ tuser tsys maxrss < <(tail -n 1 "$tf" 2>/dev/null) || { tuser=0 tsys=0 maxrss=0; }
if [ "$cu1" = 0 ]; then   # no cgroup: fall back to rusage of the tool's waited-for children
  cu0=0 cs0=0 cu1=$(awk "BEGIN{print $tuser*1e9}") cs1=$(awk "BEGIN{print $tsys*1e9}")
fi
awk -v tool="$tool" -v n="$n" -v label="$label" -v w=$((t1 - t0)) -v cu=$((cu1 - cu0)) \
    -v cs=$((cs1 - cs0)) -v tc=$((tu1 + ts1 - tu0 - ts0)) -v m="$m0" -v m1="$m1" -v rss="$maxrss" \
    -v rc=$rc -v ch="$(changed)" \
  'BEGIN { o = (m1 - m - cu - cs - tc) / 1e9; if (o < 0) o = 0
           printf "%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\n",
           tool, n, label, w/1e9, (cu+cs)/1e9, cu/1e9, cs/1e9, tc/1e9, o, rss, rc, ch }'
exit $rc
