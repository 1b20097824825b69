-- serve_post.lua - wrk script for scripts/bench_serve.sh: POST /add?wait=0 of distinct
-- SIZE-byte entries (raw mode), closed loop, to find the server's throughput ceiling with a
-- light generator (treatylog load, open loop, is the sustained-rate measure).
--
--   SIZE=256 wrk -t1 -c64 -d5s -s bench/serve_post.lua http://127.0.0.1:PORT
-- Every body is distinct: a per-thread prefix and a counter, padded to SIZE bytes.
-- At the end prints one line: "wrkresult kind=post requests=.. non200=.. ...".

local size = tonumber(os.getenv("SIZE") or "256")
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  n = 0
  prefix = string.format("bench-post %d %d ", os.time(), id)
  pad = string.rep("x", size)
end

function request()
  n = n + 1
  local head = prefix .. n .. " "
  return wrk.format("POST", "/add?wait=0", nil, head .. string.sub(pad, 1, size - #head))
end

function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non200") or 0) end
  local e = summary.errors
  io.write(string.format(
    "wrkresult kind=post requests=%d seconds=%.2f rate=%.0f non200=%d errors=%d p50_ms=%.2f " ..
    "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    bad, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
