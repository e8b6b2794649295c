#!/usr/bin/env python3
"""Where in the source the edges a fuzzing round found are: rinfra's code, Starlark, or others.

Usage: fuzz/scripts/new-edges.py TARGET SINCE [CORPUS_DIR ...]
  TARGET      a built fuzz target (deploy, inventory, facts, ...), run from fuzz/
  SINCE       the round's start, `YYYY-MM-DD HH:MM` (local time) or seconds since the epoch;
              corpus files modified before it are the old corpus
  CORPUS_DIR  default corpus/TARGET and seeds/TARGET (as the fuzz runs use them)

libFuzzer's merge pass writes, for every input, the indices of the PCs it covers (`COV`
lines of the control file). The PCs of the new files minus those of the old ones are the
round's new edges; their addresses come from the binary's `__sancov_pcs` table (the values
are relocation addends in a PIE), and `llvm-symbolizer` names their source files, with the
inlined frames (an edge of a Starlark or std function inlined into rinfra's code counts for
both). A round
whose new edges all lie outside rinfra's crates found nothing new in rinfra's own code.
"""
import collections
import os
import struct
import subprocess
import sys
import tempfile
import time

TRIPLE = "x86_64-unknown-linux-gnu"


def pc_table(binary):
    """Index -> link-time address of each instrumented edge (the `__sancov_pcs` entries)."""
    data = open(binary, "rb").read()
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = sections[shstrndx][4]

    def name(off):
        return data[strtab + off : data.index(b"\0", strtab + off)].decode()

    by_name = {name(s[0]): s for s in sections}
    _, _, _, lo, _, size = by_name["__sancov_pcs"]
    _, _, _, _, rela_off, rela_size = by_name[".rela.dyn"]
    table = {}
    for j in range(rela_size // 24):
        off, _info, addend = struct.unpack_from("<QQq", data, rela_off + 24 * j)
        if lo <= off < lo + size and (off - lo) % 16 == 0:
            table[(off - lo) // 16] = addend
    return table


def covered(binary, corpora):
    """file path -> set of PC indices, from a merge pass over `corpora` into an empty dir."""
    with tempfile.TemporaryDirectory() as tmp:
        control = os.path.join(tmp, "control")
        empty = os.path.join(tmp, "empty")
        os.mkdir(empty)
        subprocess.run(
            [binary, "-merge=1", f"-merge_control_file={control}", "-rss_limit_mb=4096",
             "-timeout=60", empty, *corpora],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
        lines = open(control, encoding="utf-8", errors="replace").read().splitlines()
    n = int(lines[0])
    files = lines[2 : 2 + n]
    result = {}
    for line in lines[2 + n :]:
        if line.startswith("COV "):
            parts = line.split()
            result[files[int(parts[1])]] = {int(p) for p in parts[2:]}
    return result


def where(path):
    if "/crates/rinfra-" in path:
        return "rinfra: " + path.split("/crates/", 1)[1].split("/", 1)[0]
    for part in path.split("/"):
        if part.startswith("starlark"):
            return "starlark"
    if "/rustc/" in path or "/library/" in path:
        return "Rust std"
    if "/registry/src/" in path:
        return "crate: " + path.split("/registry/src/", 1)[1].split("/")[1].rsplit("-", 1)[0]
    return "other: " + path


def main():
    target, since = sys.argv[1], sys.argv[2]
    corpora = sys.argv[3:] or [d for d in (f"corpus/{target}", f"seeds/{target}") if os.path.isdir(d)]
    binary = f"target/{TRIPLE}/release/{target}"
    since_s = float(since) if since.replace(".", "").isdigit() else time.mktime(
        time.strptime(since, "%Y-%m-%d %H:%M"))
    cov = covered(binary, corpora)
    old, new_files = set(), 0
    for path, pcs in cov.items():
        if os.path.getmtime(path) < since_s:
            old |= pcs
        else:
            new_files += 1
    every = set().union(*cov.values()) if cov else set()
    fresh = sorted(every - old)
    table = pc_table(binary)
    addrs = "\n".join(hex(table[i]) for i in fresh if i in table)
    out = subprocess.run(
        ["llvm-symbolizer", f"--obj={binary}", "--inlining=true"],
        input=addrs, capture_output=True, text=True, check=True,
    ).stdout
    groups = collections.Counter()
    rinfra = collections.Counter()
    in_rinfra = 0
    for block in out.strip().split("\n\n"):
        lines = block.splitlines()
        # (function, file:line:col) pairs, the innermost inlined frame first.
        frames = list(zip(lines[0::2], lines[1::2]))
        if not frames:
            continue
        groups[where(frames[0][1])] += 1
        ours = [f for f in frames if "/crates/rinfra-" in f[1]]
        if ours:
            in_rinfra += 1
            func, loc = ours[0]
            rinfra[(loc.rsplit(":", 1)[0], func)] += 1
    print(f"{target}: {len(cov):,} inputs, {new_files:,} since {since}; "
          f"{len(every):,} PCs covered, {len(old):,} by the older inputs, {len(fresh):,} new")
    print("  by the source of the innermost (inlined) frame:")
    for g, c in groups.most_common():
        print(f"  {c:6,}  {g}")
    print(f"  {in_rinfra:,} of them lie in rinfra's code or in code inlined into it:")
    for (loc, func), c in rinfra.most_common():
        print(f"  rinfra {c:4}  {loc}  {func}")


if __name__ == "__main__":
    main()
