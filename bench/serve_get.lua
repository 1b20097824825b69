-- serve_get.lua - wrk script for scripts/bench_serve.sh: GETs of uniformly random inclusion
-- proofs or full level-0 hash tiles of a log of SIZE entries, on a treatylog serve.
--
--   SIZE=10000000 KIND=proof wrk -t2 -c64 -d10s -s bench/serve_get.lua http://127.0.0.1:PORT
--   KIND=proof  GET /v1/proof/inclusion?index=N          (N uniform in [0, SIZE))
--   KIND=tile   GET /tile/0/<N>                          (N uniform over the full tiles)
-- At the end prints one line: "wrkresult requests=.. non200=.. errors=.. p50_ms=.. ...".

local size = tonumber(os.getenv("SIZE") or "0")
local kind = os.getenv("KIND") or "proof"
local ntiles = math.floor(size / 256)
local threads = {}

-- tlog-tiles index path: base-1000 groups of 3 digits, "x"-prefixed but the last.
local function tile_index_path(n)
  local groups = {}
  repeat
    table.insert(groups, 1, string.format("%03d", n % 1000))
    n = math.floor(n / 1000)
  until n == 0
  for i = 1, #groups - 1 do groups[i] = "x" .. groups[i] end
  return table.concat(groups, "/")
end

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  math.randomseed(os.time() * 1000 + id)
end

function request()
  if kind == "tile" then
    return wrk.format("GET", "/tile/0/" .. tile_index_path(math.random(0, ntiles - 1)))
  end
  return wrk.format("GET", "/v1/proof/inclusion?index=" .. math.random(0, size - 1))
end

function response(status, headers, body)
  if status ~= 200 then non200 = non200 + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("non200") or 0) end
  local e = summary.errors
  io.write(string.format(
    "wrkresult kind=%s requests=%d seconds=%.2f rate=%.0f non200=%d errors=%d p50_ms=%.2f " ..
    "p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    kind, summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    bad, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
