#!/usr/bin/env python3
"""Reads the JSON output of `redocly lint --format=json` or `spectral lint -f json` on stdin and
prints one line per finding, naming the document, the operation (METHOD /path) or the part of
the document, the rule and the message:

    openapi/openapi.json: warning operation-description at POST /api/v1/backups: Operation
    "description" must be present and non-empty string. (spectral, paths./api/v1/backups.post)

Exits 1 when there is any finding, 0 when there is none.

    report.py redocly|spectral DOCUMENT < findings.json
"""

import json
import sys

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
SPECTRAL_SEVERITY = {0: "error", 1: "warning", 2: "info", 3: "hint"}


def where(parts: list) -> str:
    """`METHOD /path` for a place inside an operation, else the dotted path."""
    if len(parts) >= 3 and parts[0] == "paths" and str(parts[2]).lower() in METHODS:
        return f"{str(parts[2]).upper()} {parts[1]}"
    if len(parts) >= 2 and parts[0] == "paths":
        return f"path {parts[1]}"
    return ".".join(str(p) for p in parts) or "the document"


def pointer_parts(pointer: str) -> list:
    parts = pointer.lstrip("#").strip("/").split("/") if pointer.strip("#/") else []
    return [p.replace("~1", "/").replace("~0", "~") for p in parts]


def main() -> int:
    tool, doc = sys.argv[1], sys.argv[2]
    raw = sys.stdin.read()
    start = raw.find("{" if tool == "redocly" else "[")
    if start < 0:
        print(f"{doc}: {tool} printed no findings report:\n{raw}", file=sys.stderr)
        return 2
    data, _ = json.JSONDecoder().raw_decode(raw[start:])
    lines = []
    if tool == "redocly":
        for p in data.get("problems", []):
            loc = (p.get("location") or [{}])[0]
            parts = pointer_parts(loc.get("pointer", ""))
            line = loc.get("start", {}).get("line", "?")
            lines.append(
                f"{doc}:{line}: {p.get('severity')} {p.get('ruleId')} at {where(parts)}: "
                f"{p.get('message')} (redocly, {loc.get('pointer', '')})"
            )
    else:
        for p in data:
            parts = p.get("path", [])
            line = p.get("range", {}).get("start", {}).get("line", -1) + 1
            sev = SPECTRAL_SEVERITY.get(p.get("severity"), str(p.get("severity")))
            lines.append(
                f"{doc}:{line}: {sev} {p.get('code')} at {where(parts)}: {p.get('message')} "
                f"(spectral, {'.'.join(str(x) for x in parts)})"
            )
    for line in lines:
        print(line)
    print(f"{doc}: {tool}: {len(lines)} finding(s)")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
