#!/usr/bin/env python3
"""Write a starting corpus for the `facts` target from pyinfra's fact vectors.

Usage: fuzz/scripts/facts-corpus.py [OUT_DIR]   (default: fuzz/corpus/facts)

Each vector `crates/rinfra-ops/tests/vectors/facts/<fact>/<case>.json` becomes one input in
the target's format: a byte selecting the fact (its index among the registered fact names,
sorted, which this script reads from the `define_fact!` blocks), the `arg` as JSON on the first
line (empty when absent), then the `output` lines.
"""
import glob
import json
import os
import re
import sys

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
facts_src = os.path.join(root, "crates/rinfra-ops/src/facts")
vectors = os.path.join(root, "crates/rinfra-ops/tests/vectors/facts")
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "fuzz/corpus/facts")

names = set()
for path in glob.glob(os.path.join(facts_src, "*.rs")):
    names.update(re.findall(r'^\s*\w+ = "([a-z]+\.\w+)";', open(path).read(), re.M))
# FactRegistry keeps a BTreeMap<&str, _>: byte order.
names = sorted(names, key=lambda n: n.encode())


def py_str(v):
    """Python's `str()` of a JSON value, as the vector test does."""
    if isinstance(v, str):
        return v
    if v is None:
        return "None"
    if isinstance(v, bool):
        return str(v)
    return json.dumps(v)


os.makedirs(out, exist_ok=True)
count = 0
for path in sorted(glob.glob(os.path.join(vectors, "*/*.json"))):
    fact = os.path.basename(os.path.dirname(path))
    if fact not in names:
        continue
    case = json.loads(open(path).read(), strict=False)
    output = case.get("output")
    if isinstance(output, str):
        lines = output.splitlines()
    elif isinstance(output, list):
        lines = [py_str(x) for x in output]
    else:
        lines = []
    arg = json.dumps(case["arg"]) if "arg" in case else ""
    data = bytes([names.index(fact)]) + (arg + "\n" + "\n".join(lines)).encode()
    name = fact + "-" + os.path.basename(path)[: -len(".json")]
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    count += 1
print(f"{count} inputs for {len(names)} facts in {out}")
