#!/usr/bin/env bash
# tools/demo.sh: Wharf's main job, shown end to end. Builds `wharf` (release;
# nothing to do when it is up to date), then
#  1. the engine: starts `wharf daemon` (its own data root, exec root and
#     socket), makes a `busybox` image from Debian's busybox-static
#     (`wharf import`), and drives the daemon with the `wharf` CLI over the
#     Docker Engine API: `run --rm`, `run -d`, `ps`, `exec`, `logs`, `stats`,
#     a named volume that outlives its container, `build` of a Dockerfile
#     (then again from the cache), `stop`, `rm`; it kills the daemon with
#     SIGKILL and shows a running container survive into the next daemon
#     (live restore); a user network whose containers find each other by
#     name and a port published on 127.0.0.1; the docker CLI, when
#     installed, talks to the same socket;
#  2. the runtime: runs containers with `wharf runtime run` (through a
#     `wharf-runc` symlink) that show, from inside, their own hostname,
#     being pid 1, their own mounts, the pids and memory limits of their
#     cgroup and their capabilities; then a fork bomb stopped by the pids
#     limit and an allocation stopped by the memory limit.
# Everything lives in a temporary directory and is removed.
#
# RUNTIME=/usr/sbin/runc tools/demo.sh runs the runtime part with runc.
set -euo pipefail

cd "$(dirname "$0")/.."
rel=$(realpath -m "${CARGO_TARGET_DIR:-target}")/x86_64-unknown-linux-gnu/release
cargo build --release --quiet -p wharf -p wharf-testkit

work=$(mktemp -d /tmp/wharf-demo.XXXXXX)
ln -s "$rel/wharf" "$work/wharf-runc"
RUNTIME=${RUNTIME:-$work/wharf-runc}
sock=unix://$work/wharf.sock
daemon_pid=
rt() { "$RUNTIME" --root "$work/state" "$@"; }
wharf() { "$rel/wharf" -H "$sock" "$@"; }
start_daemon() {
  # A bridge and an nftables table of the demo's own, removed at the end.
  "$rel/wharf" daemon --data-root "$work/data" --exec-root "$work/exec" \
    -H "$sock" --pidfile "$work/wharf.pid" --bridge wharfdemo0 --nft-table wharf_demo \
    >>"$work/daemon.log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do wharf version >/dev/null 2>&1 && return; sleep 0.05; done
  cat "$work/daemon.log" >&2
  exit 1
}
cleanup() {
  if [[ -n $daemon_pid ]] && kill -0 "$daemon_pid" 2>/dev/null; then
    wharf ps -aq 2>/dev/null | xargs -r "$rel/wharf" -H "$sock" rm -f >/dev/null 2>&1 || true
    wharf network prune -f >/dev/null 2>&1 || true
    kill "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  # The default bridge and the rules outlive a daemon, as docker0 does.
  ip link del wharfdemo0 2>/dev/null || true
  nft delete table ip wharf_demo 2>/dev/null || true
  for c in demo-shell demo-forkbomb demo-oom; do rt delete --force "$c" >/dev/null 2>&1 || true; done
  # Anything still mounted below the work directory (an interrupted run).
  grep -o " $work/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

if [[ ${RUNTIME:-} == "" || $RUNTIME == "$work/wharf-runc" ]]; then
  echo "== wharf daemon: the Docker Engine API on $sock"
  start_daemon
  wharf version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}} (min {{.Server.MinAPIVersion}})'
  echo
  echo "== a busybox image from Debian's busybox-static"
  tools/busybox-image.sh "$work/busybox.tar"
  wharf import --change 'CMD ["sh"]' "$work/busybox.tar" busybox >/dev/null
  wharf images
  echo
  echo "== wharf run --rm busybox ..."
  wharf run --rm busybox sh -c 'echo "hello from $(hostname), pid $$, as $(id -un)"; ls /'
  echo
  echo "== a detached container with a memory limit, a named volume and a health check"
  wharf volume create demo-data >/dev/null
  wharf run -d --name demo-web --memory 64m -v demo-data:/data \
    --health-cmd 'test -f /data/ready' --health-interval 1s \
    busybox sh -c 'echo started; touch /data/ready; i=0; while :; do i=$((i+1)); echo "tick $i" >>/data/ticks; sleep 1; done' >/dev/null
  sleep 2
  wharf ps --format 'table {{.Names}}\t{{.Image}}\t{{.Command}}\t{{.Status}}'
  echo
  echo "== wharf exec demo-web ps"
  wharf exec demo-web ps
  echo
  echo "== wharf logs demo-web; wharf stats --no-stream"
  wharf logs demo-web
  wharf stats --no-stream --format 'table {{.Name}}\t{{.MemUsage}}\t{{.PIDs}}'
  echo
  echo "== kill -9 the daemon: the container keeps running; a new daemon finds it (live restore)"
  kill -9 "$daemon_pid"
  wait "$daemon_pid" 2>/dev/null || true
  sleep 1
  start_daemon
  wharf ps --format 'table {{.Names}}\t{{.Status}}'
  wharf exec demo-web sh -c 'echo "ticks while the daemon was down and since: $(wc -l </data/ticks)"'
  echo
  echo "== stop and remove it; the named volume keeps its data"
  wharf stop -t 1 demo-web >/dev/null
  wharf rm demo-web >/dev/null
  wharf run --rm -v demo-data:/data busybox sh -c 'echo "the volume still has $(wc -l </data/ticks) ticks"'
  echo
  echo "== networking: a user network with its DNS, a published port"
  wharf network create demo-net >/dev/null
  wharf network inspect demo-net --format 'network {{.Name}}: {{range .IPAM.Config}}{{.Subnet}} via {{.Gateway}}{{end}}'
  wharf run -d --name demo-http --network demo-net -p 127.0.0.1::80 busybox \
    sh -c 'echo "hello from $(hostname) over the network" >/tmp/index.html; exec httpd -f -p 80 -h /tmp' >/dev/null
  wharf port demo-http
  port=$(wharf port demo-http 80 | sed 's/.*://')
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/" && break; sleep 0.05; done
  wharf run --rm --network demo-net busybox sh -c 'wget -qO- http://demo-http/ | sed "s/^/by name from another container: /"'
  wharf rm -f demo-http >/dev/null
  wharf network rm demo-net >/dev/null
  echo
  echo "== wharf build: a Dockerfile on top of busybox"
  mkdir -p "$work/app"
  printf 'Hello from a file in the build context.\n' >"$work/app/hello.txt"
  cat >"$work/app/Dockerfile" <<'DOCKERFILE'
