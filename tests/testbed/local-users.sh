#!/bin/bash
# Users on the CONTROLLER itself, for @local sudo/su tests:
#   rinfra-app   no sudo rights
#   rinfra-sudo  sudo without password (NOPASSWD:ALL)
#   rinfra-pw    sudo needs the password local-pw-789 (every time: timestamp_timeout=0);
#                also the password for `su rinfra-pw`
#   local-users.sh up       create/repair them (idempotent; installs sudo if missing)
#   local-users.sh down     delete them, their homes and /etc/sudoers.d/rinfra-testbed
#   local-users.sh status
set -euo pipefail
. "$(dirname "$0")/common.sh"
USERS="rinfra-app rinfra-sudo rinfra-pw"
LOCAL_PW=local-pw-789
SUDOERS=/etc/sudoers.d/rinfra-testbed

case "${1:-}" in
  up)
    need_pkgs $PKGS_LOCAL
    for u in $USERS; do
      id -u "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash -U "$u"
    done
    echo "rinfra-pw:$LOCAL_PW" | chpasswd
    # locked password for the other two (su to them works from root only)
    usermod -L rinfra-app 2>/dev/null || true; usermod -L rinfra-sudo 2>/dev/null || true
    tmp=$(mktemp)
    cat >"$tmp" <<EOS
# rinfra testbed (tests/testbed/local-users.sh): rinfra-sudo needs no password, rinfra-pw
# must give one every time, rinfra-app has no rights.
rinfra-sudo ALL=(ALL) NOPASSWD:ALL
rinfra-pw ALL=(ALL) ALL
Defaults:rinfra-pw timestamp_timeout=0, lecture=never
EOS
    visudo -cqf "$tmp" || { rm -f "$tmp"; die "sudoers check failed"; }
    install -m 440 "$tmp" "$SUDOERS"; rm -f "$tmp"
    # sudoers.d is only read if /etc/sudoers includes it (Debian's does)
    grep -qE '^[@#]includedir /etc/sudoers.d' /etc/sudoers || die "/etc/sudoers does not include /etc/sudoers.d"
    ;;
  down)
    rm -f "$SUDOERS"
    for u in $USERS; do
      id -u "$u" >/dev/null 2>&1 || continue
      pkill -KILL -u "$u" 2>/dev/null || true     # leftovers of tests that ran as this user
      userdel -r "$u" >/dev/null 2>&1 || userdel "$u"
      getent group "$u" >/dev/null && groupdel "$u" 2>/dev/null || true
    done
    true
    ;;
  status)
    for u in $USERS; do printf '%s %s\n' "$u" "$(id -u "$u" >/dev/null 2>&1 && echo present || echo absent)"; done
    ;;
  *) sed -n '2,10p' "$0"; exit 2;;
esac
