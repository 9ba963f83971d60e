#!/usr/bin/env bash
# Benchmark of the statistics over a province-year of 1,000,000 cases (issue #4), on SQLite
# and on PostgreSQL, through the app: `ecowarden report stats --year 2023 --format json`.
#
#   scripts/bench-stats.sh [SQLITE_DATA_DIR]     (default /tmp/ecowarden-load, as loadtest.sh)
#
# SQLite: the store scripts/loadtest.sh seeds (seeded here the same way if it is missing).
# PostgreSQL (when PG_URL is set, e.g. postgres://postgres@127.0.0.1:5432/postgres): creates
# the database PG_DB (ew_load), seeds CASES cases with the same generator and seed, times the
# same command, and drops the database at the end unless KEEP_PG=1. Needs psql for that.
#
# Each store: one run after start (cold caches of the process; the database's own caches as
# they are), then RUNS (3) more; prints each wall-clock time, the figure count, and the load
# average. Exits 1 if the best time is 1 s or more (LIMIT_S).
#
# Settings (environment): CASES (1000000), RUNS (3), LIMIT_S (1), PG_URL, PG_DB (ew_load),
# KEEP_PG=1, SKIP_BUILD=1, ECOWARDEN_BIN.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-${LOADTEST_DATA:-/tmp/ecowarden-load}}"
: "${CASES:=1000000}" "${RUNS:=3}" "${LIMIT_S:=1}" "${PG_DB:=ew_load}"
bin="${ECOWARDEN_BIN:-$root/target/release/ecowarden}"
[[ -n "${ECOWARDEN_BIN:-}" ]] && SKIP_BUILD=1
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  (cd "$root" && cargo build --release -p ecowarden --quiet)
fi

load() { cut -d' ' -f1 /proc/loadavg; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
fail=0

# bench NAME DB-ARGS...: times `report stats` RUNS+1 times.
bench() {
  local name="$1"; shift
  local best="" out t0 t1 s
  for ((i = 0; i <= RUNS; i++)); do
    t0=$(date +%s.%N)
    out="$("$bin" "$@" report stats --year 2023 --format json)"
    t1=$(date +%s.%N)
    s=$(secs "$t0" "$t1")
    if [[ -z "$best" ]] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best="$s"; fi
    printf '   %-10s run %d: %s s (load average %s)\n' "$name" "$i" "$s" "$(load)"
  done
  local summary
  summary=$(printf '%s' "$out" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(len(d["figures"]), next(f["value"] for f in d["figures"] if f["key"] == "cases.total"))' 2>/dev/null || echo "? ?")
  local figures="${summary% *}" total="${summary#* }"
  printf '== %-10s best %s s over %s figures; cases.total = %s\n' "$name" "$best" "$figures" "$total"
  if awk -v a="$best" -v l="$LIMIT_S" 'BEGIN { exit !(a >= l) }'; then echo "   SLOW (limit $LIMIT_S s)"; fail=1; fi
}

# ---- SQLite ---------------------------------------------------------------------------------
if [[ ! -f "$data/.loadtest-seeded" ]]; then
  mkdir -p "$data"
  echo "== seeding $CASES cases into $data (SQLite)"
  t0=$(date +%s.%N)
  "$bin" --data "$data" demo --cases "$CASES" --seed-only
  t1=$(date +%s.%N)
  echo "$CASES" >"$data/.loadtest-seeded"
  secs "$t0" "$t1" >"$data/.loadtest-seed-seconds"
fi
# Apply pending migrations first, so their one-time index builds are not timed.
"$bin" --data "$data" migrate >/dev/null
echo "== SQLite: $data"
bench sqlite --data "$data"

# ---- PostgreSQL -----------------------------------------------------------------------------
if [[ -n "${PG_URL:-}" ]]; then
  command -v psql >/dev/null || { echo "bench-stats: psql not found" >&2; exit 2; }
  server="${PG_URL%/*}"
  url="$server/$PG_DB"
  cleanup() { [[ "${KEEP_PG:-0}" == 1 ]] || psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" || true; }
  trap cleanup EXIT
  have=$(psql -tA "$url" -c 'SELECT COUNT(*) FROM cases' 2>/dev/null || echo 0)
  if [[ "$have" != "$CASES" ]]; then
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
    echo "== seeding $CASES cases into $url"
    t0=$(date +%s.%N)
    "$bin" --database-url "$url" --data "$(mktemp -d)" demo --cases "$CASES" --seed-only
    t1=$(date +%s.%N)
    echo "   seeded in $(secs "$t0" "$t1") s"
    psql -q "$url" -c 'VACUUM ANALYZE'
  fi
  "$bin" --database-url "$url" migrate >/dev/null
  echo "== PostgreSQL: $url"
  bench postgres --database-url "$url"
fi
exit "$fail"
