#!/bin/bash
# Rootful podman with all state under $TB/podman (via CONTAINERS_CONF / CONTAINERS_STORAGE_CONF),
# storage driver overlay, cgroup manager cgroupfs, runtime runc, no network (netns=none), never
# pulls (pull_policy=never). The image localhost/rinfra-deb is imported from $TB/rootfs.
#   podman.sh up [N=0]   install/configure, import the image if missing/stale, start p1..pN
#   . $TB/podman/env     then plain `podman run/exec/cp ...` works
#   podman.sh down       remove all containers, unmount (keeps the image)
#   podman.sh purge      down + delete all podman state under $TB/podman
#   podman.sh status
# Two things of this machine kind need the config below (errors without it, verbatim):
#  - CAP_SYS_RESOURCE is missing and `ulimit -Hn` is 20000:
#      Error: crun: setrlimit `RLIMIT_NOFILE`: Operation not permitted: OCI permission denied
#      Error: crun: setrlimit `RLIMIT_NPROC`: Operation not permitted: OCI permission denied
#    -> default_ulimits no higher than the hard limits podman itself runs with
#  - cgroups are v1 + a cgroup2 "unified" mount that has a controller (hugetlb):
#      Error: OCI runtime error: crun: cgroups in hybrid mode not supported, drop all controllers from cgroupv2
#    -> runtime = "runc"; --cgroups=disabled does not help crun
set -euo pipefail
. "$(dirname "$0")/common.sh"
P=$TB/podman
export CONTAINERS_CONF=$P/containers.conf CONTAINERS_STORAGE_CONF=$P/storage.conf
IMAGE=${PODMAN_IMAGE:-rinfra-deb}

configure() {
  mkdir -p "$P"
  local nofile nproc
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=1048576
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi   # podman lowers its own NPROC to 32768
  cat >"$P/storage.conf" <<EOS
[storage]
driver = "overlay"
runroot = "$P/run"
graphroot = "$P/root"
EOS
  cat >"$P/containers.conf" <<EOS
[containers]
netns = "none"
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$P/events.log"
tmp_dir = "$P/tmp"
pull_policy = "never"
[network]
network_config_dir = "$P/net"
EOS
  printf 'export CONTAINERS_CONF=%s CONTAINERS_STORAGE_CONF=%s\n' "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF" >"$P/env"
}

case "${1:-}" in
  up)
    need_pkgs $PKGS_PODMAN
    configure
    want=$(tr ' ' - <"$TB/rootfs.id" 2>/dev/null) || die "run build-rootfs.sh first"
    have=$(podman image inspect --format '{{index .Labels "rinfra.rootfs"}}' "localhost/$IMAGE" 2>/dev/null || true)
    if [ "$have" != "$want" ]; then
      t0=$(now)
      podman rm -a -f -t 0 >/dev/null
      podman image rm -f "localhost/$IMAGE" >/dev/null 2>&1 || true
      tar -C "$ROOTFS" -c . | podman import -q -c "LABEL rinfra.rootfs=$want" -c 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
      log "imported $ROOTFS as podman image localhost/$IMAGE in $(since "$t0") s"
    fi
    for k in $(seq 1 "${2:-0}"); do
      podman container exists "p$k" || podman run -d -q --pull=never --init --name "p$k" --hostname "p$k" "$IMAGE" sleep infinity >/dev/null
    done
    ;;
  down|purge)
    if [ -f "$P/containers.conf" ] && command -v podman >/dev/null; then
      podman rm -a -f -t 0 >/dev/null || log "podman rm -a failed"
      [ "$1" = purge ] && { podman system reset -f >/dev/null 2>&1 || true; }
    fi
    # containers/storage keeps a private bind mount of its overlay dir
    umount_under "$P"
    [ "$1" = purge ] && safe_rm "$P"
    true
    ;;
  status)
    if [ -f "$P/containers.conf" ] && command -v podman >/dev/null; then
      echo "podman: $(podman ps -q | wc -l) container(s), image $(podman image exists "localhost/$IMAGE" && echo present || echo MISSING)"
    else echo "podman not configured"; fi
    ;;
  *) sed -n '2,10p' "$0"; exit 2;;
esac
