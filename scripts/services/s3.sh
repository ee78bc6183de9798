# An S3-compatible server for tests (standing in for MinIO and AWS): moto's server (PyPI).
# Exports THINLEDGER_TEST_S3_{ENDPOINT,BUCKET,REGION,ACCESS_KEY_ID,SECRET_ACCESS_KEY}, and
# THINLEDGER_TEST_S3_PYTHON: moto's Python (with boto3), which runs lib/s3_admin.py for the
# control-plane steps of the encryption tests (KMS keys, bucket policies, HeadObject).
# moto runs through lib/moto_server.py: moto's app, with conditional writes (If-None-Match,
# If-Match) served one at a time, since moto checks the condition and stores the object in two
# steps and concurrent create-only PUTs could otherwise both win (real S3 is atomic).
# Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

_tl_s3() {
    local t0 installed_in port venv
    t0="$(tl_now)"
    tl_pip_install 'moto[server]==5.2.5' || return 1
    venv="$(tl_venv)" || return 1
    installed_in="$(tl_elapsed "$t0")"

    t0="$(tl_now)"
    port="$(tl_free_port)"
    # moto's request recorder (lib/s3_admin.py record-start) writes here, not into the checkout.
    export MOTO_RECORDER_FILEPATH="$THINLEDGER_TEST_DIR/moto-recording.jsonl"
    tl_start s3 "$venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/lib/moto_server.py" -H 127.0.0.1 -p "$port"
    tl_wait_http s3 "http://127.0.0.1:$port/" "$TL_LAST_PID" || return 1

    export THINLEDGER_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
    export THINLEDGER_TEST_S3_BUCKET=thinledger-test
    export THINLEDGER_TEST_S3_REGION=us-east-1
    # moto accepts any key pair; these are test values, not secrets.
    export THINLEDGER_TEST_S3_ACCESS_KEY_ID=thinledger-test
    export THINLEDGER_TEST_S3_SECRET_ACCESS_KEY=thinledger-test-secret
    export THINLEDGER_TEST_S3_PYTHON="$venv/bin/python"
    curl -sf -X PUT -o /dev/null "$THINLEDGER_TEST_S3_ENDPOINT/$THINLEDGER_TEST_S3_BUCKET" ||
        { tl_fail "could not create the S3 bucket on moto"; return 1; }
    tl_say "s3: moto on 127.0.0.1:$port (install ${installed_in}s, start $(tl_elapsed "$t0")s)"
}
_tl_s3
