# Independent checkers of rendered Kubernetes manifests, for the topology tests (PyPI):
#   - kubernetes-validate: the Kubernetes OpenAPI schemas, strict (unknown fields rejected);
#     exports THINLEDGER_TEST_KUBERNETES_VALIDATE.
#   - checkov: a widely used security scanner; exports THINLEDGER_TEST_CHECKOV.
# Each gets its own virtual environment in the cache (checkov pins many packages that must
# not meet the servers' ones). Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# Installs an exact requirement into its own cached venv; prints the venv's path.
_tl_tool_venv() {
    local name="$1" requirement="$2" venv
    venv="$THINLEDGER_CACHE_DIR/venv-$name"
    if [ ! -e "$venv/.installed" ]; then
        rm -rf "$venv"
        command -v python3 >/dev/null || tl_apt_install python3 >&2 || return 1
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            rm -rf "$venv"
            tl_apt_install python3-venv >&2 || return 1
            python3 -m venv "$venv" >&2 || { tl_fail "python3 -m venv $venv failed"; return 1; }
        fi
        tl_say "installing $requirement (Python, into $venv)"
        "$venv/bin/pip" install -q --disable-pip-version-check "$requirement" >"$THINLEDGER_TEST_DIR/pip-$name.log" 2>&1 ||
            { tail -n 30 "$THINLEDGER_TEST_DIR/pip-$name.log" >&2; tl_fail "pip install $requirement failed (log above)"; return 1; }
        touch "$venv/.installed"
    fi
    printf '%s\n' "$venv"
}

_tl_manifest_checkers() {
    local t0 venv
    t0="$(tl_now)"
    venv="$(_tl_tool_venv kubernetes-validate 'kubernetes-validate==1.37.0')" || return 1
    export THINLEDGER_TEST_KUBERNETES_VALIDATE="$venv/bin/kubernetes-validate"
    venv="$(_tl_tool_venv checkov 'checkov==3.3.30')" || return 1
    export THINLEDGER_TEST_CHECKOV="$venv/bin/checkov"
    tl_say "manifest checkers: kubernetes-validate 1.37.0, checkov 3.3.30 ($(tl_elapsed "$t0")s)"
}
_tl_manifest_checkers
