#!/bin/bash
# A private Docker engine (Debian's docker.io + its own containerd): all state under $TB/docker,
# API socket $TB/docker/docker.sock, no bridge, no iptables, no ip forwarding (containers get
# --network none or --network host). The image rinfra-deb is imported from $TB/rootfs.
#   docker.sh up [N=0]   start dockerd, import the image if missing/stale, start d1..dN
#   . $TB/docker/env     (DOCKER_HOST=unix://$TB/docker/docker.sock), then plain `docker ...`
#   docker.sh down       remove all containers, stop dockerd + containerd (keeps the image)
#   docker.sh purge      down + delete $TB/docker
#   docker.sh status
# Always `docker run --pull never`: a mistyped image name must not go to a registry.
set -euo pipefail
. "$(dirname "$0")/common.sh"
D=$TB/docker
SOCK=$D/docker.sock
export DOCKER_HOST=unix://$SOCK
IMAGE=${DOCKER_IMAGE:-rinfra-deb}

dockerd_pid() {  # from the pid file, else any dockerd serving our socket
  local p
  p=$(cat "$D/dockerd.pid" 2>/dev/null || true)
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo "$p"; return; fi
  pgrep -f "^dockerd .*-H $DOCKER_HOST( |$)" | head -1 || true
}

case "${1:-}" in
  up)
    need_pkgs $PKGS_DOCKER
    mkdir -p "$D"
    if [ -z "$(dockerd_pid)" ]; then
      umount_under "$D"; rm -f "$SOCK"   # leftovers of a dockerd that was killed
      echo '{}' >"$D/daemon.json"
      t0=$(now)
      setsid dockerd --config-file "$D/daemon.json" --data-root "$D/data" --exec-root "$D/exec" \
        --pidfile "$D/dockerd.pid" -H "$DOCKER_HOST" \
        --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
        --storage-driver=overlay2 \
        </dev/null >"$D/dockerd.log" 2>&1 &
      for i in $(seq 1 300); do docker version >/dev/null 2>&1 && break; sleep 0.1; done
      docker version >/dev/null 2>&1 || { tail -20 "$D/dockerd.log" >&2; die "dockerd did not start, see $D/dockerd.log"; }
      log "dockerd up in $(since "$t0") s"
    fi
    echo "export DOCKER_HOST=$DOCKER_HOST" >"$D/env"
    want=$(tr ' ' - <"$TB/rootfs.id" 2>/dev/null) || die "run build-rootfs.sh first"
    have=$(docker image inspect -f '{{index .Config.Labels "rinfra.rootfs"}}' "$IMAGE" 2>/dev/null || true)
    if [ "$have" != "$want" ]; then
      t0=$(now)
      ids=$(docker ps -aq); [ -z "$ids" ] || docker rm -f $ids >/dev/null
      docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
      tar -C "$ROOTFS" -c . | docker import -c "LABEL rinfra.rootfs=$want" -c 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
      log "imported $ROOTFS as docker image $IMAGE in $(since "$t0") s"
    fi
    for k in $(seq 1 "${2:-0}"); do
      docker container inspect "d$k" >/dev/null 2>&1 || \
        docker run -d --pull never --init --name "d$k" --hostname "d$k" --network none "$IMAGE" sleep infinity >/dev/null
    done
    ;;
  down|purge)
    p=$(dockerd_pid)
    if [ -n "$p" ]; then
      ids=$(docker ps -aq 2>/dev/null || true); [ -z "$ids" ] || docker rm -f $ids >/dev/null || true
      kill -TERM "$p"          # dockerd stops its own containerd
      for i in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$p" 2>/dev/null; then
        log "dockerd $p did not stop in 15 s, killing it"
        pkill -KILL -f "^containerd --config $D/exec/" || true
        kill -KILL "$p" 2>/dev/null || true; sleep 0.5
      fi
    fi
    # containerd-shims of killed containers, if any survived
    pkill -KILL -f "containerd-shim.* -address $D/exec/" 2>/dev/null || true
    # dockerd leaves its netns bind mount (exec/netns/default) and maybe overlay mounts behind
    umount_under "$D"
    rm -f "$SOCK"
    [ "$1" = purge ] && safe_rm "$D"
    true
    ;;
  status)
    p=$(dockerd_pid)
    if [ -n "$p" ]; then echo "dockerd pid=$p $DOCKER_HOST, $(docker ps -q | wc -l) container(s)"; else echo "dockerd down"; fi
    ;;
  *) sed -n '2,10p' "$0"; exit 2;;
esac
