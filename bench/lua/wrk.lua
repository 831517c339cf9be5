-- wrk script of the Gearbox benchmarks.
--   wrk ... -s bench/lua/wrk.lua URL -- METHOD [BODY_FILE]
-- "_N_" in the URL's path becomes "<thread>-<counter>" (a new resource name
-- per request).  done() prints one machine-readable line, "WRKJSON {...}",
-- which bench/run reads instead of wrk's human-readable summary.

local method = "GET"
local body = nil
local headers = {}
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  method = args[1] or "GET"
  if args[2] and args[2] ~= "" then
    local f = assert(io.open(args[2], "rb"))
    body = f:read("*a")
    f:close()
    headers["Content-Type"] = "application/json"
  end
end

function request()
  counter = counter + 1
  local path = wrk.path:gsub("_N_", thread_id .. "-" .. counter)
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
