#!/bin/bash
# SSH "hosts" without containers: one overlayfs copy of $TB/rootfs per host, each in its own
# mount + UTS + PID namespace (pivot_root into the overlay), sshd as PID 1, listening on
# 127.0.20.K:22 of the shared host network (loopback only).
#   ssh-hosts.sh up [N=8]   start h1..hN: ssh -i $TB/ssh/id_ed25519 root@127.0.20.K (or tester@,
#                           pwuser@, nosudo@). Writes $TB/hosts/known_hosts and $TB/hosts/addrs.
#   ssh-hosts.sh down       stop all hosts and delete their overlays
#   ssh-hosts.sh status
# Each host's ed25519 host key is made at start and signed by $TB/ssh/host_ca (principals hK and
# its address), served with HostCertificate, so `@cert-authority * <ca.pub>` known_hosts work.
# NETNS=1 ssh-hosts.sh up N : instead, each host gets its own network namespace rtbhK (eth0 =
#   10.77.20.K/24) plugged into a bridge in a sealed namespace "rtblab" (no uplink, no default
#   route); reach them only from inside: ip netns exec rtblab ssh root@10.77.20.K. While it
#   exists, a blackhole route for 10.77.20.0/24 in the root namespace keeps a forgotten
#   `ip netns exec` from sending anything off the machine.
# Needs build-rootfs.sh first. ~0.15 s for 1 host, ~1 s for 20.
set -euo pipefail
. "$(dirname "$0")/common.sh"
HOSTS=$TB/hosts
NETNS=${NETNS:-0}
LABNET=${LABNET:-10.77.20}
LAB=rtblab
if [ "$NETNS" = 1 ]; then NET=$LABNET; INLAB="ip netns exec $LAB"; else NET=$SSH_NET; INLAB=""; fi
is_loopback_net "$NET" || [ "$NETNS" = 1 ] || die "SSH_NET=$NET is not a 127.x.y loopback prefix"
MARK=RINFRA_TB_SSH_HOST   # in each host's command line, so `down` finds strays without pid files

inner() {  # runs as PID 1 of the new namespaces: $1=dir $2=name $3=addr
  local d=$1 name=$2 addr=$3 m=$1/merged
  hostname "$name"
  mount --make-rprivate /
  mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$d/upper,workdir=$d/work" "$m"
  mount -t proc proc "$m/proc"
  mount -t tmpfs -o mode=755,size=16m tmpfs "$m/run"; mkdir -p "$m/run/sshd" "$m/run/lock"
  mount -t tmpfs -o mode=1777 tmpfs "$m/tmp"
  # minimal private /dev with its own devpts instance
  mount -t tmpfs -o mode=755,size=64k tmpfs "$m/dev"
  for n in null zero full random urandom tty; do touch "$m/dev/$n"; mount --bind "/dev/$n" "$m/dev/$n"; done
  mkdir -p "$m/dev/pts" "$m/dev/shm"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$m/dev/pts"
  ln -s pts/ptmx "$m/dev/ptmx"; ln -s /proc/self/fd "$m/dev/fd"
  ln -s /proc/self/fd/0 "$m/dev/stdin"; ln -s /proc/self/fd/1 "$m/dev/stdout"; ln -s /proc/self/fd/2 "$m/dev/stderr"
  mount -t tmpfs -o mode=1777 tmpfs "$m/dev/shm"
  cd "$m"; mkdir -p .oldroot; pivot_root . .oldroot; cd /
  umount -l /.oldroot; rmdir /.oldroot
  exec /usr/sbin/sshd -D -e -o ListenAddress="$addr:22" -o HostKey=/etc/ssh/ssh_host_ed25519_key \
       -o HostCertificate=/etc/ssh/ssh_host_ed25519_key-cert.pub
}