FROM busybox
ENV GREETING="built by wharf"
WORKDIR /app
COPY hello.txt .
RUN echo "$GREETING on $(date -u +%F)" > built.txt
USER nobody
CMD ["sh", "-c", "cat hello.txt built.txt; echo \"running as uid $(id -u) in $(pwd)\""]
DOCKERFILE
  wharf build -t demo-app "$work/app"
  echo
  echo "== wharf run --rm demo-app"
  wharf run --rm demo-app
  echo
  echo "== the same build again: every step from the cache"
  wharf build -t demo-app "$work/app" | grep -c 'Using cache' | sed 's/^/steps from cache: /'
  echo
  echo "== wharf history demo-app"
  wharf history demo-app
  if command -v docker >/dev/null; then
    echo
    echo "== the docker CLI on the same socket"
    DOCKER_HOST=$sock docker ps -a
    DOCKER_HOST=$sock docker run --rm demo-app
  fi
  echo
fi

PIDS=32
MEM=$((64 * 1024 * 1024))
"$rel/wharf-mkbundle" "$work/bundle" --hostname wharf-demo --pids "$PIDS" --memory "$MEM" \
  -- /bin/sh /demo.sh >/dev/null
cat >"$work/bundle/rootfs/demo.sh" <<'SCRIPT'
cg() { for f in "$@"; do [ -r "$f" ] && { cat "$f"; return; }; done; echo "?"; }
echo "hostname:      $(hostname)"
echo "my pid:        $$"
echo "processes:     $(ps -o pid,comm | tail -n +2 | tr -s ' ' | tr '\n' ';')"
echo "mounts:"
awk '{ printf "  %-16s %-8s %s\n", $2, $3, $4 }' /proc/self/mounts
echo "pids.max:      $(cg /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max)"
echo "memory limit:  $(cg /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max) bytes"
echo "capabilities (effective):"
/bin/wharf-probe report | tr ',' '\n' | sed -n '/"effective"/,/"bounding"/p' \
  | grep -o 'CAP_[A-Z_]*' | tr '\n' ' ' | fold -s -w 72 | sed 's/^/  /'
echo
SCRIPT

echo "== wharf runtime run: a busybox container (pids limit $PIDS, memory $((MEM >> 20)) MiB)"
echo "   host: hostname $(hostname), $(ls /proc | grep -c '^[0-9]') processes"
rt run --bundle "$work/bundle" demo-shell

echo
echo "== a fork bomb meets the pids limit"
"$rel/wharf-mkbundle" "$work/bundle" --hostname wharf-demo --pids "$PIDS" --memory "$MEM" \
  -- /bin/wharf-probe forkbomb >/dev/null
rt run --bundle "$work/bundle" demo-forkbomb || true

echo
echo "== allocating 256 MiB meets the memory limit"
"$rel/wharf-mkbundle" "$work/bundle" --hostname wharf-demo --pids "$PIDS" --memory "$MEM" \
  -- /bin/wharf-probe alloc 256 >/dev/null
set +e
rt run --bundle "$work/bundle" demo-oom
status=$?
set -e
if ((status == 137)); then
  echo "container killed by the OOM killer (exit status 137), host untouched"
else
  echo "container exited with status $status"
  exit 1
fi
