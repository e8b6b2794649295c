#!/bin/bash
# Check a running testbed end to end from the outside (no Rust involved): run after
# `scripts/testbed up`. Prints one ok/FAIL line per check, "N passed, N failed", exits 1 on failure.
#   tests/testbed/smoke.sh
set -uo pipefail
TB=${TB:-/tmp/rinfra-testbed}
[ -f "$TB/env" ] || { echo "no $TB/env: run scripts/testbed up first" >&2; exit 1; }
. "$TB/env"
pass=0; fail=0
check() { local name=$1; shift; if out=$("$@" 2>&1); then echo "ok   $name"; pass=$((pass+1)); else echo "FAIL $name"; printf '%s\n' "$out" | tail -5 | sed 's/^/     /'; fail=$((fail+1)); fi; }
on() { [[ " $RINFRA_TB_PARTS " == *" $1 "* ]]; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
echo "payload $$" >"$W/in.txt"
O="-i $RINFRA_TB_SSH_KEY -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$RINFRA_TB_KNOWN_HOSTS -o BatchMode=yes -o LogLevel=ERROR"
askpass() {  # askpass SECRET -> path of a script printing it (for ssh's SSH_ASKPASS)
  printf '#!/bin/sh\necho %s\n' "$1" >"$W/askpass"; chmod +x "$W/askpass"; echo "$W/askpass"
}

if on ssh; then
  set -- $RINFRA_TB_SSH_HOSTS; H1=$1; H2=$2; k=0
  for h in $RINFRA_TB_SSH_HOSTS; do k=$((k+1)); check "ssh h$k hostname" sh -c "ssh $O root@$h hostname | grep -qx h$k"; done
  check "ssh exit code"            sh -c "ssh $O root@$H1 'exit 7'; [ \$? = 7 ]"
  check "ssh stdin"                sh -c "echo hi | ssh $O root@$H1 cat | grep -qx hi"
  check "ssh pty"                  sh -c "ssh -tt $O root@$H1 'tty' </dev/null | grep -q /dev/pts/"
  check "tester sudo -n"           sh -c "ssh $O $RINFRA_TB_SSH_USER_SUDO@$H1 'sudo -n id -u' | grep -qx 0"
  check "pwuser sudo -n refused"   sh -c "! ssh $O $RINFRA_TB_SSH_USER_PW@$H1 'sudo -n true'"
  check "pwuser sudo -S password"  sh -c "ssh $O $RINFRA_TB_SSH_USER_PW@$H1 'echo $RINFRA_TB_SSH_USER_PW_PASSWORD | sudo -S -u root id -u' | grep -qx 0"
  check "pwuser wrong password"    sh -c "! ssh $O $RINFRA_TB_SSH_USER_PW@$H1 'echo nope | sudo -S true'"
  check "nosudo has no sudo"       sh -c "! ssh $O $RINFRA_TB_SSH_USER_NOSUDO@$H1 'sudo -n true'"
  check "su from root"             sh -c "ssh $O root@$H1 'su nosudo -c \"id -un\"' | grep -qx nosudo"
  check "password login (pwuser)"  sh -c "SSH_ASKPASS=$(askpass "$RINFRA_TB_SSH_USER_PW_PASSWORD") SSH_ASKPASS_REQUIRE=force ssh -o PubkeyAuthentication=no -o PreferredAuthentications=password -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$RINFRA_TB_KNOWN_HOSTS $RINFRA_TB_SSH_USER_PW@$H2 id -un </dev/null | grep -qx $RINFRA_TB_SSH_USER_PW"
  check "password login (tester) refused" sh -c "! SSH_ASKPASS=$(askpass x) SSH_ASKPASS_REQUIRE=force ssh -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$RINFRA_TB_KNOWN_HOSTS $RINFRA_TB_SSH_USER_SUDO@$H2 true </dev/null"
  check "encrypted key + passphrase" sh -c "SSH_ASKPASS=$(askpass "$RINFRA_TB_SSH_KEY_ENC_PASSPHRASE") SSH_ASKPASS_REQUIRE=force ssh -i $RINFRA_TB_SSH_KEY_ENC -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$RINFRA_TB_KNOWN_HOSTS root@$H2 true </dev/null"
  check "encrypted key, no passphrase refused" sh -c "! ssh -i $RINFRA_TB_SSH_KEY_ENC -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$RINFRA_TB_KNOWN_HOSTS root@$H2 true"
  check "@cert-authority known_hosts" sh -c "ssh -i $RINFRA_TB_SSH_KEY -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$RINFRA_TB_KNOWN_HOSTS_CA root@$H2 hostname | grep -qx h2"
  check "unknown host key refused" sh -c ": >$W/empty_kh; ! ssh -i $RINFRA_TB_SSH_KEY -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$W/empty_kh root@$H2 true"
  check "ssh -F config alias"      sh -c "ssh -F $RINFRA_TB_SSH_CONFIG h2 hostname | grep -qx h2"
  check "scp in/out"               sh -c "scp -q $O $W/in.txt root@$H2:/root/in.txt && scp -q $O root@$H2:/root/in.txt $W/back.txt && cmp $W/in.txt $W/back.txt"
  check "sftp"                     sh -c "echo 'put $W/in.txt /tmp/s.txt' | sftp -q $O -b - root@$H1 && ssh $O root@$H1 cat /tmp/s.txt | grep -q payload"
  check "hosts isolated"           sh -c "ssh $O root@$H2 test -e /root/in.txt && ! ssh $O root@$H1 test -e /root/in.txt"
  check "python3 on target"        sh -c "ssh $O root@$H1 'python3 -c \"print(6*7)\"' | grep -qx 42"
fi

if on nspawn; then
  k=0
  for h in $RINFRA_TB_NSPAWN_HOSTS; do
    k=$((k+1))
    check "nspawn s$k systemd PID 1" sh -c "ssh $O root@$h 'ps -p1 -o comm=' | grep -qx systemd"
    check "nspawn s$k running"       sh -c "ssh $O root@$h 'systemctl is-system-running --wait' | grep -qx running"
  done
  set -- $RINFRA_TB_NSPAWN_HOSTS
  check "nspawn unit start"          sh -c "ssh $O root@$1 'systemd-run --unit=smoke-$$ sleep 60 && systemctl is-active smoke-$$ && systemctl stop smoke-$$' | grep -qx active"
  check "nspawn @cert-authority"     sh -c "ssh -i $RINFRA_TB_SSH_KEY -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$RINFRA_TB_KNOWN_HOSTS_CA tester@$1 'sudo -n hostname' | grep -qx s1"
fi

if on chroot; then
  R=$RINFRA_TB_CHROOT
  check "chroot exec"       sh -c "chroot $R cat /etc/debian_version | grep -q '^12'"
  check "chroot copy in"    sh -c "cp $W/in.txt $R/root/in.txt && chroot $R cat /root/in.txt | grep -q payload && rm $R/root/in.txt"
  check "chroot proc"       sh -c "chroot $R ps -p1 -o pid= | grep -q 1"
  check "rootfs untouched"  sh -c "! test -e $RINFRA_TB_ROOTFS/root/in.txt"
fi

if on docker; then
  export DOCKER_HOST=$RINFRA_TB_DOCKER_HOST
  c=rinfra-smoke-$$
  check "docker run"        docker run -d --pull never --init --name $c --network none "$RINFRA_TB_DOCKER_IMAGE" sleep infinity
  check "docker exec"       sh -c "docker exec $c cat /etc/debian_version | grep -q '^12'"
  check "docker exit code"  sh -c "docker exec $c sh -c 'exit 5'; [ \$? = 5 ]"
  check "docker stdin"      sh -c "echo hi | docker exec -i $c cat | grep -qx hi"
  check "docker cp in/out"  sh -c "docker cp $W/in.txt $c:/root/in.txt && docker cp $c:/root/in.txt $W/d.txt && cmp $W/in.txt $W/d.txt"
  check "docker user"       sh -c "docker exec -u tester $c id -un | grep -qx tester"
  check "docker no pull"    sh -c "! docker run --rm --pull never rinfra-no-such-image true"
  docker rm -f $c >/dev/null 2>&1
fi

if on podman; then
  (
    . "$RINFRA_TB_PODMAN_ENV"
    c=rinfra-smoke-$$
    check "podman run"       podman run -d -q --pull=never --init --name $c "$RINFRA_TB_PODMAN_IMAGE" sleep infinity
    check "podman exec"      sh -c "podman exec $c cat /etc/debian_version | grep -q '^12'"
    check "podman exit code" sh -c "podman exec $c sh -c 'exit 5'; [ \$? = 5 ]"
    check "podman stdin"     sh -c "echo hi | podman exec -i $c cat | grep -qx hi"
    check "podman cp in/out" sh -c "podman cp $W/in.txt $c:/root/in.txt && podman cp $c:/root/in.txt $W/p.txt && cmp $W/in.txt $W/p.txt"
    check "podman never pulls" sh -c "! podman run --rm rinfra-no-such-image true"
    podman rm -f -t 0 $c >/dev/null 2>&1
    echo "$pass $fail" >"$W/podman.count"
  )
  read -r pass fail <"$W/podman.count"
fi

if on local; then
  check "local sudo NOPASSWD"   sh -c "su -s /bin/sh $RINFRA_TB_LOCAL_USER_SUDO -c 'sudo -n id -u' | grep -qx 0"
  check "local sudo password"   sh -c "su -s /bin/sh $RINFRA_TB_LOCAL_USER_PW -c 'echo $RINFRA_TB_LOCAL_USER_PW_PASSWORD | sudo -S id -u' | grep -qx 0"
  check "local sudo -n refused" sh -c "! su -s /bin/sh $RINFRA_TB_LOCAL_USER_PW -c 'sudo -n true'"
  check "local app no sudo"     sh -c "! su -s /bin/sh $RINFRA_TB_LOCAL_USER_APP -c 'sudo -n true'"
  check "local su with password" sh -c "su -s /bin/sh $RINFRA_TB_LOCAL_USER_APP -c 'echo $RINFRA_TB_LOCAL_USER_PW_PASSWORD | su $RINFRA_TB_LOCAL_USER_PW -c \"id -un\"' | grep -qx $RINFRA_TB_LOCAL_USER_PW"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
