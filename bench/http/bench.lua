-- wrk script for bench/http/run.sh. Arguments after "--":
--   get PATH [ETAG]  GET PATH, with "If-None-Match: ETAG" when given
--   cycle FIRST LAST GET /api/worker/jobs/{id}, id cycling FIRST..LAST, each thread from its own start
--   post             POST /api/worker/jobs {"type":"add",...}
--   submit N         as post, but each thread stops after N replies (end-to-end jobs/s)
-- done() prints one "RESULT key=value ..." line for run.sh to parse.

local limit = nil
local replies = 0
local req
local first, last, next_id

local threads = 0
function setup(thread)
  thread:set("thread_no", threads)
  threads = threads + 1
end

function init(args)
  local mode = args[1]
  if mode == "get" then
    local headers = {}
    if args[3] ~= nil and args[3] ~= "" then headers["If-None-Match"] = args[3] end
    req = wrk.format("GET", args[2], headers)
  elseif mode == "cycle" then
    first, last = tonumber(args[2]), tonumber(args[3])
    -- Threads start apart (setup numbers them), so they do not read the same job at once.
    next_id = first + math.floor((last - first + 1) * (thread_no or 0) / 8) % (last - first + 1)
  else
    req = wrk.format("POST", "/api/worker/jobs", {["Content-Type"] = "application/json"},
                     '{"type":"add","params":{"x":2,"y":40}}')
    if mode == "submit" then limit = tonumber(args[2]) end
  end
  if limit == nil then
    response = nil  -- wrk then skips parsing headers and bodies
  end
end

function request()
  if next_id ~= nil then
    local id = next_id
    next_id = next_id < last and next_id + 1 or first
    return wrk.format("GET", "/api/worker/jobs/" .. id)
  end
  return req
end

function response(status, headers, body)
  replies = replies + 1
  if replies >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
    "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
