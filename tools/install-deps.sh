#!/usr/bin/env bash
# Installs everything Wharf's build, tests, demo and benchmarks need on a
# fresh Debian 12 machine. Idempotent and quiet: when every package is
# already installed it only checks and returns.
set -euo pipefail

PACKAGES=(
  busybox-static   # the root filesystem of test bundles and the demo
  runc crun        # reference runtimes (tests against runc, benchmark)
  podman conmon skopeo uidmap slirp4netns containernetworking-plugins
                   # real-client tests: podman --runtime wharf-runc
  fuse-overlayfs
  qemu-system-x86 linux-image-amd64 cpio xz-utils zstd
                   # the cgroup v2 VM tests (tools/cgroup2-vm.sh)
  hyperfine time   # bench/: timings and peak RSS (/usr/bin/time -f %M)
  iptables nftables
  docker.io        # a private dockerd 20.10 for the archive and build tests
  docker-compose socat iperf3
                   # the compose scenario; published-port throughput (bench)
  util-linux bsdutils procps psmisc
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Services in packages (docker.io) must not be started by the install:
  # the tests start what they need.
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  trap '((made_policy)) && rm -f "$policy"' EXIT
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Docker SDK for Python (the engine's SDK tests): Debian's package
# unless some python3 already imports it.
if ! python3 -c 'import docker' >/dev/null 2>&1; then
  echo "install-deps: installing python3-docker"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-docker >/dev/null \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
         apt-get install -y -qq --no-install-recommends python3-docker >/dev/null; }
fi

# Rust tooling: the toolchain comes with the machine; nextest is expected
# preinstalled and is installed from crates.io only when missing.
command -v cargo >/dev/null || { echo "install-deps: cargo not found" >&2; exit 1; }
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: installing cargo-nextest"
  cargo install --locked --quiet cargo-nextest
fi
for tool in fmt clippy; do
  cargo "$tool" --version >/dev/null 2>&1 || rustup component add "$( [[ $tool == fmt ]] && echo rustfmt || echo clippy)"
done
