# shellcheck shell=bash
# Sourced by scripts/test.sh. Installs the independent validators the topology tests run on
# rendered manifests, each into its own Python virtual environment (cached between runs):
#   - kubernetes-validate: Kubernetes OpenAPI schemas, strict (unknown fields rejected);
#     exported as THINLEDGER_TEST_KUBERNETES_VALIDATE.
#   - checkov: a widely used security scanner for Kubernetes manifests;
#     exported as THINLEDGER_TEST_CHECKOV.
# Needs python3 with venv and pip (Debian: apt-get install python3-venv).

thinledger_python_tool() {
    # $1 = venv name, $2 = pip requirement, $3 = executable inside the venv
    local cache="${THINLEDGER_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/thinledger/tools}"
    local venv="$cache/$1"
    if [ ! -x "$venv/bin/$3" ]; then
        mkdir -p "$cache"
        rm -rf "$venv"
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$2" >&2
    fi
    printf '%s\n' "$venv/bin/$3"
}

THINLEDGER_TEST_KUBERNETES_VALIDATE="$(thinledger_python_tool kubernetes-validate-1.37.0 'kubernetes-validate==1.37.0' kubernetes-validate)"
export THINLEDGER_TEST_KUBERNETES_VALIDATE
THINLEDGER_TEST_CHECKOV="$(thinledger_python_tool checkov-3.3.30 'checkov==3.3.30' checkov)"
export THINLEDGER_TEST_CHECKOV
