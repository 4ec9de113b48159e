-- Shared by bench/field/wrk/unleash.lua and bench/field/wrk/unleash_flags.lua
-- (bench/field/unleash_bench.sh): what done() prints besides the "wrk_result" line, and the
-- per-second status counts of a run with the database stopped half-way.
--
--   wrk_percentile p=<p> us=<latency>   for p = 1 .. 99.9 (the latency CDF the plots draw)
--   wrk_status second=<s> status=<code> count=<n>   only when WRK_COUNT_STATUS=1: a response()
--                                       callback counts every answer by second and status (it
--                                       costs wrk CPU, so the throughput runs leave it off)
local M = {}

M.percentiles = {1, 2, 5, 10, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98,
                 99, 99.5, 99.9}

local counting = os.getenv("WRK_COUNT_STATUS") == "1"
local threads = {}

function M.setup(thread)
  table.insert(threads, thread)
end

-- Installed as wrk's response() only when counting (its mere presence makes wrk parse bodies).
function M.install_counter()
  if not counting then return end
  counts = {}
  function response(status, headers, body)
    local key = os.time() .. ":" .. status
    counts[key] = (counts[key] or 0) + 1
  end
end

function M.done(summary, latency, requests)
  for _, p in ipairs(M.percentiles) do
    io.write(string.format("wrk_percentile p=%s us=%d\n", p, latency:percentile(p)))
  end
  if not counting then return end
  -- Threads count by wall-clock second; seconds are printed from the first answer of any thread.
  local total, first = {}, nil
  for _, thread in ipairs(threads) do
    local c = thread:get("counts") or {}
    for key, n in pairs(c) do
      total[key] = (total[key] or 0) + n
      local second = tonumber(key:match("^(%d+):"))
      if not first or second < first then first = second end
    end
  end
  for key, n in pairs(total) do
    local second, status = key:match("^(%d+):(%d+)$")
    io.write(string.format("wrk_status second=%d status=%s count=%d\n", tonumber(second) - first, status, n))
  end
end

return M
