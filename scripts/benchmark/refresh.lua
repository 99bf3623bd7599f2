-- Each wrk thread owns a slice of sessions; a request takes a token no other request holds,
-- the response gives back its successor, so every session refreshes its own chain.
-- args: tokens-file thread-count
local threads, counter = {}, 0
function setup(thread)
  thread:set("tid", counter); counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  pool, lost = {}, 0
  local i = 0
  for line in io.lines(args[1]) do
    if i % tonumber(args[2]) == tid then table.insert(pool, line) end
    i = i + 1
  end
end
function request()
  local token = table.remove(pool) or "exhausted"
  return wrk.format("POST", "/v1/auth/refresh", {["Content-Type"] = "application/json"},
                    '{"refreshToken":"' .. token .. '"}')
end
function response(status, headers, body)
  local token = body:match('"refreshToken":"([^"]+)"')
  if token then table.insert(pool, token) else lost = lost + 1 end
end
function done(summary, latency, requests)
  local lost_total = 0
  for _, t in ipairs(threads) do lost_total = lost_total + t:get("lost") end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d,"lost":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    lost_total))
end
