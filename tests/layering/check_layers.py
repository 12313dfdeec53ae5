#!/usr/bin/env python3
"""The house rules of ARCHITECTURE.md, checked on the source tree.

1. An #include points down: a file may include its own top-level folder and
   the layers below it, never one above (the rank table below).
2. No loop between folders: the folder-to-folder include graph (one node
   per directory, e.g. devices/net, vmm/boot) has no cycle.
3. Test support (tests/, */testing/) is included only by tests.
4. Every package's BUILD sets a default_visibility, and only the packages
   meant for everyone (util/, tests/, guest/, third_party/) make it public.
5. Each UML device kind is built in one place: its factory in machine/.
6. Every file or folder ARCHITECTURE.md names (`path/like/this.cc`) exists.

Run from anywhere: python3 tests/layering/check_layers.py [repo root].
Prints every violation and exits 1 if there is one.
"""
import os
import re
import sys

# Bottom to top. Equal ranks may not include each other.
RANKS = {
    "util": 0,
    "frontend": 1,
    "vmm": 1,
    "disk": 1,
    "devices": 2,
    "machine": 3,
    "proto": 4,  # generated code: for the doors and the clients
    "mconsole": 5,
    "kumld": 5,
    "cli": 6,
    "tests": 9,
    "bench": 9,
}
# Layers whose BUILD files may make everything public.
PUBLIC_OK = {"util", "tests", "guest", "third_party", "bench"}
# Constructions that may appear only in the named file (outside tests).
ONE_PLACE = [
    (re.compile(r"new VirtioBlock\b|make_unique<VirtioBlock>"),
     "machine/disk_factory.cc", "virtio-blk (ubd<n>)"),
    (re.compile(r"[=(,]\s*VirtioNet::Create\("), "machine/net_factory.cc",
     "virtio-net (eth<n>, vec<n>)"),
    (re.compile(r"new VirtioConsole\b|make_unique<VirtioConsole>"),
     "machine/line_factory.cc", "virtio-console (con<n>, ssl<n>)"),
]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
SOURCE = re.compile(r"\.(h|cc|c)$")


def is_test_file(path):
    parts = path.split("/")
    name = parts[-1]
    return (parts[0] in ("tests", "bench") or "testing" in parts or
            name.endswith("_test.cc") or "_test_" in name or
            name.startswith("test_") or name.startswith("fake_") or
            "fuzz" in parts)


def sources(root):
    for top in sorted(RANKS):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if SOURCE.search(f):
                    full = os.path.join(dirpath, f)
                    yield os.path.relpath(full, root)


def find_cycle(graph):
    """One cycle in `graph` (dict node -> set of nodes) as a list, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def check(root):
    problems = []
    folder_graph = {}
    for path in sources(root):
        with open(os.path.join(root, path), errors="replace") as f:
            text = f.read()
        own = path.split("/")[0]
        test = is_test_file(path)
        for included in INCLUDE.findall(text):
            top = included.split("/")[0]
            if top not in RANKS or "/" not in included:
                continue  # a system or third-party header, or a sibling
            test_support = top == "tests" or "/testing/" in included
            if top != own and RANKS[top] >= RANKS[own] and not (
                    test and test_support):
                problems.append(
                    f"{path}: includes {included}: {top}/ is not below "
                    f"{own}/ (ARCHITECTURE.md)")
            if not test and test_support:
                problems.append(
                    f"{path}: includes test support {included} outside a test")
            src_dir = os.path.dirname(path)
            dst_dir = os.path.dirname(included)
            if src_dir != dst_dir and not test:
                folder_graph.setdefault(src_dir, set()).add(dst_dir)
        if not test:
            for pattern, home, what in ONE_PLACE:
                if pattern.search(text) and path != home:
                    problems.append(
                        f"{path}: builds a {what}; only {home} may (the "
                        f"factory of that device kind)")
    cycle = find_cycle(folder_graph)
    if cycle:
        problems.append("folders include each other in a loop: " +
                        " -> ".join(cycle))
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel.startswith(".") or "bazel-" in rel or rel.startswith("out"):
            continue
        if "BUILD" not in files or rel == ".":
            continue
        with open(os.path.join(dirpath, "BUILD")) as f:
            build = f.read()
        top = rel.split("/")[0]
        m = re.search(r"default_visibility\s*=\s*\[([^\]]*)\]", build)
        if m is None:
            if re.search(r"cc_library|filegroup", build):
                problems.append(f"{rel}/BUILD: no default_visibility")
        elif "//visibility:public" in m.group(1) and top not in PUBLIC_OK:
            problems.append(
                f"{rel}/BUILD: default_visibility is public; name the layers "
                f"above {top}/ (the package groups in //BUILD)")
    doc = os.path.join(root, "ARCHITECTURE.md")
    if os.path.exists(doc):
        with open(doc) as f:
            named = set(re.findall(r"`([a-z_]+/[A-Za-z0-9_./]+)`", f.read()))
        for path in sorted(named):
            if not os.path.exists(os.path.join(root, path.rstrip("/"))):
                problems.append(f"ARCHITECTURE.md names {path}, which does "
                                f"not exist")
    else:
        problems.append("ARCHITECTURE.md is missing")
    return problems


def main():
    here = os.path.dirname(os.path.realpath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(here))
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"FAIL: {len(problems)} violation(s) of the house rules")
        return 1
    print(f"PASS: includes point down, no folder loop, visibility set "
          f"({root})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
