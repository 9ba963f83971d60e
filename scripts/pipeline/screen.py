#!/usr/bin/env python3
"""The plain-Python side of scripts/pipeline-ratio.sh: reads a packet log of HJ 212 frames
(checking length and CRC), groups the hourly averages by outlet and factor, and screens them
with one simple detector per signature. Prints one finding a line.

  python3 scripts/pipeline/screen.py [--crc bitwise|table] REGISTRY.csv PACKETS.hj212

The CRC is checked bit by bit as the standard's appendix writes it (`bitwise`, the default),
or with a 256-entry table (`table`), as a Python programmer who profiles it would: the bitwise
loop is about nine tenths of this script's time, so the two give very different baselines.

Detectors: S1 a value repeated for 24 hours or more; S4 limit hugging, 72 hours or more at
90–99.5% of the limit with no hour above it; S6 decoupling, the flow velocity (a01011)
repeated for 48 hours or more while SO2 (a21026) moves.
"""

import csv
import re
import sys
from collections import defaultdict

from month import crc16 as crc16_bitwise


def table_of_crc() -> list:
    """The HJ 212 CRC's step for each value of `(crc >> 8) ^ byte`."""
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = table_of_crc()


def crc16_table(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc = TABLE[(crc >> 8) ^ b]
    return crc


crc16 = crc16_bitwise

FRAME = re.compile(rb"##(\d{4})")
ITEM = re.compile(r"([A-Za-z0-9]+)-Avg=([-0-9.]+)")


def frames(raw: bytes):
    """(MN, DataTime, {factor: Avg}) of every frame whose length and CRC are right."""
    pos = 0
    while True:
        m = FRAME.search(raw, pos)
        if not m:
            return
        n = int(m.group(1))
        start = m.end()
        data = raw[start : start + n]
        crc = raw[start + n : start + n + 4]
        pos = m.start() + 2
        if len(data) < n or len(crc) < 4 or not data.endswith(b"&&"):
            continue
        try:
            if int(crc, 16) != crc16(data):
                continue
        except ValueError:
            continue
        pos = start + n + 4
        text = data.decode("utf-8", "replace")
        header, _, cp = text.partition("CP=&&")
        fields = dict(kv.split("=", 1) for kv in header.split(";") if "=" in kv)
        time = re.search(r"DataTime=(\d{14})", cp)
        if "MN" in fields and time:
            yield fields["MN"], time.group(1), {k: float(v) for k, v in ITEM.findall(cp)}


def longest_run(values, equal):
    best = run = 1 if values else 0
    for a, b in zip(values, values[1:]):
        run = run + 1 if equal(a, b) else 1
        best = max(best, run)
    return best


def main() -> None:
    global crc16
    args = sys.argv[1:]
    if args[:1] == ["--crc"]:
        crc16 = {"bitwise": crc16_bitwise, "table": crc16_table}[args[1]]
        args = args[2:]
    limits = {}
    with open(args[0], encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["limit"]:
                limits[(row["mn"], row["factor"])] = float(row["limit"])
    series = defaultdict(list)
    with open(args[1], "rb") as f:
        raw = f.read()
    for mn, time, values in frames(raw):
        for factor, value in values.items():
            series[(mn, factor)].append((time, value))
    findings = []
    for (mn, factor), points in sorted(series.items()):
        values = [v for _, v in sorted(points)]
        if longest_run(values, lambda a, b: a == b) >= 24 and factor != "a01011":
            findings.append((mn, factor, "S1"))
        limit = limits.get((mn, factor))
        if limit:
            hugging = lambda v: 0.9 * limit <= v <= 0.995 * limit
            run = best = 0
            for v in values:
                run = run + 1 if hugging(v) else 0
                best = max(best, run)
            if best >= 72 and max(values) <= limit:
                findings.append((mn, factor, "S4"))
        if factor == "a01011" and longest_run(values, lambda a, b: a == b) >= 48:
            so2 = [v for _, v in sorted(series.get((mn, "a21026"), []))]
            if len(set(so2)) > 24:
                findings.append((mn, factor, "S6"))
    for mn, factor, signature in findings:
        print(f"{mn}\t{factor}\t{signature}")


if __name__ == "__main__":
    main()
