"""Parses HCL2 (Terraform) files with python-hcl2 and prints them as one JSON object,
{path: parsed}, strings without their quotes. A `jsonencode(...)` of a literal is parsed
too and printed as {"jsonencode": value}, so a test can compare it with the JSON it encodes.
Exits 1 naming the file that does not parse.

Usage: hcl2_json.py FILE...
"""
import json
import re
import sys

import hcl2

OPTIONS = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)
JSONENCODE = re.compile(r"^\$\{jsonencode\((.*)\)\}$", re.S)


def expand(value):
    if isinstance(value, dict):
        return {k: expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v) for v in value]
    if isinstance(value, str):
        m = JSONENCODE.match(value)
        if m:
            inner = hcl2.loads(f"v = {m.group(1)}\n", serialization_options=OPTIONS)["v"]
            return {"jsonencode": expand(inner)}
    return value


def main(paths):
    out = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            try:
                out[path] = expand(hcl2.load(f, serialization_options=OPTIONS))
            except Exception as e:  # the parser raises lark's errors, among others
                print(f"{path}: does not parse as HCL2: {e}", file=sys.stderr)
                return 1
    json.dump(out, sys.stdout, indent=1, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
