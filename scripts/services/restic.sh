# Debian's restic, the reference implementation for interop tests. Exports THINLEDGER_TEST_RESTIC.
# Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

_tl_restic() {
    local t0
    t0="$(tl_now)"
    tl_apt_install restic || return 1
    THINLEDGER_TEST_RESTIC="$(command -v restic)" || { tl_fail "restic is not on PATH after installing it"; return 1; }
    export THINLEDGER_TEST_RESTIC
    tl_say "restic: $("$THINLEDGER_TEST_RESTIC" version | head -n 1) (install ${t0:+$(tl_elapsed "$t0")}s)"
}
_tl_restic
