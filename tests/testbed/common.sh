# shellcheck shell=bash disable=SC2034
# Sourced by every testbed script. Everything the testbed makes lives under $TB.
# Needs root. Nothing here routes anywhere but loopback (see README.md).
[ "$(id -u)" = 0 ] || { echo "testbed: must run as root" >&2; exit 1; }

TB=${TB:-/tmp/rinfra-testbed}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null)}
MIRROR=${MIRROR:-$(awk '$1 == "deb" && $2 !~ /^\[/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
ROOTFS=$TB/rootfs               # debootstrap minbase + sshd, sudo, systemd, users, keys
SSHDIR=$TB/ssh
KEY=$SSHDIR/id_ed25519          # client key, authorized for root, tester, pwuser, nosudo
KEY_ENC=$SSHDIR/id_ed25519_enc  # same, but encrypted with $KEY_ENC_PASSPHRASE
KEY_ENC_PASSPHRASE=key-pass-456
HOST_CA=$SSHDIR/host_ca         # signs every host's host key when the host starts
PW_USER=pwuser PW_USER_PASSWORD=pw-secret-123
SSH_NET=${SSH_NET:-127.0.20}    # ssh-hosts.sh: host K listens on $SSH_NET.K:22
NSPAWN_NET=${NSPAWN_NET:-127.0.21}
SSH_OPTS="-i $KEY -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=5"
export DEBIAN_FRONTEND=noninteractive

# Debian packages each part needs on the controller (scripts/testbed installs the union at once).
PKGS_ROOTFS="debootstrap openssh-client util-linux"
PKGS_SSH="openssh-client util-linux iproute2"
PKGS_CHROOT="util-linux"
PKGS_LOCAL="sudo passwd"
PKGS_DOCKER="docker.io"
PKGS_PODMAN="podman runc catatonit"
PKGS_NSPAWN="systemd-container openssh-client"

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
since() { awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$1}"; }

# only loopback addresses, unless NETNS mode (which has its own sealed network + blackhole route)
is_loopback_net() { [[ $1 =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; }

# need_pkgs PKG... : install the missing ones (apt-get update at most once per hour).
# While installing, a policy-rc.d keeps package scripts from starting daemons (docker.io would
# otherwise start a system dockerd with a bridge and iptables rules on a machine without one).
need_pkgs() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && return 0
  local stamp=/var/lib/apt/periodic/rinfra-testbed-update own_policy=0
  if [ -z "$(find "$stamp" -mmin -60 2>/dev/null)" ]; then
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update failed"
    mkdir -p "${stamp%/*}"; touch "$stamp"
  fi
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1
  fi
  log "apt-get install ${missing[*]} (log: $TB/logs/apt.log)"
  local rc=0
  mkdir -p "$TB/logs"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >>"$TB/logs/apt.log" 2>&1 || rc=$?
  [ $own_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ $rc = 0 ] || { tail -20 "$TB/logs/apt.log" >&2; die "apt-get install ${missing[*]} failed"; }
}

# mounts at or below $1, deepest first (from /proc/self/mountinfo; handles \040 escapes)
mounts_under() {
  local d=${1%/}
  awk -v d="$d" '{ m=$5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print m }' \
    /proc/self/mountinfo | sort -r
}
umount_under() {  # umount_under DIR : unmount everything at/below DIR (lazy as last resort)
  local m
  mounts_under "$1" | while IFS= read -r m; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
}
# delete DIR, never through a live mount
safe_rm() {
  local d=$1
  [ -e "$d" ] || return 0
  umount_under "$d"
  [ -z "$(mounts_under "$d")" ] || die "mounts still under $d, refusing to delete it"
  rm -rf --one-file-system "$d"
}

# wait until an sshd answers with its banner on $1:${2:-22} (timeout ${3:-15} s)
wait_banner() {
  local addr=$1 port=${2:-22} end=$((SECONDS + ${3:-15}))
  while [ $SECONDS -lt $end ]; do
    timeout 1 bash -c "exec 3<>/dev/tcp/$addr/$port && head -c4 <&3" 2>/dev/null | grep -q SSH && return 0
    sleep 0.05
  done
  return 1
}
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/${2:-22}" 2>/dev/null; }

# Run a command inside a rootfs with /proc,/sys,/dev mounted; always unmounts.
chroot_run() {
  local r=$1; shift
  mount -t proc proc "$r/proc"
  mount -t sysfs sysfs "$r/sys"
  mount --bind /dev "$r/dev"
  mount --bind /dev/pts "$r/dev/pts"
  local rc=0
  chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@" || rc=$?
  umount "$r/dev/pts" "$r/dev" "$r/sys" "$r/proc" || umount_under "$r/dev"
  return $rc
}

# make a host key for a target and sign it with the host CA.
#   host_key DIR NAME PRINCIPALS  -> DIR/ssh_host_ed25519_key{,.pub,-cert.pub}
host_key() {
  local dir=$1 name=$2 principals=$3
  mkdir -p "$dir"
  rm -f "$dir"/ssh_host_ed25519_key*
  ssh-keygen -q -t ed25519 -N '' -C "root@$name" -f "$dir/ssh_host_ed25519_key"
  ssh-keygen -q -s "$HOST_CA" -h -I "rinfra-testbed-$name" -n "$principals" "$dir/ssh_host_ed25519_key.pub" 2>/dev/null
  chmod 600 "$dir/ssh_host_ed25519_key"
}
