#!/usr/bin/env bash
# The pipeline a user runs against a plain Python script doing the same work, on this machine:
#
#   scripts/pipeline-ratio.sh [OUTLETS] [DAYS]      (default 52 30: about 37,000 hourly frames)
#
# 1. scripts/pipeline/month.py writes a month's packet log (a few damaged frames, a few
#    injected signatures) and its registry.
# 2. ecowarden (release build): `registry import`, `monitoring import` of the packet log,
#    `screen` over the month, into a fresh data directory.
# 3. scripts/pipeline/screen.py: parses the same frames (length and CRC checked) and screens
#    them with one simple detector per signature; once with the CRC computed bit by bit as
#    the standard's appendix writes it, once with a 256-entry table. The bitwise loop is
#    about nine tenths of that script's time, so the two baselines differ about sevenfold:
#    the ratio means little without saying which.
# Prints the wall and CPU seconds of each ecowarden step and of each side, and the ratios
# ecowarden / Python for both baselines. On a shared machine the CPU ratio is the steadier
# figure.
#
# ECOWARDEN_BIN=path/to/ecowarden measures that binary instead of building this tree.
# RUNS=n (default 3) runs both sides n times, interleaved, and ends with the medians: on a
# shared VM one run of the same binary can differ from the next by a fifth. Each run's data
# directory is kept until the script ends: on ext4 without a journal, files created within
# a minute of a mass deletion pay for the deleted inodes (`recently_deleted` in the kernel's
# profile), which would charge one run for the one before.
set -euo pipefail
outlets=${1:-52}
days=${2:-30}
cd "$(dirname "$0")/.."
bin=${ECOWARDEN_BIN:-}
[[ -n "$bin" ]] || { cargo build --release -p ecowarden --quiet; bin=$PWD/target/release/ecowarden; }
work=$(mktemp -d -t ecowarden-pipeline.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 scripts/pipeline/month.py "$work" "$outlets" "$days"
frames=$(grep -ao '##[0-9]\{4\}QN' "$work/month.hj212" | wc -l)
last=$(printf '2025-03-%02d' "$days")

# Wall seconds and CPU seconds (user + system of the children) of a command, to stdout as "W C".
measure() {
  local me=$BASHPID before after start end
  before=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$me/stat")
  start=$(date +%s.%N)
  "$@" > /dev/null
  end=$(date +%s.%N)
  after=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$me/stat")
  awk -v s="$start" -v e="$end" -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.3f %.3f\n", e - s, (a - b) / hz }'
}

python_pipeline() {
  python3 scripts/pipeline/screen.py --crc "$1" "$work/registry.csv" "$work/month.hj212"
}
runs=${RUNS:-3}

echo "== $outlets outlets, $days days: $frames frames, $(du -h "$work/month.hj212" | cut -f1) (cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)); $runs run(s)"
step() {
  local name=$1 w c
  shift
  read -r w c < <(measure "$@")
  printf '  %-20s %6.3f s wall %6.3f s CPU\n' "$name" "$w" "$c"
  rw=$(awk -v a="$rw" -v b="$w" 'BEGIN { print a + b }')
  rc=$(awk -v a="$rc" -v b="$c" 'BEGIN { print a + b }')
}
# One line per run: ecowarden wall, CPU; then wall, CPU of each Python baseline.
results=$work/results
for run in $(seq "$runs"); do
  data=$work/data-$run
  rw=0 rc=0
  echo "run $run, ecowarden, by step:"
  step "registry import" "$bin" --data "$data" registry import "$work/registry.csv"
  step "monitoring import" "$bin" --data "$data" monitoring import "$work/month.hj212"
  step "screen" "$bin" --data "$data" screen --from 2025-03-01 --to "$last" --history-days 0
  printf 'ecowarden: %6.3f s wall, %6.3f s CPU\n' "$rw" "$rc"
  line="$rw $rc"
  for crc in bitwise table; do
    read -r pw pc < <(measure python_pipeline "$crc")
    printf 'python (%s CRC): %6.3f s wall, %6.3f s CPU\n' "$crc" "$pw" "$pc"
    awk -v rw="$rw" -v rc="$rc" -v pw="$pw" -v pc="$pc" -v crc="$crc" \
      'BEGIN { printf "ratio ecowarden/python (%s CRC): %.3f wall, %.3f CPU\n", crc, rw / pw, (pc > 0 ? rc / pc : 0) }'
    line="$line $pw $pc"
  done
  echo "$line" >> "$results"
done
if [[ $runs -gt 1 ]]; then
  # Medians of each column, and the ratios of the medians.
  awk -v n="$runs" '
    { for (i = 1; i <= 6; i++) v[i, NR] = $i }
    function median(i,   a, k, j, t) {
      for (k = 1; k <= n; k++) a[k] = v[i, k]
      for (k = 2; k <= n; k++) for (j = k; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
      ew = median(1); ec = median(2)
      printf "median of %d runs: ecowarden %.3f s wall, %.3f s CPU\n", n, ew, ec
      split("bitwise table", name, " ")
      for (k = 1; k <= 2; k++) {
        pw = median(1 + 2 * k); pc = median(2 + 2 * k)
        printf "median of %d runs: python (%s CRC) %.3f s wall, %.3f s CPU; ratio %.3f wall, %.3f CPU\n", n, name[k], pw, pc, ew / pw, ec / pc
      }
    }' "$results"
fi
