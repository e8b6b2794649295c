#!/usr/bin/env python3
"""Summarise a libFuzzer fork-mode log: coverage over time and the rate of new edges.

Usage: fuzz/scripts/plateau.py LOG [STEP_MINUTES]   (default step: 15)

Reads the `#N: cov: C ft: F corp: K ... time: Ts` lines fork mode prints after each job and
prints one row per STEP minutes (executions, cov, new edges per minute and per million
executions since the previous row), then the totals. A target is at a plateau when the last
rows add (next to) nothing per million executions.
"""
import re
import sys

LINE = re.compile(r"^#(\d+): cov: (\d+) ft: (\d+) corp: (\d+) .*? time: (\d+)s")


def main():
    path = sys.argv[1]
    step = 60 * float(sys.argv[2]) if len(sys.argv) > 2 else 900.0
    rows = []
    with open(path, "rb") as f:
        for raw in f:
            m = LINE.match(raw.decode("utf-8", "replace"))
            if m:
                rows.append(tuple(int(g) for g in m.groups()))
    if not rows:
        sys.exit(f"{path}: no fork-mode status lines")
    print(f"{'minute':>7} {'execs':>11} {'cov':>7} {'ft':>7} {'corpus':>7} {'edges/min':>10} {'edges/M execs':>14}")
    prev = rows[0]
    picked = [rows[0]]
    for r in rows[1:]:
        if r[4] - picked[-1][4] >= step:
            picked.append(r)
    if picked[-1] is not rows[-1]:
        picked.append(rows[-1])
    for r in picked:
        dt = (r[4] - prev[4]) / 60
        dx = (r[0] - prev[0]) / 1e6
        dc = r[1] - prev[1]
        rate = f"{dc / dt:.1f}" if dt > 0 else "-"
        per_m = f"{dc / dx:.1f}" if dx > 0 else "-"
        print(f"{r[4] / 60:7.1f} {r[0]:11,} {r[1]:7,} {r[2]:7,} {r[3]:7,} {rate:>10} {per_m:>14}")
        prev = r
    first, last = rows[0], rows[-1]
    print(f"total: {last[0]:,} execs in {last[4] / 60:.1f} min, cov {first[1]:,} -> {last[1]:,}")


if __name__ == "__main__":
    main()
