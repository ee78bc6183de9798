#!/usr/bin/env bash
# Runs every test of the workspace. This is the single place that installs and starts what the
# tests need (storage emulators, PostgreSQL, restic): each service's setup is a file in
# scripts/services/ that this script sources; it starts its server under $THINLEDGER_TEST_DIR,
# exports where it listens (THINLEDGER_TEST_* variables) and registers its shutdown with
# `on_exit`. Everything stops when this script exits.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

THINLEDGER_TEST_DIR="$(mktemp -d "${TMPDIR:-/tmp}/thinledger-test.XXXXXX")"
export THINLEDGER_TEST_DIR
cleanups=()
on_exit() { cleanups+=("$1"); }
run_cleanups() {
    for ((i = ${#cleanups[@]} - 1; i >= 0; i--)); do eval "${cleanups[i]}" || true; done
    rm -rf "$THINLEDGER_TEST_DIR"
}
trap run_cleanups EXIT

# Tests that need a service fail (instead of skipping) when this is set and the service is missing.
export THINLEDGER_REQUIRE_SERVICES=1
for setup in scripts/services/*.sh; do
    [ -e "$setup" ] || continue
    # shellcheck source=/dev/null
    source "$setup"
done

# `--workspace` would override a `-p PACKAGE` given for a targeted run, so it is added only
# when no package is named.
scope=(--workspace)
for arg in "$@"; do
    case "$arg" in
    --) break ;;
    -p | --package | -p* | --package=*) scope=() ;;
    esac
done
cargo test "${scope[@]}" --all-features --locked "$@"

# A downstream application outside the workspace (tests/downstream, its own Cargo.lock) that
# picks its own Kubernetes version: it builds only while no library crate picks one. It uses
# the workspace's target folder, so the dependencies both share are compiled once. A targeted
# run (arguments given) skips it unless THINLEDGER_TEST_DOWNSTREAM=1.
if [ "$#" -eq 0 ] || [ "${THINLEDGER_TEST_DOWNSTREAM:-}" = 1 ]; then
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" \
        cargo run --locked --manifest-path tests/downstream/Cargo.toml
fi
