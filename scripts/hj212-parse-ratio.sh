#!/usr/bin/env bash
# `ecowarden hj212 parse` on a month's packet log against a Python regex that only frames it:
#
#   scripts/hj212-parse-ratio.sh [OUTLETS] [DAYS] [RUNS]    (default 52 30 5: 37,440 frames, 18.6 MB)
#
# Prints, for the best of RUNS runs, the CPU seconds (user + system) and MB/s of input read
# and of JSON written, and the ratio of the two sides' CPU times. The log comes from
# scripts/pipeline/month.py (2061 hourly uploads, six factors, a few damaged frames).
#
# ECOWARDEN_BIN=path/to/ecowarden measures that binary instead of building this tree.
set -euo pipefail
outlets=${1:-52}
days=${2:-30}
runs=${3:-5}
cd "$(dirname "$0")/.."
bin=${ECOWARDEN_BIN:-}
[[ -n "$bin" ]] || { cargo build --release -p ecowarden --quiet; bin=$PWD/target/release/ecowarden; }
work=$(mktemp -d -t ecowarden-hj212.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 scripts/pipeline/month.py "$work" "$outlets" "$days"
log=$work/month.hj212
in_bytes=$(stat -c %s "$log")
out_bytes=$("$bin" hj212 parse "$log" | wc -c)

# The least CPU seconds (user + system) of RUNS runs of a command.
best_cpu() {
  local best=
  for _ in $(seq "$runs"); do
    local t
    t=$( { /usr/bin/time -f '%U %S' "$@" > /dev/null; } 2>&1 | tail -1 | awk '{ print $1 + $2 }')
    best=$(awk -v a="${best:-$t}" -v b="$t" 'BEGIN { print (b < a ? b : a) }')
  done
  echo "$best"
}
ours=$(best_cpu "$bin" hj212 parse "$log")
python=$(best_cpu python3 scripts/pipeline/frame.py "$log")
echo "== $(cut -d' ' -f1-3 /proc/loadavg) load; input $in_bytes bytes, JSON $out_bytes bytes; best of $runs, CPU seconds"
awk -v t="$ours" -v i="$in_bytes" -v o="$out_bytes" \
  'BEGIN { printf "ecowarden hj212 parse: %.3f s, %.0f MB/s read, %.0f MB/s JSON written\n", t, i / t / 1e6, o / t / 1e6 }'
awk -v t="$python" -v i="$in_bytes" \
  'BEGIN { printf "python regex framing:  %.3f s, %.0f MB/s read\n", t, i / t / 1e6 }'
awk -v a="$ours" -v b="$python" 'BEGIN { printf "ratio ecowarden/python (CPU): %.2f\n", a / b }'
