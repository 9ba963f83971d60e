#!/usr/bin/env bash
# schemathesis (from PyPI) against the API of a demo store, signed in as the provincial admin.
#
#   scripts/schemathesis.sh [PATH/TO/ecowarden] [MAX_EXAMPLES]
#
# Seeds a small demo store in a temporary directory, serves it on a free loopback port, signs
# in through POST /api/v1/session and runs `st run` on /api/v1/openapi.json with the session
# cookie and CSRF token given to the document's own security schemes (scripts/schemathesis.toml),
# so its checks of missing credentials see real refusals. Exits with schemathesis' status.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-$root/target/debug/ecowarden}"
examples="${2:-20}"
venv="${SCHEMATHESIS_VENV:-$root/target/schemathesis-venv}"
if [[ ! -x "$venv/bin/st" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q schemathesis
fi

data="$(mktemp -d -t ecowarden-st.XXXXXX)"
log="$data/server.log"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill -INT "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

# Without the per-address limit on requests without a session: the fuzzer sends hundreds of
# them from one address, and how many land in a minute depends on the machine's speed, so a
# 429 sometimes answered where its check wants the 401 (the limit has its own api test).
ECOWARDEN__HTTP__ANONYMOUS_PER_MINUTE=0 \
  "$bin" --data "$data/store" demo --cases 300 --listen 127.0.0.1:0 >"$log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 1200); do
  kill -0 "$server_pid" 2>/dev/null || { echo "schemathesis: the server exited; its log:" >&2; cat "$log" >&2; exit 1; }
  url="$(grep -o -m1 'ecowarden web UI: *http://127\.0\.0\.1:[0-9]*' "$log" | grep -o 'http://.*' || true)"
  [[ -n "$url" ]] && curl -fsS -o /dev/null --max-time 2 "$url/healthz" 2>/dev/null && break
  url=""
  sleep 0.1
done
[[ -n "$url" ]] || { echo "schemathesis: no server after 120 s; its log:" >&2; cat "$log" >&2; exit 1; }

jar="$data/cookies"
login="$(curl -fsS -c "$jar" -H 'content-type: application/json' \
  -d '{"username":"admin","password":"Demo-2024!"}' "$url/api/v1/session")"
EW_CSRF="$(printf '%s' "$login" | python3 -c 'import sys, json; print(json.load(sys.stdin)["csrf_token"])')"
EW_SESSION="$(awk '$6 == "ew_session" { print $7 }' "$jar")"
export EW_CSRF EW_SESSION

# Every check runs: a list filter left empty means "any" and the document says so (a value or
# the empty string), and integers spelled as JSON Schema allows (1.0) are taken.
"$venv/bin/st" --config-file "$root/scripts/schemathesis.toml" run "$url/api/v1/openapi.json" \
  --max-examples "$examples" --workers 2 --seed 20231231
