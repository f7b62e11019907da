# Wharf's one task runner: the README and .ci/run call these recipes.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: all deps build release lint test test-unit test-cgroup2 demo bench

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

## test: every test, from a fresh machine: deps, lint, the workspace's tests
## on this host, then the cgroup v2 tests in a VM
test: deps
	$(MAKE) lint
	$(MAKE) test-unit
	$(MAKE) test-cgroup2

## test-unit: the workspace's tests on this host (root, real kernel)
test-unit: build
	$(CARGO) nextest run --workspace --no-fail-fast

## test-cgroup2: tests that need a pure cgroup v2 host, run in a QEMU guest by
## tools/cgroup2-vm.sh; CGROUP2_TEST_CMD is the command run in the guest
## (filled in by the cgroups work; empty means nothing to run yet)
CGROUP2_TEST_CMD ?=
test-cgroup2:
	@if [[ -n "$(CGROUP2_TEST_CMD)" ]]; then \
	  tools/cgroup2-vm.sh $(CGROUP2_TEST_CMD); \
	else \
	  echo "test-cgroup2: no cgroup v2 VM tests configured"; \
	fi

## demo: build, then run containers with `wharf runtime run` showing
## isolation and limits (tools/demo.sh)
demo: deps release
	tools/demo.sh

## bench: wharf vs runc vs crun (bench/runtime)
bench: deps
	bench/runtime
