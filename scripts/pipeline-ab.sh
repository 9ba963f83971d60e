#!/usr/bin/env bash
# The pipeline's three commands (registry import, monitoring import, screen: as
# scripts/pipeline-ratio.sh runs them) for several builds, interleaved run by run, without the
# Python side: for telling two builds apart on a VM whose speed drifts between sittings by more
# than a change saves (the ratio script's medians of one build moved 0.052 → 0.059 within an
# hour in session 16).
#
#   scripts/pipeline-ab.sh RUNS BIN [BIN ...]      e.g. scripts/pipeline-ab.sh 8 /tmp/old target/release/ecowarden
#
# Prints each run's seconds per step, then per build the sorted totals and their median.
# Data directories stay until the end (see pipeline-ratio.sh on ext4's deleted inodes).
set -euo pipefail
runs=${1:?RUNS}
shift
[[ $# -gt 0 ]] || { echo "usage: $0 RUNS BIN [BIN ...]" >&2; exit 2; }
cd "$(dirname "$0")/.."
work=$(mktemp -d -t ecowarden-ab.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 scripts/pipeline/month.py "$work" 52 30 > /dev/null
now() { date +%s.%N; }
for run in $(seq "$runs"); do
  n=0
  for bin in "$@"; do
    n=$((n + 1))
    data=$work/data-$n-$run
    t0=$(now)
    "$bin" --data "$data" registry import "$work/registry.csv" > /dev/null 2>&1
    t1=$(now)
    "$bin" --data "$data" monitoring import "$work/month.hj212" > /dev/null 2>&1
    t2=$(now)
    "$bin" --data "$data" screen --from 2025-03-01 --to 2025-03-30 --history-days 0 > /dev/null 2>&1
    t3=$(now)
    awk -v n="$n" -v b="$bin" -v a="$t0" -v r="$t1" -v i="$t2" -v s="$t3" 'BEGIN {
      printf "build %d (%s): registry %.3f  import %.3f  screen %.3f  total %.3f s\n", n, b, r - a, i - r, s - i, s - a }' \
      | tee -a "$work/totals"
  done
done
for n in $(seq $#); do
  grep "^build $n " "$work/totals" | awk '{print $(NF-1)}' | sort -n \
    | awk -v n="$n" '{v[NR] = $1; line = line " " $1} END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "build %d totals:%s; median %.3f s\n", n, line, m }'
done
