#!/usr/bin/env bash
# Benchmark of the HJ 212 receiver and the archive compactor, on this machine:
#
#   scripts/bench-ingest.sh [STATIONS] [SECONDS] [WINDOW]      (default 2000 30 1)
#
# 1. Registers STATIONS flue-gas outlets (6 factors each) across nine cities.
# 2. Runs `ecowarden ingest` (release build) and `ecowarden simulate --rate 0`: every logger
#    sends hourly uploads (Flag=5) back to back on its own connection, at most WINDOW unacked
#    at a time, for SECONDS; every ack is sent only after the evidence record is fsynced.
#    The simulator prints the acked frames per second.
# 3. Stops the receiver and runs `ecowarden monitoring compact` over everything received:
#    measurements per second into Parquet, and bytes per archived measurement.
#
# The receiver compacts only at the end here, so the two figures are measured apart. The
# machine's load average and each process's CPU time are printed with them: on a shared
# machine, throughput per CPU second says more than throughput per wall second.
#
# ECOWARDEN_BIN=path/to/ecowarden measures that binary instead of building this tree.
set -euo pipefail
stations=${1:-2000}
seconds=${2:-30}
window=${3:-1}
cd "$(dirname "$0")/.."
if [[ -n "${ECOWARDEN_BIN:-}" ]]; then
  bin=$ECOWARDEN_BIN
else
  cargo build --release -p ecowarden --quiet
  bin=$PWD/target/release/ecowarden
fi
data=$(mktemp -d -t ecowarden-bench.XXXXXX)
receiver=""
cleanup() {
  [[ -n "$receiver" ]] && kill "$receiver" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

# One facility per city (valid credit codes), outlets spread over them.
regions=(350102 350203 350302 350404 350502 350602 350702 350802 350902)
codes=(91350102MA2BENCH0B 91350203MA2BENCH0Y 91350302MA2BENCH0M 91350404MA2BENCH0P 91350502MA2BENCH00
       91350602MA2BENCH05 91350702MA2BENCH0A 91350802MA2BENCH0F 91350902MA2BENCH0L)
factors=("a21026,35,mg/m3,0-500,3,6" "a21002,50,mg/m3,0-500,3,6" "a34013,10,mg/m3,0-200,1,6"
         "a19001,,%,0-25,," "a01012,,℃,0-300,," "a01011,,m/s,0-40,,")
{
  echo "mn,password,facility_name,credit_code,region_code,outlet_name,industry,st,factor,limit,unit,range,detection_limit,o2_ref"
  for ((i = 0; i < stations; i++)); do
    c=$((i % 9))
    for f in "${factors[@]}"; do
      printf 'BENCH%06d,123456,福建基准测试电厂%d有限公司,%s,%s,%d号烟气排放口,火力发电,31,%s\n' \
        "$i" "$c" "${codes[$c]}" "${regions[$c]}" "$i" "$f"
    done
  done
} > "$data/registry.csv"
"$bin" --data "$data" registry import "$data/registry.csv"

ECOWARDEN__INGEST__COMPACT_INTERVAL_SECS=100000 RUST_LOG=warn \
  "$bin" --data "$data" ingest --listen 127.0.0.1:0 > "$data/ingest.out" 2> "$data/ingest.err" &
receiver=$!
addr=""
for _ in $(seq 100); do
  addr=$(sed -n 's/^HJ 212 receiver listening on //p' "$data/ingest.out")
  [[ -n "$addr" ]] && break
  sleep 0.1
done
[[ -n "$addr" ]] || { echo "the receiver did not start:" >&2; cat "$data/ingest.err" >&2; exit 1; }

# CPU seconds (user + system) a process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15) / hz }' "/proc/$1/stat"; }

echo "== ingest: $stations loggers, window $window, ${seconds} s, durable acks (cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg))"
TIMEFORMAT="simulator CPU: %U s user + %S s system"
time "$bin" --data "$data" simulate --target "$addr" --stations "$stations" --rate 0 \
  --window "$window" --duration "$seconds"
echo "receiver CPU: $(cpu "$receiver") s"
kill -TERM "$receiver"
wait "$receiver" 2>/dev/null || true
receiver=""
echo "evidence log: $(du -sh "$data/evidence" | cut -f1)"

echo "== compaction of everything received into Parquet (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
TIMEFORMAT="compactor: %R s wall, CPU %U s user + %S s system"
time "$bin" --data "$data" monitoring compact
echo "archive: $(du -sh "$data/archive" | cut -f1) in $(find "$data/archive" -name '*.parquet' | wc -l) files"
