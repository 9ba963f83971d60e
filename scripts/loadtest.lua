-- wrk script for scripts/loadtest.sh.
--
-- Environment:
--   LOADTEST_COOKIE  Cookie header to send (the ew_session of a signed-in user)
--   LOADTEST_LABEL   name of the run, printed in the RESULT line
--
-- Counts responses that are not 2xx (a redirect to /login means the session was not
-- accepted, which would make the figures meaningless) and prints, after wrk's own report,
-- one tab-separated line that loadtest.sh collects into its summary table:
--   RESULT label p50_ms p95_ms p99_ms max_ms req_per_s requests non_2xx socket_errors first_non_2xx

local cookie = os.getenv("LOADTEST_COOKIE")
local label = os.getenv("LOADTEST_LABEL") or "run"

wrk.method = "GET"
wrk.headers["Accept"] = "text/html"
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- Per-thread globals (each wrk thread has its own Lua state).
function init(args)
  non2xx = 0
  first_bad = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == 0 then
      first_bad = status
    end
  end
end

function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    local f = t:get("first_bad") or 0
    if first == 0 and f ~= 0 then
      first = f
    end
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  local function ms(p)
    return latency:percentile(p) / 1000.0
  end
  io.write(string.format(
    "  p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms; %.1f req/s; %d requests, %d non-2xx, %d socket errors\n",
    ms(50), ms(95), ms(99), latency.max / 1000.0, summary.requests / secs, summary.requests, bad, socket_errors))
  io.write(string.format("RESULT\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t%d\t%d\t%d\t%d\n",
    label, ms(50), ms(95), ms(99), latency.max / 1000.0, summary.requests / secs,
    summary.requests, bad, socket_errors, first))
end
