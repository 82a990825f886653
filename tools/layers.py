#!/usr/bin/env python3
"""Which module of src/ uses which, and the uses that run against the intended layering.

Usage: python3 tools/layers.py [SRC_DIR]      (default: src)

A "use" is any `crate::NAME` path in a file's code (comments and doc comments skipped), where
NAME is a top-level module of src/ (a folder or a .rs file). Two checks, and exit 1 if either
finds something: the top-level modules must form no cycle (a module that uses another must not be
used back by it, directly or around a loop), and the RULES below name directions that must not
exist at all. Every offending use is printed with file:line.
Tests (#[cfg(test)] modules after their marker line, tests/ folders) are skipped.
Edit RULES when the architecture changes on purpose."""
import os
import re
import sys

# module -> modules it must never use (see ARCHITECTURE.md)
BELOW_HTTP = {"api", "auth", "error", "server", "app", "request_audit", "request_log"}
RULES = {
    "engine": BELOW_HTTP | {"jobs", "restore", "sets", "agent", "hooks", "schedule", "state"},
    "store": BELOW_HTTP | {"jobs", "restore", "sets", "agent", "hooks", "schedule", "state"},
    "restore": BELOW_HTTP | {"jobs", "agent", "hooks", "schedule", "state"},
    "sets": BELOW_HTTP | {"jobs", "restore", "agent", "hooks", "schedule", "state"},
    "hooks": BELOW_HTTP | {"jobs", "engine", "store", "restore", "sets", "agent", "schedule", "state"},
    "schedule": BELOW_HTTP | {"jobs", "engine", "store", "restore", "sets", "agent", "hooks", "state"},
    "config": BELOW_HTTP | {"jobs", "store", "restore", "sets", "agent", "hooks", "state"},
    "backup": BELOW_HTTP | {"jobs", "restore", "sets", "agent", "hooks", "schedule", "state"},
    # A drill restores, checks and probes one component; the job runner runs it.
    "drill": BELOW_HTTP | {"jobs", "agent", "hooks", "schedule", "state"},
    # The audit log knows no HTTP and no job: the edge tells it what to record.
    "audit": BELOW_HTTP | {"jobs", "engine", "store", "restore", "sets", "agent", "hooks",
                           "schedule", "state", "backup", "resolver", "metrics"},
    # Off-site copies know the bucket, the config and the slots; no HTTP, no job runner.
    "replicate": BELOW_HTTP | {"jobs", "restore", "sets", "agent", "hooks", "schedule", "state", "notify"},
    # notifications hear of events through toolkit::events only; nothing below the edge calls them
    "notify": BELOW_HTTP | {"jobs", "engine", "store", "restore", "sets", "agent", "hooks", "schedule", "state", "backup"},
}
# The layers that emit events never call the notifications: they emit into toolkit::events.
for _emitter in ("engine", "store", "restore", "sets", "hooks", "schedule", "backup", "jobs", "drill"):
    RULES.setdefault(_emitter, set()).add("notify")
# Shared plain data (job kinds) and the persistence toolkit use no other module of the crate.
LEAVES = {"kinds", "toolkit"}
# The client subcommands may use only these, and only main.rs may use the client.
CLIENT = "cli"
CLIENT_MAY_USE = {"config", "demo"}

USE = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
GROUP = re.compile(r"\buse\s+crate::\{([^;]*)\}", re.S)


def code_lines(path):
    """(line number, code) pairs: comments stripped, stops at the first #[cfg(test)]."""
    out = []
    in_block = False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            s = line
            if in_block:
                if "*/" not in s:
                    continue
                s = s.split("*/", 1)[1]
                in_block = False
            if "/*" in s:
                head, rest = s.split("/*", 1)
                if "*/" not in rest:
                    in_block = True
                s = head
            s = s.split("//", 1)[0]
            if s.strip() == "#[cfg(test)]":
                break
            out.append((n, s))
    return out


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def module_of(src, path):
    rel = os.path.relpath(path, src)
    first = rel.split(os.sep, 1)[0]
    return first[:-3] if first.endswith(".rs") else first


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "src"
    mods = {e[:-3] if e.endswith(".rs") else e for e in os.listdir(src)
            if e.endswith(".rs") or os.path.isdir(os.path.join(src, e))}
    uses, bad = {}, []
    for dp, dns, fns in os.walk(src):
        dns[:] = [d for d in dns if d != "tests"]
        for fn in sorted(fns):
            if not fn.endswith(".rs") or fn == "tests.rs":
                continue
            path = os.path.join(dp, fn)
            me = module_of(src, path)
            lines = code_lines(path)
            text = "\n".join(s for _n, s in lines)
            found = []
            for n, s in lines:
                found += [(n, m) for m in USE.findall(s)]
            for g in GROUP.finditer(text):  # use crate::{a, b::c}
                n = text[: g.start()].count("\n") + 1
                found += [(lines[n - 1][0], m) for m in re.findall(r"(?:^|[{,\s])([a-z_][a-z0-9_]*)\s*(?:::|,|}|$)", g.group(1))]
            for n, m in found:
                if m not in mods or m == me:
                    continue
                uses.setdefault(me, set()).add(m)
                if (m in RULES.get(me, set()) or me in LEAVES
                        or (me == CLIENT and m not in CLIENT_MAY_USE)
                        or (m == CLIENT and me != "main")):
                    bad.append(f"{os.path.relpath(path)}:{n}: {me} uses {m}")
    for me in sorted(uses):
        print(f"{me:10} -> {', '.join(sorted(uses[me]))}")
    for comp in cycles(uses):
        bad.append(f"cycle: {' <-> '.join(sorted(comp))}")
    if bad:
        print(f"\n{len(set(bad))} problems with the layering:")
        for b in sorted(set(bad)):
            print("  " + b)
        sys.exit(1)
    print("\nlayering: no use against the rules")


if __name__ == "__main__":
    main()
