#!/bin/bash
# hosts-up.sh N : start N sshd "hosts" h1..hN on 127.0.30.1..127.0.30.250, 127.0.31.1.. (see addr
# in lib.sh; port $PORT, default 22). SSHD_LOGLEVEL (default ERROR; VERBOSE logs every session,
# used by count-commands.sh) goes into each sshd_config.
# Key-only root login with $STATE/client/id_ed25519; $STATE/known_hosts lists every host key.
# Already-running hosts are kept, so `hosts-up.sh 100` after `hosts-up.sh 10` adds h11..h100.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
n=${1:?usage: hosts-up.sh N}
mkdir -p "$STATE/hosts" "$STATE/client" /run/sshd
chmod 700 "$STATE/client"
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$KEY"
cp "$KEY.pub" "$STATE/client/authorized_keys"
# cpuacct group for the targets, so run.sh can report target-side CPU separately (optional)
mkdir -p "$CG_TGT" "$CG_CTL" 2>/dev/null || log "no cgroup-v1 cpuacct: CPU from /usr/bin/time only"

t0=$(date +%s.%N)
for k in $(seq 1 "$n"); do
  d=$STATE/hosts/h$k a=$(addr "$k")
  if [ -f "$d/sshd.pid" ] && kill -0 "$(cat "$d/sshd.pid")" 2>/dev/null; then continue; fi
  # never take over an address someone else listens on
  if ss -Hltn "src $a" | grep -q ":$PORT\b"; then
    echo "h$k: $a:$PORT is already in use by another process (set NET0 in lib.sh)" >&2; exit 1
  fi
  mkdir -p "$d/home"   # per-host $HOME (also skips root's real ~/.bashrc on every ssh command)
  [ -f "$d/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C "h$k" -f "$d/host_key"
  cat >"$d/sshd_config" <<CFG
ListenAddress $a:$PORT
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $STATE/client/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 1000
MaxSessions 1000
LogLevel ${SSHD_LOGLEVEL:-ERROR}
Subsystem sftp internal-sftp
SetEnv HOME=$d/home
CFG
  /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log"   # daemonizes, writes sshd.pid
done
# wait for every pid file, move listeners into the targets cgroup, write hosts.tsv + known_hosts
: >"$HOSTS_TSV.tmp"; : >"$KNOWN_HOSTS.tmp"
for k in $(seq 1 "$n"); do
  d=$STATE/hosts/h$k a=$(addr "$k")
  for _ in $(seq 100); do [ -s "$d/sshd.pid" ] && break; sleep 0.05; done
  pid=$(cat "$d/sshd.pid")
  [ -w "$CG_TGT/cgroup.procs" ] && echo "$pid" >"$CG_TGT/cgroup.procs"
  echo "h$k $a $PORT" >>"$HOSTS_TSV.tmp"
  hk=$([ "$PORT" = 22 ] && echo "$a" || echo "[$a]:$PORT")
  echo "$hk $(cut -d' ' -f1,2 "$d/host_key.pub")" >>"$KNOWN_HOSTS.tmp"
done
# keep hosts beyond N that are still up (from an earlier, larger hosts-up)
k=$((n + 1))
while [ -f "$STATE/hosts/h$k/sshd.pid" ] && kill -0 "$(cat "$STATE/hosts/h$k/sshd.pid")" 2>/dev/null; do
  a=$(addr "$k"); echo "h$k $a $PORT" >>"$HOSTS_TSV.tmp"
  hk=$([ "$PORT" = 22 ] && echo "$a" || echo "[$a]:$PORT")
  echo "$hk $(cut -d' ' -f1,2 "$STATE/hosts/h$k/host_key.pub")" >>"$KNOWN_HOSTS.tmp"
  k=$((k + 1))
done
mv "$HOSTS_TSV.tmp" "$HOSTS_TSV"; mv "$KNOWN_HOSTS.tmp" "$KNOWN_HOSTS"
# smoke test: one real login on the first and last host
for a in "$(addr 1)" "$(addr "$n")"; do ssh "${SSH_OPTS[@]}" "root@$a" true; done
log "$(wc -l <"$HOSTS_TSV") host(s) up in $(awk "BEGIN{printf \"%.2f\", $(date +%s.%N)-$t0}") s" \
    "(ssh ${SSH_OPTS[*]} root@$(addr 1))"
