-- Cycles through a file of request lines: for GET, "Bearer-token"; for POST, a JSON body.
-- args: file method path
function init(args)
  items, n, method, path = {}, 0, args[2], args[3]
  for line in io.lines(args[1]) do table.insert(items, line) end
  n = math.random(#items)
end
function request()
  n = n % #items + 1
  if method == "GET" then
    return wrk.format("GET", path, {["Authorization"] = "Bearer " .. items[n]})
  end
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, items[n])
end
function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,' ..
    '"non2xx":%d,"socket_errors":%d,"lost":0}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
