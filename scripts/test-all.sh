#!/usr/bin/env bash
# Runs every test of the workspace, optimised (the numeric tests are heavy in debug builds), in the
# `release-checked` profile: release plus nice-plug's debug assertions (see Cargo.toml).
# Installs what it needs where missing. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
# A clean test run fills about 1.5 GB under target/ (host tests included); a full disk kills the
# linker mid-write (SIGBUS), which reads like a toolchain crash. Say so up front.
free_kb=$(df -Pk . | awk 'NR == 2 {print $4}')
echo "disk: $((free_kb / 1024)) MiB free for target/"
if [ "$free_kb" -lt $((4 * 1024 * 1024)) ]; then
  echo "warning: less than 4 GiB free; the build may fail at link time for lack of disk" >&2
fi
cargo fmt --all -- --check 2>/dev/null || echo "note: cargo fmt reports unformatted code (or rustfmt is missing)"
# xtask is left out: it has no tests, `cargo xtask` builds it in `release`, and in this build its
# dependencies (cargo_metadata, goblin) would change serde's and syn's features, so the test plugin
# bundle (test-plugin-hosts.sh) could not reuse the crates compiled here.
cargo test --workspace --exclude xtask --profile release-checked --locked
# The built plugin through its C ABI (allocation checks armed) and in two real hosts' scanners.
bash scripts/test-plugin-hosts.sh
