#!/usr/bin/env python3
"""A month's packet log of hourly HJ 212-2017 uploads (CN=2061) from flue-gas outlets, the
input of scripts/pipeline-ratio.sh and of the `hj212 parse` output comparison.

  python3 scripts/pipeline/month.py OUT_DIR [OUTLETS] [DAYS] [SEED]   (default 52 30 7)

Writes OUT_DIR/month.hj212 (frames back to back, about 1 in 500 damaged: a flipped byte,
a truncated frame, or garbage between frames) and OUT_DIR/registry.csv (one outlet a row,
the `ecowarden registry import` columns). Outlets 0, 1, 2 (mod 13) carry a falsification
signature: a frozen SO2 value for two days, NOx held at 95-99% of its limit for a week,
or a flow velocity held constant for three days.
"""

import random
import sys

# (code, typical level, limit, registry columns factor..o2_ref)
FACTORS = [("a21026", 20.0, 35.0, "a21026,35,mg/m3,0-500,3,6"),
           ("a21002", 30.0, 50.0, "a21002,50,mg/m3,0-500,3,6"),
           ("a34013", 4.0, 10.0, "a34013,10,mg/m3,0-200,1,6"),
           ("a19001", 9.0, None, "a19001,,%,0-25,,"),
           ("a01012", 120.0, None, "a01012,,℃,0-300,,"),
           ("a01011", 12.0, None, "a01011,,m/s,0-40,,")]
# One valid unified social credit code per city, and its district.
CITIES = [("91350102MA2BENCH0B", "350102"), ("91350203MA2BENCH0Y", "350203"),
          ("91350302MA2BENCH0M", "350302"), ("91350404MA2BENCH0P", "350404"),
          ("91350502MA2BENCH00", "350502"), ("91350602MA2BENCH05", "350602"),
          ("91350702MA2BENCH0A", "350702"), ("91350802MA2BENCH0F", "350802"),
          ("91350902MA2BENCH0L", "350902")]
INDUSTRIES = ["火力发电", "水泥制造", "炼钢"]


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def frame(segment: str) -> bytes:
    data = segment.encode()
    return b"##%04d%s%04X\r\n" % (len(data), data, crc16(data))


def main() -> None:
    out = sys.argv[1]
    outlets = int(sys.argv[2]) if len(sys.argv) > 2 else 52
    days = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    rng = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 7)
    mns = [f"PIPE{i:06d}" for i in range(outlets)]
    with open(f"{out}/registry.csv", "w", encoding="utf-8") as f:
        f.write("mn,password,facility_name,credit_code,region_code,outlet_name,industry,st,"
                "factor,limit,unit,range,detection_limit,o2_ref\n")
        for i, mn in enumerate(mns):
            code, region = CITIES[i % len(CITIES)]
            for factor in FACTORS:
                f.write(f"{mn},123456,福建流水线测试企业{i % len(CITIES)}有限公司,{code},{region},"
                        f"{i}号烟气排放口,{INDUSTRIES[i % 3]},31,{factor[3]}\n")
    frames = []
    for hour in range(days * 24):
        day, h = divmod(hour, 24)
        stamp = f"202503{day + 1:02d}{h:02d}0000"
        for i, mn in enumerate(mns):
            parts = []
            for code, level, limit, _ in FACTORS:
                v = level * (1 + 0.25 * rng.random()) * (0.8 if h < 6 else 1.0)
                if i % 13 == 0 and code == "a21026" and 200 <= hour < 248:
                    v = 41.3
                if i % 13 == 1 and code == "a21002" and 300 <= hour < 468:
                    v = limit * rng.uniform(0.95, 0.99)
                if i % 13 == 2 and code == "a01011" and 100 <= hour < 172:
                    v = 12.4
                lo, hi = v * 0.9, v * 1.1
                parts.append(f"{code}-Min={lo:.2f},{code}-Avg={v:.2f},{code}-Max={hi:.2f},{code}-Flag=N")
            qn = f"{stamp}{i % 1000:03d}"
            seg = f"QN={qn};ST=31;CN=2061;PW=123456;MN={mn};Flag=5;CP=&&DataTime={stamp};" + ";".join(parts) + "&&"
            raw = frame(seg)
            r = rng.random()
            if r < 0.001:
                k = rng.randrange(60, len(raw) - 8)
                raw = raw[:k] + bytes([raw[k] ^ 0x01]) + raw[k + 1:]
            elif r < 0.0015:
                raw = raw[: len(raw) // 2]
            elif r < 0.002:
                raw = b"\x00garbage" + raw
            frames.append(raw)
    with open(f"{out}/month.hj212", "wb") as f:
        f.write(b"".join(frames))


if __name__ == "__main__":
    main()
