# Sourced by the bench scripts. Everything generated lives under $STATE.
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${STATE:-$BENCH/state}
VENV=${VENV:-$BENCH/.venv}
PORT=${PORT:-22}                        # every host listens on 127.0.X.Y:$PORT
TARGET_ROOT=/tmp/rinfra-bench-target    # host hK works under $TARGET_ROOT/hK/ (passed to the deploy as host data bench_root)
KEY=$STATE/client/id_ed25519             # client key (root@ every host accepts it)
KNOWN_HOSTS=$STATE/known_hosts
HOSTS_TSV=$STATE/hosts.tsv               # "name addr port" per running host (written by hosts-up.sh)
SSH_OPTS=(-i "$KEY" -o IdentitiesOnly=yes -o BatchMode=yes -o UserKnownHostsFile="$KNOWN_HOSTS"
          -o StrictHostKeyChecking=yes -o LogLevel=ERROR -p "$PORT")
# cgroup-v1 cpuacct groups: controller (the tool and every process it forks, daemons included)
# and targets (all sshd listeners and their sessions). Missing cgroups => CPU from /usr/bin/time only.
CG_ROOT=/sys/fs/cgroup/cpuacct
CG_CTL=$CG_ROOT/rinfra-bench-ctl
CG_TGT=$CG_ROOT/rinfra-bench-tgt

# rinfra binary (run.sh rinfra): cargo build --release -p rinfra-cli at the repository root
RINFRA_DEFAULT=$BENCH/../target/release/rinfra
# address of host k (1-based): 127.0.$NET0.1 .. .250, then 127.0.$((NET0+1)).1 ... Default NET0=30,
# away from the project testbed (127.0.20.x/127.0.21.x) and other tooling (127.0.1.x/127.0.2.x):
# 1000 hosts use 127.0.30.x .. 127.0.33.x.
NET0=${NET0:-30}
addr() { echo "127.0.$(( NET0 + ($1 - 1) / 250 )).$(( ($1 - 1) % 250 + 1 ))"; }

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# first N lines of hosts.tsv (fails if fewer hosts are up)
hosts_n() {
  local n=$1
  [ -f "$HOSTS_TSV" ] && [ "$(wc -l <"$HOSTS_TSV")" -ge "$n" ] \
    || { echo "need $n hosts up: run ./hosts-up.sh $n" >&2; return 1; }
  head -n "$n" "$HOSTS_TSV"
}

# busy CPU nanoseconds of the whole machine so far (all /proc/stat time but idle and iowait)
machine_cpu() { awk '/^cpu / {print ($2 + $3 + $4 + $7 + $8 + $9) * 1e9 / '"$(getconf CLK_TCK)"'}' /proc/stat; }

# CPU nanoseconds "user sys" charged to a cgroup so far (0 0 if no cgroup)
cg_cpu() {
  if [ -r "$1/cpuacct.usage_user" ]; then echo "$(cat "$1/cpuacct.usage_user") $(cat "$1/cpuacct.usage_sys")"
  else echo "0 0"; fi
}

# wipe the per-host work dirs and seed each with a stale.txt (that the deploy must remove)
reset_targets() {
  case $TARGET_ROOT in /tmp/?*) ;; *) echo "refusing to wipe TARGET_ROOT=$TARGET_ROOT" >&2; return 1;; esac
  rm -rf "$TARGET_ROOT"
  local k; for k in $(seq 1 "$1"); do mkdir -p "$TARGET_ROOT/h$k"; echo stale >"$TARGET_ROOT/h$k/stale.txt"; done
}
