# Azure Blob for tests: Azurite's blob service (npm), one container, the development account.
# Exports THINLEDGER_TEST_AZURITE_{ENDPOINT,ACCOUNT,KEY,CONTAINER}, and
# THINLEDGER_TEST_AZURITE_DEBUG_LOG: Azurite's debug log, which records every request's headers
# (the immutability tests read the headers thinledger sent). Sourced by scripts/test.sh.
# shellcheck source=scripts/services/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

_tl_azurite() {
    local t0 prefix port dir
    t0="$(tl_now)"
    prefix="$(tl_npm_install azurite 3.35.0)" || return 1
    local installed_in
    installed_in="$(tl_elapsed "$t0")"

    t0="$(tl_now)"
    port="$(tl_free_port)"
    dir="$THINLEDGER_TEST_DIR/azurite"
    mkdir -p "$dir"
    # A folder, not --inMemoryPersistence: the in-memory store keeps its peak size resident.
    tl_start azurite "$prefix/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" \
        --location "$dir" --disableTelemetry --silent --debug "$dir/debug.log"
    tl_wait_http azurite "http://127.0.0.1:$port/" "$TL_LAST_PID" || return 1

    # Azurite's well-known development account (documented by Azurite; not a secret).
    export THINLEDGER_TEST_AZURITE_ACCOUNT=devstoreaccount1
    export THINLEDGER_TEST_AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
    export THINLEDGER_TEST_AZURITE_ENDPOINT="http://127.0.0.1:$port/$THINLEDGER_TEST_AZURITE_ACCOUNT"
    export THINLEDGER_TEST_AZURITE_CONTAINER=thinledger-test
    export THINLEDGER_TEST_AZURITE_DEBUG_LOG="$dir/debug.log"
    # object_store cannot create containers; a SharedKey-signed "Create Container" does.
    python3 - "$THINLEDGER_TEST_AZURITE_ENDPOINT" "$THINLEDGER_TEST_AZURITE_ACCOUNT" \
        "$THINLEDGER_TEST_AZURITE_KEY" "$THINLEDGER_TEST_AZURITE_CONTAINER" <<'PY' || { tl_fail "could not create the Azurite container"; return 1; }
import base64, hashlib, hmac, sys, urllib.parse, urllib.request
from email.utils import formatdate
endpoint, account, key, container = sys.argv[1:]
url = f"{endpoint}/{container}?restype=container"
headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2021-08-06"}
canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
path = urllib.parse.urlparse(url).path
to_sign = "PUT\n" + "\n" * 11 + canonical_headers + f"/{account}{path}\nrestype:container"
signature = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
headers["Authorization"] = f"SharedKey {account}:{signature}"
# No body and an explicit length: urllib would otherwise add a Content-Type that is not signed.
headers["Content-Length"] = "0"
request = urllib.request.Request(url, method="PUT", headers=headers)
try:
    urllib.request.urlopen(request, timeout=10)
except urllib.error.HTTPError as e:
    if e.code != 409:  # 409: the container exists already
        sys.exit(f"create container: HTTP {e.code}: {e.read()[:300]!r}")
PY
    tl_say "azurite: blob service on 127.0.0.1:$port (install ${installed_in}s, start $(tl_elapsed "$t0")s)"
}
_tl_azurite
