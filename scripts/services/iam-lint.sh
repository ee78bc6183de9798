# Independent checkers of the access documents `ledger-topology iam` writes (PyPI):
#   - parliament: an AWS IAM policy linter that knows the grammar, every action, resource
#     type and condition key; exports THINLEDGER_TEST_PARLIAMENT (reads a policy on stdin).
#   - python-hcl2: an HCL2 parser; no Terraform binary is obtainable from the registries here
#     (and `terraform validate` would need the providers' plugins), so the Terraform snippets
#     are parsed with it. Exports THINLEDGER_TEST_HCL2_JSON (files in, their JSON out).
# Both live in one cached venv of their own. Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

_TL_IAM_LINT_REQUIREMENTS=('parliament==1.6.4' 'python-hcl2==8.1.4')

_tl_iam_lint() {
    local t0 venv harness
    t0="$(tl_now)"
    venv="$THINLEDGER_CACHE_DIR/venv-iam-lint"
    if [ ! -e "$venv/.installed" ]; then
        rm -rf "$venv"
        command -v python3 >/dev/null || tl_apt_install python3 || return 1
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            rm -rf "$venv"
            tl_apt_install python3-venv || return 1
            python3 -m venv "$venv" >&2 || { tl_fail "python3 -m venv $venv failed"; return 1; }
        fi
        tl_say "installing ${_TL_IAM_LINT_REQUIREMENTS[*]} (Python, into $venv)"
        "$venv/bin/pip" install -q --disable-pip-version-check "${_TL_IAM_LINT_REQUIREMENTS[@]}" >"$THINLEDGER_TEST_DIR/pip-iam-lint.log" 2>&1 ||
            { tail -n 30 "$THINLEDGER_TEST_DIR/pip-iam-lint.log" >&2; tl_fail "pip install ${_TL_IAM_LINT_REQUIREMENTS[*]} failed (log above)"; return 1; }
        touch "$venv/.installed"
    fi
    export THINLEDGER_TEST_PARLIAMENT="$venv/bin/parliament"
    harness="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/hcl2_json.py"
    THINLEDGER_TEST_HCL2_JSON="$THINLEDGER_TEST_DIR/hcl2-json"
    printf '#!/bin/sh\nexec %q %q "$@"\n' "$venv/bin/python" "$harness" >"$THINLEDGER_TEST_HCL2_JSON"
    chmod +x "$THINLEDGER_TEST_HCL2_JSON"
    export THINLEDGER_TEST_HCL2_JSON
    # One policy each way, so a broken install fails here rather than in every test.
    "$THINLEDGER_TEST_PARLIAMENT" --json <<<'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}' >/dev/null ||
        { tl_fail "parliament failed on a valid policy"; return 1; }
    ! "$THINLEDGER_TEST_PARLIAMENT" --json <<<'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObjekt","Resource":"*"}]}' >/dev/null ||
        { tl_fail "parliament passed an unknown action"; return 1; }
    tl_say "IAM checkers: parliament 1.6.4, python-hcl2 8.1.4 ($(tl_elapsed "$t0")s)"
}
_tl_iam_lint
