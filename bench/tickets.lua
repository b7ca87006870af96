-- wrk script for bench/run.py: POST /api/v1/tickets with a bearer token.
--
-- The token comes from the environment (BENCH_TOKEN), each request gets its
-- own subject, priorities rotate over the three seeded SLA policies, no
-- assignee (a ticket from a channel: ticketing routes it itself), every
-- status that is not 2xx is counted, and done() prints one line
-- "BENCH_JSON {...}" that run.py parses (latencies in microseconds).

local token = os.getenv("BENCH_TOKEN") or ""
local priorities = { "normal", "high", "urgent" }
local threads = {}

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

counter = 0
non2xx = 0

function request()
  counter = counter + 1
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
