#!/usr/bin/env python3
"""The Python baseline of scripts/hj212-parse-ratio.sh: frames a packet log with a regex
(`##` and the 4-digit length, nothing checked) and counts the frames. It parses nothing, so
it is a floor for any Python parser, not a rival to `ecowarden hj212 parse`.

  python3 scripts/pipeline/frame.py PACKETS.hj212
"""

import re
import sys

FRAME = re.compile(rb"##(\d{4})")


def main() -> None:
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    frames = 0
    pos = 0
    while True:
        m = FRAME.search(raw, pos)
        if not m:
            break
        frames += 1
        pos = m.end() + int(m.group(1))
    print(frames)


if __name__ == "__main__":
    main()
