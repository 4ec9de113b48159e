-- wrk script for bench/field/unleash_bench.sh: bench/inputs/wrk/flags.lua (POST /flags?v=2 to
-- flag-decide, FLAGS_MODE stored or local) with what bench/field/wrk/unleash_report.lua adds:
-- latency percentiles for the CDF plots, and per-second status counts when WRK_COUNT_STATUS=1.
local report = dofile("bench/field/wrk/unleash_report.lua")
dofile("bench/inputs/wrk/flags.lua")

local flags_setup, flags_done = setup, done
function setup(thread)
  flags_setup(thread)
  report.setup(thread)
end

report.install_counter()

function done(summary, latency, requests)
  flags_done(summary, latency, requests)
  report.done(summary, latency, requests)
end
