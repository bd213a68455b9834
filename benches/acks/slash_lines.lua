-- wrk script for `cargo bench --bench acks`: POSTs signed slash commands to /slack/events.
--
-- Like ../shared/bench/slash.lua, but the requests are read line by line from one file per
-- thread ($SLASH_REQUESTS.0, $SLASH_REQUESTS.1, …; lines are `timestamp TAB signature TAB body`),
-- so a run can send a million distinct requests without holding them all in memory: Lobby
-- accepts a signature once, so a request sent twice would be refused. done() prints the
-- `BENCH requests=… rps=…`, latency and non-200 lines the bench reads.

local prefix = os.getenv("SLASH_REQUESTS") or "requests"
local path = os.getenv("SLASH_PATH") or "/slack/events"

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local lines
non200 = 0

function init(args)
  lines = io.lines(prefix .. "." .. tid)
end

function request()
  local line = lines()
  if line == nil then
    -- Ran out: start over (these repeats are refused and counted as non-200).
    lines = io.lines(prefix .. "." .. tid)
    line = lines()
  end
  local ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["User-Agent"] = "Slackbot 1.0 (+https://api.slack.com/robots)",
    ["X-Slack-Request-Timestamp"] = ts,
    ["X-Slack-Signature"] = sig,
  }, body)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + (t:get("non200") or 0)
  end
  io.write(string.format("BENCH requests=%d rps=%.1f\n",
    summary.requests, summary.requests / (summary.duration / 1e6)))
  io.write(string.format("BENCH latency_ms p50=%.3f p99=%.3f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("BENCH non200=%d\n", total))
end
