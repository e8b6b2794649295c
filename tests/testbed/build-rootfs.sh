#!/bin/bash
# Build $TB/rootfs, the one Debian tree every target is made from (ssh hosts, chroot, nspawn,
# docker and podman images), plus the keys under $TB/ssh.
#   build-rootfs.sh          build if missing or stale (the recipe = this file + ROOTFS_EXTRA_PACKAGES)
#   build-rootfs.sh clean    delete the rootfs and the keys (refuses while a target uses them)
# Contents: debootstrap --variant=minbase $SUITE, + openssh-server sudo systemd(-sysv) dbus procps
# iproute2 python3-minimal curl ca-certificates acl; users root, tester (uid 1000, NOPASSWD sudo),
# pwuser (uid 1001, sudo needs password pw-secret-123; ssh password login allowed), nosudo
# (uid 1002, no sudo); the client keys $TB/ssh/id_ed25519 and id_ed25519_enc (passphrase
# key-pass-456) authorized for all four. Host keys are made per target at start and signed by
# the CA $TB/ssh/host_ca. Cold: ~30 s debootstrap + ~15 s packages.
set -euo pipefail
. "$(dirname "$0")/common.sh"

ROOTFS_PACKAGES="openssh-server sudo procps iproute2 python3-minimal systemd systemd-sysv dbus curl ca-certificates acl ${ROOTFS_EXTRA_PACKAGES:-}"
RECIPE=$( { cat "$0"; echo "$SUITE $ROOTFS_PACKAGES"; } | sha256sum | cut -c1-16)
STAMP=$TB/rootfs.stamp        # recipe hash of the finished rootfs
ID=$TB/rootfs.id              # changes whenever the rootfs content changes (images compare it)

in_use() {  # pids whose mount namespace has an overlay on top of $ROOTFS (ssh/nspawn hosts, chroot)
  grep -lsE "lowerdir=$ROOTFS(,| |$)" /proc/[0-9]*/mountinfo 2>/dev/null | cut -d/ -f3 | head -3
}

if [ "${1:-}" = clean ]; then
  [ -z "$(in_use)" ] || die "the rootfs is in use (pids $(in_use | xargs)); run scripts/testbed down first"
  safe_rm "$ROOTFS"; rm -f "$STAMP" "$ID"; safe_rm "$SSHDIR"
  exit 0
fi

need_pkgs $PKGS_ROOTFS
mkdir -p "$TB/logs"

# --- keys (kept across rootfs rebuilds) ---
mkdir -p "$SSHDIR"; chmod 700 "$SSHDIR"
[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C rinfra-testbed -f "$KEY"
[ -f "$KEY_ENC" ] || ssh-keygen -q -t ed25519 -N "$KEY_ENC_PASSPHRASE" -C rinfra-testbed-enc -f "$KEY_ENC"
[ -f "$HOST_CA" ] || ssh-keygen -q -t ed25519 -N '' -C rinfra-testbed-host-ca -f "$HOST_CA"
printf '@cert-authority * %s\n' "$(cat "$HOST_CA.pub")" >"$SSHDIR/known_hosts_ca"

# --- the tree ---
if [ "$(cat "$STAMP" 2>/dev/null)" != "$RECIPE" ] || [ ! -x "$ROOTFS/usr/sbin/sshd" ]; then
  [ -z "$(in_use)" ] || die "rootfs is stale but in use (pids $(in_use | xargs)); run scripts/testbed down first"
  t0=$(now)
  rm -f "$STAMP" "$ID"
  safe_rm "$ROOTFS"
  [ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list(.d); set MIRROR"
  log "debootstrap --variant=minbase $SUITE $ROOTFS $MIRROR (log: $TB/logs/debootstrap.log)"
  debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$MIRROR" >"$TB/logs/debootstrap.log" 2>&1 \
    || { tail -20 "$TB/logs/debootstrap.log" >&2; die "debootstrap failed"; }
  # no package script may start a daemon while we install into the tree
  printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"; chmod +x "$ROOTFS/usr/sbin/policy-rc.d"
  log "installing $ROOTFS_PACKAGES (log: $TB/logs/rootfs-packages.log)"
  chroot_run "$ROOTFS" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $ROOTFS_PACKAGES && apt-get clean" \
    >"$TB/logs/rootfs-packages.log" 2>&1 || { tail -20 "$TB/logs/rootfs-packages.log" >&2; die "package install in rootfs failed"; }

  # users
  chroot_run "$ROOTFS" sh -ec "
    useradd -m -s /bin/bash -u 1000 -U tester
    useradd -m -s /bin/bash -u 1001 -U $PW_USER
    useradd -m -s /bin/bash -u 1002 -U nosudo
    echo '$PW_USER:$PW_USER_PASSWORD' | chpasswd
  "
  cat >"$ROOTFS/etc/sudoers.d/rinfra-testbed" <<EOS
# rinfra testbed: tester needs no password, $PW_USER must give one (every time: no
# timestamp caching, so tests do not depend on each other), nosudo has no rights.
tester ALL=(ALL) NOPASSWD:ALL
$PW_USER ALL=(ALL) ALL
Defaults:$PW_USER timestamp_timeout=0, lecture=never
EOS
  chmod 440 "$ROOTFS/etc/sudoers.d/rinfra-testbed"
  chroot "$ROOTFS" visudo -cq || die "sudoers check failed"

  # sshd: keys only, except password / keyboard-interactive for $PW_USER. The host key and its
  # certificate are given per target (ssh-hosts.sh: -o HostKey/HostCertificate; nspawn: a file).
  cat >"$ROOTFS/etc/ssh/sshd_config.d/rinfra-testbed.conf" <<EOS
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
# cargo test runs many connections at once
MaxStartups 200:30:400
MaxSessions 100
Match User $PW_USER
    PasswordAuthentication yes
    KbdInteractiveAuthentication yes
Match all
EOS
  rm -f "$ROOTFS"/etc/ssh/ssh_host_*
  mkdir -p "$ROOTFS/run/sshd"
  # targets with an init (nspawn) should start the services that packages install
  rm -f "$ROOTFS/usr/sbin/policy-rc.d"
  echo "$RECIPE" >"$STAMP"
  log "rootfs built in $(since "$t0") s ($(du -sh "$ROOTFS" | cut -f1))"
fi

# --- authorize the client keys (every run: keys may have been regenerated) ---
auth=$(cat "$KEY.pub" "$KEY_ENC.pub")
for u in root:/root tester:/home/tester $PW_USER:/home/$PW_USER nosudo:/home/nosudo; do
  name=${u%%:*} home=$ROOTFS${u#*:}
  if [ "$(cat "$home/.ssh/authorized_keys" 2>/dev/null)" != "$auth" ]; then
    install -d -m 700 "$home/.ssh"
    printf '%s\n' "$auth" >"$home/.ssh/authorized_keys"; chmod 600 "$home/.ssh/authorized_keys"
    chroot "$ROOTFS" chown -R "$name:$name" "${u#*:}/.ssh"
  fi
done
printf '%s %s\n' "$RECIPE" "$(printf '%s' "$auth" | sha256sum | cut -c1-16)" >"$ID.new"
cmp -s "$ID.new" "$ID" && rm "$ID.new" || mv "$ID.new" "$ID"
