#!/usr/bin/env bash
# The one test command (README "Run every test"; .ci/run runs exactly this).
# Installs what the tests need (Debian packages; run as root), then checks formatting and
# clippy, then runs every test of the workspace, end-to-end network-namespace tests
# included. KVRS_REQUIRE_E2E=1 makes an end-to-end test that cannot run fail, not skip.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "tests/run-all.sh: must run as root (network namespaces, raw sockets)" >&2
  exit 1
fi

# Debian packages: keepalived (interop peer, sample configurations, verdict baseline),
# iproute2 (namespaces), tcpdump (wire captures in end-to-end tests), nftables (no_accept
# filtering), curl (reachability probes).
need=()
for p in keepalived iproute2 tcpdump nftables curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# The QEMU VM with a stock kernel that has IPVS (tests/ipvs_vm.rs): installs qemu-system-x86,
# busybox-static, ipvsadm and xz-utils, and caches the kernel in /tmp/ipvs-vm (quick when done).
tests/vm/ipvs-vm.sh setup
# keepalived's package may start a service on install; our tests need it stopped.
if command -v systemctl >/dev/null 2>&1; then systemctl stop keepalived 2>/dev/null || true; fi
pkill -x keepalived 2>/dev/null || true

cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

export KVRS_REQUIRE_E2E=1
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast
fi
