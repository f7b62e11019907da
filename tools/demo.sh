#!/usr/bin/env bash
# tools/demo.sh: Wharf's main job, shown end to end. Builds `wharf` (release)
# unless it is built, then
#  1. images: makes a `busybox` image from Debian's busybox-static
#     (`wharf import`), runs it (`wharf run`), builds an image from a
#     Dockerfile on top of it (`wharf build`), runs that, shows its history,
#     and moves it to a second store with `wharf save` / `wharf load`;
#  2. the runtime: runs containers with `wharf runtime run` (through a
#     `wharf-runc` symlink) that show, from inside, their own hostname,
#     being pid 1, their own mounts, the pids and memory limits of their
#     cgroup and their capabilities; then a fork bomb stopped by the pids
#     limit and an allocation stopped by the memory limit.
# Everything lives in a temporary directory (its own --root) and is removed.
#
# RUNTIME=/usr/sbin/runc tools/demo.sh runs the same demo with runc.
set -euo pipefail

cd "$(dirname "$0")/.."
rel=target/x86_64-unknown-linux-gnu/release
if [[ ! -x $rel/wharf || ! -x $rel/wharf-mkbundle ]]; then
  cargo build --release --quiet -p wharf -p wharf-testkit
fi

work=$(mktemp -d /tmp/wharf-demo.XXXXXX)
ln -s "$PWD/$rel/wharf" "$work/wharf-runc"
RUNTIME=${RUNTIME:-$work/wharf-runc}
rt() { "$RUNTIME" --root "$work/state" "$@"; }
cleanup() {
  for c in demo-shell demo-forkbomb demo-oom; do rt delete --force "$c" >/dev/null 2>&1 || true; done
  # Anything still mounted below the stores (an interrupted run).
  grep -o " $work/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wharf() { "$PWD/$rel/wharf" --root "$work/store" "$@"; }
if [[ ${RUNTIME:-} == "" || $RUNTIME == "$work/wharf-runc" ]]; then
  echo "== a busybox image from Debian's busybox-static"
  tools/busybox-image.sh "$work/busybox.tar"
  wharf import --change 'CMD ["sh"]' "$work/busybox.tar" busybox >/dev/null
  wharf images
  echo
  echo "== wharf run --rm busybox ..."
  wharf run --rm busybox sh -c 'echo "hello from $(hostname), pid $$, as $(id -un)"; ls /'
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
  echo
  echo "== wharf save | wharf load into a second store: the same image id"
  wharf save demo-app | "$PWD/$rel/wharf" --root "$work/store2" load
  "$PWD/$rel/wharf" --root "$work/store2" images
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
