#!/bin/bash
# Hosts that boot real systemd (PID 1, journald, logind, dbus, ssh.service) with systemd-nspawn,
# one overlayfs copy of $TB/rootfs each, on the shared host network; each host's sshd listens
# on 127.0.21.K:22 only, with a host key signed by $TB/ssh/host_ca (like ssh-hosts.sh).
#   nspawn-hosts.sh up [N=2]        boot s1..sN; ssh root@127.0.21.K. Writes $DIR/known_hosts, addrs
#   nspawn-hosts.sh exec K CMD...   run CMD inside host K (nsenter into its systemd)
#   nspawn-hosts.sh down            power all off, unmount and delete the overlays
#   nspawn-hosts.sh status
# The machine's PID 1 is not systemd, hence --register=no --keep-unit. Boot to ssh ~1 s per host.
set -euo pipefail
. "$(dirname "$0")/common.sh"
DIR=$TB/nspawn
NET=$NSPAWN_NET
is_loopback_net "$NET" || die "NSPAWN_NET=$NET is not a 127.x.y loopback prefix"

alive() { [ -f "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null; }
leader() {  # PID of host K's systemd (child of the nspawn process)
  local np; np=$(cat "$DIR/s$1/pid"); pgrep -P "$np" -x systemd | head -1
}
# cgroup dirs each host gets for itself: sharing the caller's cgroup (which is what --keep-unit
# does) makes both containers' systemd manage the same /payload/system.slice/... and units fail
# at random with status=219/CGROUP. Hybrid v1 hosts: name=systemd + unified; pure v2: the root.
cg_roots() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo /sys/fs/cgroup; return; fi
  local h; for h in systemd unified; do [ -f "/sys/fs/cgroup/$h/cgroup.procs" ] && echo "/sys/fs/cgroup/$h"; done
}
cg_rm() {  # remove our cgroup dirs (deepest first); they are empty once the hosts are gone
  local r; for r in $(cg_roots); do
    [ -d "$r/rinfra-testbed" ] && find "$r/rinfra-testbed" -depth -type d -exec rmdir {} \; 2>/dev/null
  done; true
}
strays() { pgrep -f "^systemd-nspawn .* -D $DIR/s[0-9]+/merged" || true; }

case "${1:-}" in
  up)
    n=${2:-2}
    need_pkgs $PKGS_NSPAWN
    [ -x "$ROOTFS/lib/systemd/systemd" ] && [ -f "$HOST_CA" ] || die "run build-rootfs.sh first"
    t0=$(now)
    for k in $(seq 1 "$n"); do
      d=$DIR/s$k; m=$d/merged; addr=$NET.$k
      alive "$d" && continue
      ! port_open "$addr" 22 || die "something already listens on $addr:22 (another testbed? see ss -tlnp)"
      umount_under "$d"; safe_rm "$d"
      mkdir -p "$d/upper" "$d/work" "$m"
      mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$d/upper,workdir=$d/work" "$m"
      echo "s$k" >"$m/etc/hostname"
      printf '127.0.0.1 localhost\n%s s%s\n' "$addr" "$k" >"$m/etc/hosts"
      od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$m/etc/machine-id"; echo >>"$m/etc/machine-id"
      host_key "$m/etc/ssh" "s$k" "s$k,$addr"
      printf 'ListenAddress %s:22\nHostKey /etc/ssh/ssh_host_ed25519_key\nHostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\n' \
        "$addr" >"$m/etc/ssh/sshd_config.d/00-rinfra-host.conf"
      printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$m/etc/ssh/ssh_host_ed25519_key.pub")" >"$d/known_hosts"
      # No --private-network, so the controller reaches sshd on 127.0.21.K.
      cgs=$(cg_roots | sed "s|\$|/rinfra-testbed/s$k|" | xargs)
      CGS=$cgs setsid bash -c 'for c in $CGS; do mkdir -p "$c"; echo $$ >"$c/cgroup.procs"; done; unset CGS; exec "$@"' \
        _ systemd-nspawn -q -D "$m" --boot --register=no --keep-unit --machine="rinfra-s$k" \
        --console=read-only </dev/null >"$d/console.log" 2>&1 &
      echo $! >"$d/pid"
    done
    for k in $(seq 1 "$n"); do
      wait_banner "$NET.$k" 22 30 || { tail -20 "$DIR/s$k/console.log" >&2; die "s$k: no sshd on $NET.$k:22, see $DIR/s$k/console.log"; }
      st=$(timeout 60 ssh $SSH_OPTS "root@$NET.$k" systemctl is-system-running --wait 2>&1 || true)
      [ "$st" = running ] || log "s$k: systemctl is-system-running: $st"
    done
    cat $(for k in $(seq 1 "$n"); do echo "$DIR/s$k/known_hosts"; done) >"$DIR/known_hosts"
    seq -f "$NET.%g" 1 "$n" | xargs >"$DIR/addrs"
    log "$n systemd host(s) up in $(since "$t0") s: ssh $SSH_OPTS root@$NET.1"
    ;;
  exec)
    k=$2; shift 2; L=$(leader "$k")
    exec nsenter -t "$L" -m -u -i -n -p -C -r -w "$@"
    ;;
  down)
    pids=$(for f in "$DIR"/s*/pid; do [ -f "$f" ] && cat "$f"; done; strays)
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done   # nspawn: SIGTERM = poweroff
    for p in $pids; do
      for i in $(seq 1 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
      if kill -0 "$p" 2>/dev/null; then log "nspawn $p did not power off in 10 s, killing it"; kill -KILL "$p" 2>/dev/null || true; sleep 0.5; fi
    done
    for d in "$DIR"/s*; do
      [ -d "$d" ] || continue
      umount_under "$d"
      rmdir "/run/systemd/nspawn/propagate/rinfra-${d##*/}" 2>/dev/null || true   # /run is not a tmpfs here
    done
    safe_rm "$DIR"
    cg_rm
    ;;
  status)
    for d in "$DIR"/s*; do
      [ -f "$d/pid" ] || continue
      printf '%s %s pid=%s %s\n' "${d##*/}" "$(sed -n 's/ .*//p' "$d/known_hosts" 2>/dev/null)" "$(cat "$d/pid")" "$(alive "$d" && echo up || echo DOWN)"
    done
    ;;
  *) sed -n '2,9p' "$0"; exit 2;;
esac
