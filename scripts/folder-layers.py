#!/usr/bin/env python3
"""Which folders of a Swift target use which others' types, and whether they form a ring.

Usage: scripts/folder-layers.py [Sources/HoldfastServer]

Each folder directly under the target (files at its top level count as the folder "(root)") is a layer. A folder
uses another when it names a type declared there. The folders must form layers: no ring, so each can be read and
changed knowing only the ones below it. Prints the edges with the types behind them, then the rings found; exits 1
if there is one.
"""
import collections
import os
import re
import sys

DECLARATION = re.compile(
    r"^\s*(?:(?:public|internal|private|fileprivate|final|indirect)\s+)*"
    r"(?:class|struct|enum|protocol|actor|typealias)\s+(\w+)", re.M)


def folders(root):
    sources = {}
    for directory, _, names in os.walk(root):
        for name in names:
            if name.endswith(".swift"):
                path = os.path.join(directory, name)
                relative = os.path.relpath(path, root)
                folder = relative.split(os.sep)[0] if os.sep in relative else "(root)"
                with open(path) as file:
                    # Comments name types without using them.
                    sources[path] = (folder, re.sub(r"//.*", "", file.read()))
    return sources


def edges(sources):
    declared = collections.defaultdict(set)
    for folder, text in sources.values():
        for match in DECLARATION.finditer(text):
            declared[match.group(1)].add(folder)
    owner = {name: next(iter(places)) for name, places in declared.items() if len(places) == 1}
    uses = collections.defaultdict(lambda: collections.defaultdict(set))
    for folder, text in sources.values():
        for word in set(re.findall(r"\b[A-Z]\w+\b", text)):
            other = owner.get(word)
            if other and other != folder:
                uses[folder][other].add(word)
    return uses


def rings(uses):
    found = []
    for start in uses:
        stack = [(start, [start])]
        while stack:
            folder, path = stack.pop()
            for other in uses.get(folder, {}):
                if other == start:
                    found.append(path + [start])
                elif other not in path:
                    stack.append((other, path + [other]))
    unique = {}
    for ring in found:
        body = ring[:-1]
        turn = body.index(min(body))
        unique[tuple(body[turn:] + body[:turn])] = True
    return [list(ring) + [ring[0]] for ring in unique]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "Sources/HoldfastServer"
    uses = edges(folders(root))
    for folder in sorted(uses):
        for other in sorted(uses[folder]):
            print(f"{folder} -> {other}: {', '.join(sorted(uses[folder][other]))}")
    found = rings(uses)
    for ring in found:
        print("ring: " + " -> ".join(ring))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
