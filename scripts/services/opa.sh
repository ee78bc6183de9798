# The real OPA engine, for the guardrail tests that check ledger-policy agrees with it.
# No opa or conftest binary is obtainable from the registries here, but PyPI's
# opa-golib-python-bindings ships OPA (Go, v1.x) compiled as a C shared library,
# libopabridge.so. Its wheel declares Python >= 3.14, so it is downloaded (not installed) and
# unpacked; scripts/services/lib/opa_eval.py loads the library with ctypes from any Python 3.
#
# The bridge turns on OPA's strict builtin errors (a failing builtin aborts the query), which
# `opa eval` and conftest leave off. The flag is a constant in the bridge, so a second copy of
# the library gets that one byte cleared (checked before patching, for this pinned wheel):
# the tests compare ledger-policy with what users run, non-strict, and also check that no
# builtin fails under strict errors.
#
# Exports THINLEDGER_TEST_OPA_EVAL (the harness, evaluating with non-strict OPA) and
# THINLEDGER_TEST_OPA_BRIDGE_STRICT (the unmodified library: pass `--bridge` to the harness).
# Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

_TL_OPA_VERSION=0.4.4
_TL_OPA_WHEEL=opa_golib_python_bindings-0.4.4-py3-none-manylinux_2_34_x86_64.whl
_TL_OPA_SHA256=d411c901e14b8c7c3023e23e4a944f4cf429c1d31baf80e959e57d11efbfd24a

_tl_opa() {
    local t0 dir python harness
    t0="$(tl_now)"
    dir="$THINLEDGER_CACHE_DIR/opa-$_TL_OPA_VERSION"
    command -v python3 >/dev/null || tl_apt_install python3 || return 1
    python="$(command -v python3)"
    if [ ! -e "$dir/.installed" ]; then
        rm -rf "$dir"
        mkdir -p "$dir"
        command -v pip3 >/dev/null || "$python" -m pip --version >/dev/null 2>&1 || tl_apt_install python3-pip || return 1
        tl_say "downloading opa-golib-python-bindings $_TL_OPA_VERSION (OPA as a shared library, PyPI)"
        "$python" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.14 --platform manylinux_2_34_x86_64 \
            "opa-golib-python-bindings==$_TL_OPA_VERSION" -d "$dir" >"$THINLEDGER_TEST_DIR/pip-opa.log" 2>&1 ||
            { tail -n 30 "$THINLEDGER_TEST_DIR/pip-opa.log" >&2; tl_fail "pip download opa-golib-python-bindings failed (log above)"; return 1; }
        echo "$_TL_OPA_SHA256  $dir/$_TL_OPA_WHEEL" | sha256sum -c --quiet - >&2 ||
            { tl_fail "$dir/$_TL_OPA_WHEEL: unexpected checksum"; return 1; }
        "$python" - "$dir/$_TL_OPA_WHEEL" "$dir" <<'PY' || { tl_fail "unpacking the OPA bridge failed"; return 1; }
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    lib = bytearray(z.read("opa_bindings/libopabridge.so"))
open(f"{out}/libopabridge.so", "wb").write(lib)
# main.evalCommon: `lea StrictBuiltinErrors.3 closure; mov %rcx,(%rax); movb $1,8(%rax)`:
# the closure's captured bool is the strict flag. Clear it in a second copy.
at = 0x9AB0A4
expected = bytes.fromhex("488d0df5060000488908c6400801")
if bytes(lib[at:at + len(expected)]) != expected:
    sys.exit("the strict-builtin-errors instruction is not where expected in this wheel")
lib[at + len(expected) - 1] = 0
open(f"{out}/libopabridge-nonstrict.so", "wb").write(lib)
PY
        touch "$dir/.installed"
    fi
    harness="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/opa_eval.py"
    THINLEDGER_TEST_OPA_EVAL="$THINLEDGER_TEST_DIR/opa-eval"
    printf '#!/bin/sh\nexec %q %q --bridge %q "$@"\n' "$python" "$harness" "$dir/libopabridge-nonstrict.so" >"$THINLEDGER_TEST_OPA_EVAL"
    chmod +x "$THINLEDGER_TEST_OPA_EVAL"
    export THINLEDGER_TEST_OPA_EVAL
    export THINLEDGER_TEST_OPA_BRIDGE_STRICT="$dir/libopabridge.so"
    # One evaluation, so a broken library fails here rather than in every test.
    printf '[[]]' | "$THINLEDGER_TEST_OPA_EVAL" --policies "$(dirname "$harness")/../../../crates/policy/policies" >/dev/null ||
        { tl_fail "the OPA harness failed on an empty input"; return 1; }
    tl_say "OPA: opa-golib-python-bindings $_TL_OPA_VERSION, non-strict copy ($(tl_elapsed "$t0")s)"
}
_tl_opa