alive() { [ -f "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null; }

up_one() {
  local k=$1 d=$HOSTS/h$1 addr=$NET.$1
  alive "$d" && return 0
  local wrap=""
  if [ "$NETNS" = 1 ]; then
    if ! ip netns list | grep -qw "$LAB"; then
      ip route replace blackhole "$LABNET.0/24"
      ip netns add "$LAB"; ip -n "$LAB" link set lo up
      ip -n "$LAB" link add br0 type bridge; ip -n "$LAB" addr add "$LABNET.254/24" dev br0; ip -n "$LAB" link set br0 up
    fi
    ip netns del "rtbh$k" 2>/dev/null || true
    ip netns add "rtbh$k"; ip -n "rtbh$k" link set lo up
    ip -n "$LAB" link add "vh$k" type veth peer name eth0 netns "rtbh$k"
    ip -n "$LAB" link set "vh$k" master br0 up
    ip -n "rtbh$k" addr add "$addr/24" dev eth0; ip -n "rtbh$k" link set eth0 up
    wrap="ip netns exec rtbh$k"
  fi
  ! $INLAB bash -c "$(declare -f port_open); port_open $addr 22" || die "something already listens on $addr:22 (another testbed? see ss -tlnp)"
  safe_rm "$d"
  mkdir -p "$d/upper/etc/ssh" "$d/work" "$d/merged"
  # the host's identity, written into the overlay's upper dir before it is mounted
  host_key "$d/upper/etc/ssh" "h$k" "h$k,$addr"
  echo "h$k" >"$d/upper/etc/hostname"
  printf '127.0.0.1 localhost\n%s h%s\n' "$addr" "$k" >"$d/upper/etc/hosts"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$d/upper/etc/machine-id"; echo >>"$d/upper/etc/machine-id"
  printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$d/upper/etc/ssh/ssh_host_ed25519_key.pub")" >"$d/known_hosts"
  # --kill-child: when this unshare dies (down SIGKILLs it), the namespace's PID 1 is SIGKILLed,
  # the kernel kills the rest of the pid namespace and the overlay goes with the mount namespace.
  setsid $wrap unshare --mount --uts --pid --fork --kill-child=SIGKILL \
    bash -c "$MARK=$d; $(declare -f inner); ROOTFS=$ROOTFS inner $d h$k $addr" \
    </dev/null >"$d/sshd.log" 2>&1 &
  echo $! >"$d/pid"
}

strays() { pgrep -f "^unshare .* $MARK=$HOSTS/h[0-9]+;" || true; }

case "${1:-}" in
  up)
    n=${2:-8}
    need_pkgs $PKGS_SSH
    [ -x "$ROOTFS/usr/sbin/sshd" ] && [ -f "$HOST_CA" ] || die "run build-rootfs.sh first"
    mkdir -p "$HOSTS"
    t0=$(now)
    for k in $(seq 1 "$n"); do up_one "$k"; done
    for k in $(seq 1 "$n"); do
      $INLAB bash -c "$(declare -f wait_banner); wait_banner $NET.$k" \
        || { tail -5 "$HOSTS/h$k/sshd.log" >&2; die "h$k did not come up, see $HOSTS/h$k/sshd.log"; }
    done
    cat $(for k in $(seq 1 "$n"); do echo "$HOSTS/h$k/known_hosts"; done) >"$HOSTS/known_hosts"
    seq -f "$NET.%g" 1 "$n" | xargs >"$HOSTS/addrs"
    log "$n ssh host(s) up in $(since "$t0") s: $INLAB ssh $SSH_OPTS root@$NET.1"
    ;;
  down)
    # unshare ignores SIGTERM while it waits for its child, so SIGKILL it
    pids=$(for f in "$HOSTS"/h*/pid; do [ -f "$f" ] && cat "$f"; done; strays)
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    for p in $pids; do
      for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
      kill -0 "$p" 2>/dev/null && die "ssh host (pid $p) still running"
    done
    # the overlays live only in each host's mount namespace: wait until those are gone too
    for i in $(seq 1 100); do
      grep -lsF "upperdir=$HOSTS/" /proc/[0-9]*/mountinfo >/dev/null || break; sleep 0.05
    done
    ! grep -lsF "upperdir=$HOSTS/" /proc/[0-9]*/mountinfo >/dev/null || die "ssh host overlays still mounted"
    safe_rm "$HOSTS"
    for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^rtbh[0-9]+$/ || $1 == "'$LAB'" {print $1}'); do ip netns del "$ns"; done
    ip route del blackhole "$LABNET.0/24" 2>/dev/null || true
    ;;
  status)
    for d in "$HOSTS"/h*; do
      [ -f "$d/pid" ] || continue
      printf '%s %s pid=%s %s\n' "${d##*/}" "$(sed -n 's/ .*//p' "$d/known_hosts")" "$(cat "$d/pid")" "$(alive "$d" && echo up || echo DOWN)"
    done
    ;;
  *) sed -n '2,17p' "$0"; exit 2;;
esac
