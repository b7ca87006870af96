-- wrk script for bench/run.py: tickets through the gateway with a bearer token.
--
-- BENCH_MODE (environment) picks the request:
--   create (default)  POST /api/v1/tickets, each request its own subject, priorities rotating over the three
--                     seeded SLA policies, no assignee (a ticket from a channel: ticketing routes it itself);
--   read              GET /api/v1/tickets/<id>, ids BENCH_FIRST_ID..BENCH_LAST_ID in turn, each thread from
--                     its own offset;
--   list              GET /api/v1/tickets?per_page=20 (the newest page, with its total).
-- The token comes from BENCH_TOKEN. Every status that is not 2xx is counted, and done() prints one line
-- "BENCH_JSON {...}" that run.py parses (latencies in microseconds).

local token = os.getenv("BENCH_TOKEN") or ""
local mode = os.getenv("BENCH_MODE") or "create"
local first_id = tonumber(os.getenv("BENCH_FIRST_ID") or "1")
local id_count = tonumber(os.getenv("BENCH_LAST_ID") or "1") - first_id + 1
local priorities = { "normal", "high", "urgent" }
local threads = {}

wrk.headers["Authorization"] = "Bearer " .. token
if mode == "create" then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

counter = 0
non2xx = 0

function request()
  counter = counter + 1
  if mode == "read" then
    return wrk.format("GET", string.format("/api/v1/tickets/%d", first_id + (thread_id * 7919 + counter) % id_count))
  elseif mode == "list" then
    return wrk.format("GET", "/api/v1/tickets?per_page=20")
  end
  local body = string.format(
    '{"subject":"Bench ticket %d-%d","description":"Two debits for order %d","channel":"web_form",' ..
    '"kind":"complaint","priority":"%s","tags":["bench","billing"],' ..
    '"customer":{"name":"Chen Jie","contact":"+86 139 1234 5678"}}',
    thread_id, counter, counter, priorities[(counter % 3) + 1])
  return wrk.format(nil, "/api/v1/tickets", nil, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"non2xx":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, bad,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
