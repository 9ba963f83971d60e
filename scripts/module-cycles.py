#!/usr/bin/env python3
"""Lists import cycles between the top-level modules of each crate (and between crates).

A module is a crate's top-level `mod` (a file or a folder under src/); an edge a → b is a
`crate::b` path in a (or `super::b` from a's own submodules' parent). Cycles inside one
module's folder are not listed. Exit 1 when a cycle is found.
"""
import os, re, sys
from collections import defaultdict

root = os.path.join(os.path.dirname(__file__), '..', 'crates')
found = False
for krate in sorted(os.listdir(root)):
    src = os.path.join(root, krate, 'src')
    if not os.path.isdir(src):
        continue
    edges = defaultdict(set)
    for dirpath, _, files in os.walk(src):
        for f in files:
            if not f.endswith('.rs'):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f), src)
            top = rel.split(os.sep)[0].removesuffix('.rs')
            if top in ('lib', 'main'):
                continue
            text = open(os.path.join(dirpath, f), encoding='utf-8').read()
            text = text.split('#[cfg(test)]')[0]
            for m in re.finditer(r'\bcrate::([a-z_0-9]+)', text):
                if m.group(1) != top:
                    edges[top].add(m.group(1))
            if os.sep in rel:  # a submodule's super:: is its own folder
                continue
            for m in re.finditer(r'\bsuper::([a-z_0-9]+)', text):
                if m.group(1) != top:
                    edges[top].add(m.group(1))
    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            c = []
            while True:
                w = stack.pop(); on.discard(w); c.append(w)
                if w == v: break
            if len(c) > 1: sccs.append(sorted(c))
    for v in list(edges):
        if v not in index:
            visit(v)
    for c in sccs:
        found = True
        print(f'{krate}: cycle among {", ".join(c)}')
print('module cycles:', 'found' if found else 'none')
sys.exit(1 if found else 0)
