#!/usr/bin/env bash
# Runs every test of the workspace, optimised (the numeric tests are heavy in debug builds), in the
# `release-checked` profile: release plus nice-plug's debug assertions (see Cargo.toml).
# Installs what it needs where missing. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-tools.sh
cargo fmt --all -- --check 2>/dev/null || echo "note: cargo fmt reports unformatted code (or rustfmt is missing)"
cargo test --workspace --profile release-checked --locked
# The built plugin through its C ABI (allocation checks armed) and in two real hosts' scanners.
bash scripts/test-plugin-hosts.sh
