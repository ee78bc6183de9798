#!/usr/bin/env python3
"""Evaluates Rego policies with the real OPA engine, as ledger-policy evaluates them.

OPA (Go) comes as a C shared library, libopabridge.so, from the PyPI wheel
opa-golib-python-bindings (scripts/services/opa.sh fetches it). This harness talks to it
with ctypes, so it needs no Python package and runs on the Python 3.11 this image has.

    opa_eval.py --bridge libopabridge.so --policies DIR [--policies DIR ...] < inputs.json

stdin holds a JSON array of inputs (each the document ledger-policy gives the policies:
conftest --combine's [{"path", "contents"}]). stdout gets a JSON array with one result per
input: {"findings": [...]} with findings shaped like thinledger_policy::Finding, or
{"error": "..."} when OPA fails the evaluation. One process evaluates many inputs, so the
policies are compiled once.

As ledger-policy does, the whole `data` document is evaluated and every package's deny,
violation and warn rules (and their _suffixed forms, conftest's convention) are read.
"""

import argparse
import ctypes
import json
import os
import re
import sys


class Bridge:
    """The few calls of libopabridge.so this harness needs. Every fallible call returns a
    malloc'd JSON envelope {"result": ..., "error": {"code", "message"}} that we free."""

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        lib.OpaNew.restype = ctypes.c_uint64
        lib.OpaNew.argtypes = []
        lib.OpaDestroy.restype = None
        lib.OpaDestroy.argtypes = [ctypes.c_uint64]
        lib.OpaFreeString.restype = None
        lib.OpaFreeString.argtypes = [ctypes.c_void_p]
        for name in ("OpaAddPolicy", "OpaAddData"):
            fn = getattr(lib, name)
            fn.restype = ctypes.c_void_p
            fn.argtypes = [ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p]
        # (handle, path or query, input JSON, coverage, trace)
        lib.OpaEvalDocument.restype = ctypes.c_void_p
        lib.OpaEvalDocument.argtypes = [
            ctypes.c_uint64, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
        ]
        self.lib = lib
        self.handle = lib.OpaNew()

    def _envelope(self, ptr):
        if not ptr:
            raise RuntimeError("the OPA bridge returned NULL")
        try:
            raw = ctypes.string_at(ptr)
        finally:
            self.lib.OpaFreeString(ptr)
        envelope = json.loads(raw)
        err = envelope.get("error")
        if err:
            raise RuntimeError(f"{err.get('code', 'error')}: {err.get('message', '')}")
        return envelope

    def add_policy(self, name, source):
        self._envelope(self.lib.OpaAddPolicy(self.handle, name.encode(), source.encode()))

    def eval_data(self, input_doc):
        """The whole data document for this input (OPA evaluates every rule)."""
        text = json.dumps(input_doc, ensure_ascii=False).encode()
        envelope = self._envelope(self.lib.OpaEvalDocument(self.handle, b"", text, 0, 0))
        rs = envelope.get("result") or []
        if not rs or not rs[0].get("expressions"):
            return {}
        return rs[0]["expressions"][0]["value"]


def rego_files(path):
    if os.path.isfile(path):
        return [path]
    found = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(root, f) for f in sorted(files)
                  if f.endswith(".rego") and not f.endswith("_test.rego")]
    return found


PACKAGE = re.compile(r"^\s*package\s+([A-Za-z0-9_.]+)", re.MULTILINE)


def severity(rule):
    """conftest's convention, as thinledger_policy::Severity::of_rule."""
    def is_(base):
        return rule == base or (rule.startswith(base) and rule[len(base):].startswith("_"))
    if is_("deny") or is_("violation"):
        return "deny"
    if is_("warn"):
        return "warn"
    return None


def finding(package, rule, sev, item):
    """One rule result as a Finding (thinledger_policy's conversion)."""
    if isinstance(item, str):
        return {"severity": sev, "rule": f"{package}.{rule}", "resource": "", "file": "",
                "message": item, "remediation": ""}
    if isinstance(item, dict) and isinstance(item.get("msg"), str):
        def text(key):
            v = item.get(key)
            return v if isinstance(v, str) else ""
        return {"severity": sev, "rule": text("rule") or f"{package}.{rule}",
                "resource": text("resource"), "file": text("file"),
                "message": text("message") or text("msg"), "remediation": text("remediation")}
    raise RuntimeError(f"data.{package}.{rule} produced {json.dumps(item)}")


def findings(data, packages):
    out = []
    for package in packages:
        node = data
        for part in package.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if not isinstance(node, dict):
            continue
        for rule, value in node.items():
            sev = severity(rule)
            if sev is None:
                continue
            items = value if isinstance(value, list) else ([] if value in (False, None) else [value])
            out += [finding(package, rule, sev, item) for item in items]
    # A set of findings, in a stable order.
    unique = {json.dumps(f, sort_keys=True): f for f in out}
    return [unique[k] for k in sorted(unique)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bridge", required=True, help="path of libopabridge.so")
    ap.add_argument("--policies", action="append", required=True,
                    help="a .rego file or a directory of them (repeatable)")
    ap.add_argument("--raw", action="store_true",
                    help="print the whole data document of each input instead of findings")
    args = ap.parse_args()

    bridge = Bridge(args.bridge)
    packages = set()
    for path in args.policies:
        for f in rego_files(path):
            with open(f, encoding="utf-8") as fh:
                source = fh.read()
            bridge.add_policy(f, source)
            packages.update(PACKAGE.findall(source))

    inputs = json.load(sys.stdin)
    results = []
    for doc in inputs:
        try:
            data = bridge.eval_data(doc)
            results.append({"data": data} if args.raw else {"findings": findings(data, sorted(packages))})
        except RuntimeError as e:
            results.append({"error": str(e)})
    try:
        json.dump(results, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped early (`| head`): its choice, not an error.
        sys.stderr.close()


if __name__ == "__main__":
    main()
