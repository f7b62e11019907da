# Wharf's one task runner: the README and .ci/run call these recipes.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: all deps build release lint test test-unit test-cgroup2 demo bench bench-build bench-engine

all: build

## deps: install the Debian packages and tools everything else needs
deps:
	tools/install-deps.sh

## build: debug build of every crate (the tests run these binaries)
build:
	$(CARGO) build --workspace

## release: optimized build
release:
	$(CARGO) build --workspace --release

## lint: formatting and clippy, warnings are errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## test: every test, from a fresh machine: deps, lint, then the workspace's
## tests on this host -- which include the cgroup v2 tests, run in a QEMU
## guest by tools/cgroup2-vm.sh where the host is not pure cgroup v2
test: deps
	$(MAKE) lint
	$(MAKE) test-unit

## test-unit: the workspace's tests on this host (root, real kernel)
test-unit: build
	$(CARGO) nextest run --workspace --no-fail-fast

## test-cgroup2: only the tests that need a pure cgroup v2 hierarchy (in the
## QEMU guest on a host that is not pure v2)
test-cgroup2: build
	$(CARGO) nextest run --workspace --no-fail-fast -E 'test(/guest/) | test(/^v2_/)'

## demo: build, then run containers with `wharf runtime run` showing
## isolation and limits (tools/demo.sh)
demo: deps release
	tools/demo.sh

## bench: wharf vs runc vs crun (bench/runtime)
bench: deps
	bench/runtime

## bench-build: wharf build vs docker build (classic builder), layer apply vs tar -x (bench/build)
bench-build: deps
	bench/build

## bench-engine: the docker CLI against wharf daemon vs dockerd: run --rm, exec, ps, 50 x run -d, idle RSS, shim PSS; networking: run --rm with/without, published-port stream (bench/engine; PARTS, WHARF_BIN for a quick run)
bench-engine: deps
	bench/engine
