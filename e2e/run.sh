#!/usr/bin/env bash
# End-to-end browser test of the web UI.
#
#   e2e/run.sh [PATH/TO/ecowarden]     (default: target/debug/ecowarden)
#
# Seeds a demo store in a temporary directory, serves it on a free loopback port, runs the
# Playwright tests (node --test) against it in Debian's headless Chromium, stops the server
# and exits with the tests' status. Needs: node >= 20, /usr/bin/chromium (apt-get install
# chromium) and a CJK font for readable screenshots (apt-get install fonts-noto-cjk).
# Screenshots and the server log go to e2e/artifacts/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin="${1:-$root/target/debug/ecowarden}"
[[ "$bin" = /* ]] || bin="$PWD/$bin"
[[ -x "$bin" ]] || { echo "e2e: no ecowarden binary at $bin (cargo build first)" >&2; exit 2; }
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[[ -x "$chromium" ]] || { echo "e2e: no Chromium at $chromium (apt-get install -y chromium)" >&2; exit 2; }

artifacts="$here/artifacts"
mkdir -p "$artifacts"
data="$(mktemp -d -t ecowarden-e2e.XXXXXX)"
log="$artifacts/server.log"
server_pid=""

cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -INT "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

if [[ ! -d "$here/node_modules/playwright-core" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

start=$(date +%s)
# Port 0: the server picks a free port and prints it.
"$bin" --data "$data" demo --listen 127.0.0.1:0 >"$log" 2>&1 &
server_pid=$!

url=""
for _ in $(seq 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "e2e: the server exited early; its log:" >&2; cat "$log" >&2; exit 1
  fi
  url="$(grep -o -m1 'ecowarden web UI: *http://127\.0\.0\.1:[0-9]*' "$log" | grep -o 'http://.*' || true)"
  if [[ -n "$url" ]] && curl -fsS -o /dev/null --max-time 2 "$url/healthz" 2>/dev/null; then
    break
  fi
  url=""
  sleep 0.1
done
[[ -n "$url" ]] || { echo "e2e: the server did not answer /healthz within 60 s; its log:" >&2; cat "$log" >&2; exit 1; }
echo "e2e: ecowarden serving $url (data $data), ready after $(( $(date +%s) - start )) s"

status=0
(cd "$here" && ECOWARDEN_URL="$url" CHROMIUM_PATH="$chromium" E2E_ARTIFACTS="$artifacts" \
  node --test --test-concurrency=1 --test-reporter=spec tests/) || status=$?
echo "e2e: finished in $(( $(date +%s) - start )) s, status $status (screenshots in $artifacts)"
exit "$status"
