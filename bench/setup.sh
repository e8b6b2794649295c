#!/bin/bash
# One-time setup: openssh-server + GNU time (Debian) and .venv with pyinfra==3.10.0 from PyPI.
# The bench starts its own sshds on loopback only; the system sshd must NOT be started by the
# package install (it would listen on 0.0.0.0:22), so a policy-rc.d that forbids every service
# start is put in place for the duration of apt-get (unless one already forbids them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if ! [ -x /usr/sbin/sshd ] || ! [ -x /usr/bin/time ]; then
  prc=/usr/sbin/policy-rc.d ours=0
  if ! [ -x $prc ] || ! grep -q 'exit 101' $prc; then
    [ -e $prc ] && mv $prc $prc.bench-saved
    printf '#!/bin/sh\n# bench/setup.sh: no service starts during apt-get\nexit 101\n' >$prc
    chmod 755 $prc; ours=1
  fi
  restore() { if [ $ours = 1 ]; then rm -f $prc; [ -e $prc.bench-saved ] && mv $prc.bench-saved $prc; fi; true; }
  trap restore EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-server openssh-client time
  restore; trap - EXIT
  # belt and braces: if a system sshd got started anyway (no policy-rc.d support), say so
  if ss -ltn | awk '{print $4}' | grep -qE '^(0\.0\.0\.0|\[::\]|\*):22$'; then
    log "WARNING: something listens on *:22 (system sshd?); the bench does not need it"
  fi
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r "$BENCH/requirements.txt"
mkdir -p "$STATE"
{ "$VENV/bin/python" --version; "$VENV/bin/pyinfra" --version; /usr/sbin/sshd -V 2>&1 | head -1
  [ -x "${RINFRA_BIN:-$RINFRA_DEFAULT}" ] && "${RINFRA_BIN:-$RINFRA_DEFAULT}" --version 2>&1 | head -1
  true; } | tee "$STATE/versions.txt"
