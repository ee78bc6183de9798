"""moto's S3 server (`moto_server`), with conditional writes made atomic as on real S3.

moto checks `If-None-Match: *` / `If-Match` and then stores the object in a second step, with
no lock between them: two concurrent create-only PUTs of one name can both see it absent and
both succeed, which real S3 never allows (the conformance test "concurrent creates of one
name have one winner" failed that way under load). This server is moto's own WSGI app, with
every write carrying a condition (PUT, POST or DELETE with If-None-Match or If-Match) served
one at a time. The request body is read before the lock is taken, so a slow upload does not
hold up the others; unconditional requests are served concurrently, as by `moto_server`.

moto also evaluates bucket policies without their `Bool` conditions: the usual TLS-only
statement (Deny every request with `aws:SecureTransport` = false, which `bucket apply` adds)
denies every object read, over TLS or not. This server stands in for an S3 endpoint that is
reached over TLS (the tests talk plain HTTP to it only because it is local), so such a
statement is left out when moto judges a request against the bucket policy; every other
statement (e.g. an unconditional Deny of s3:GetObject on one key) is judged as moto does.

    python moto_server.py -H HOST -p PORT
"""

import argparse
import io
import json
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3.models import FakeBucket
from werkzeug.serving import run_simple

CONDITIONAL_METHODS = ("PUT", "POST", "DELETE")
CONDITIONS = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH")


class SerialConditionalWrites:
    """WSGI middleware: conditional writes one at a time, everything else as it comes."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") not in CONDITIONAL_METHODS or not any(
            c in environ for c in CONDITIONS
        ):
            return self.app(environ, start_response)
        body = read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        with self.lock:
            # moto does its work while building the response: build all of it under the lock.
            return [b"".join(self.app(environ, start_response))]


def denies_plain_http_only(statement):
    """Whether `statement` is a Deny whose only condition is `aws:SecureTransport` = false."""
    condition = statement.get("Condition") or {}
    if statement.get("Effect") != "Deny" or list(condition) != ["Bool"]:
        return False
    if list(condition["Bool"]) != ["aws:SecureTransport"]:
        return False
    value = condition["Bool"]["aws:SecureTransport"]
    values = value if isinstance(value, list) else [value]
    return [str(v).lower() for v in values] == ["false"]


def get_permission(bucket, action, resource):
    """moto's FakeBucket.get_permission, judging requests as made over TLS."""
    if bucket.policy is None:
        return PermissionResult.NEUTRAL
    policy = json.loads(bucket.policy.decode())
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    policy["Statement"] = [s for s in statements if not denies_plain_http_only(s)]
    return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)


def read_body(environ):
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return stream.read(length) if length > 0 else b""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    FakeBucket.get_permission = get_permission
    app = DomainDispatcherApplication(create_backend_app)
    app.debug = True  # as moto_server sets it
    run_simple(
        args.host,
        args.port,
        SerialConditionalWrites(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
