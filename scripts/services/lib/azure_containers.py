"""Azurite containers in a known state for the Azure control-plane tests (crates/bucket).

    azure_containers.py make NAME ACCESS     # ACCESS: private, blob or container

Reads THINLEDGER_TEST_AZURITE_{ENDPOINT,ACCOUNT,KEY} (scripts/services/azurite.sh). Requests
are signed with the development account's Shared Key, as Azurite checks them; the standard
library only, so the system python3 runs it.
"""

import base64
import hashlib
import hmac
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from email.utils import formatdate


def signed(method, url, account, key, extra):
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": "2021-08-06", **extra}
    canonical = "".join(
        f"{k}:{v}\n" for k, v in sorted(headers.items()) if k.startswith("x-ms-")
    )
    parsed = urllib.parse.urlparse(url)
    query = "".join(
        f"\n{k}:{v}" for k, v in sorted(urllib.parse.parse_qsl(parsed.query))
    )
    to_sign = f"{method}\n" + "\n" * 11 + canonical + f"/{account}{parsed.path}{query}"
    mac = hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
    headers["Authorization"] = f"SharedKey {account}:{base64.b64encode(mac).decode()}"
    # No body and an explicit length: urllib would otherwise add a Content-Type that is not signed.
    headers["Content-Length"] = "0"
    return urllib.request.Request(url, method=method, headers=headers)


def main():
    endpoint = os.environ["THINLEDGER_TEST_AZURITE_ENDPOINT"]
    account = os.environ["THINLEDGER_TEST_AZURITE_ACCOUNT"]
    key = os.environ["THINLEDGER_TEST_AZURITE_KEY"]
    verb, name, access = sys.argv[1:4]
    if verb != "make" or access not in ("private", "blob", "container"):
        sys.exit(__doc__)
    extra = {} if access == "private" else {"x-ms-blob-public-access": access}
    request = signed("PUT", f"{endpoint}/{name}?restype=container", account, key, extra)
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as e:
        sys.exit(f"create container {name}: HTTP {e.code}: {e.read()[:300]!r}")


if __name__ == "__main__":
    main()
