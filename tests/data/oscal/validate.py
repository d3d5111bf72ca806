#!/usr/bin/python3
"""Validates an OSCAL JSON document against an official OSCAL JSON schema.

Usage: validate.py SCHEMA DOCUMENT    (exit 0 valid, 1 invalid, 2 usage or unreadable)

NIST's schemas use ECMA/XSD regular expressions with Unicode property classes (\\p{L},
\\p{N}) that Python's re module cannot compile, so jsonschema run on them directly crashes
for every document, valid or not. The classes are rewritten to their nearest re
equivalents first: \\p{L} -> [^\\W\\d_] (letters), \\p{N} -> \\d (decimal digits; stricter
than \\p{N}, never looser).
"""
import json
import sys

import jsonschema


def rewrite(node):
    if isinstance(node, dict):
        return {k: (v.replace("\\p{L}", "[^\\W\\d_]").replace("\\p{N}", "\\d")
                    if k == "pattern" and isinstance(v, str) else rewrite(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [rewrite(v) for v in node]
    return node


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], encoding="utf-8") as f:
            schema = rewrite(json.load(f))
        with open(sys.argv[2], encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(e, file=sys.stderr)
        return 2
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors[:20]:
        print("/" + "/".join(str(p) for p in e.absolute_path) + ": " + e.message, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
