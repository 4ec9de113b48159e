-- What the wrk scripts of flag-decide (bench/inputs/wrk/flags.lua) and of unleash-server
-- (bench/field/wrk/unleash.lua) share, so that both systems are asked about the same subjects:
--
--   visitor(n)          the properties and groups of subject "visitor-<n>": every value varies
--                       with n so that the flags take different branches, as real subjects do
--   setup(thread), init()   a random sequence of its own for each wrk thread
--   print_result(summary, latency)   the "wrk_result key=value ..." line the bench scripts keep
local M = {}

local plans = {"free", "free", "starter", "pro", "Pro", "enterprise", "team"}
local countries = {"US", "us", "GB", "DE", "FR", "IN", "BR", "CA", "JP"}
local domains = {"example.com", "gmail.com", "posthog.com", "yahoo.co.uk", "corp.example"}
local tiers = {"free", "silver", "gold"}

function M.visitor(n)
  return {
    email = string.format("user%d@%s", n, domains[1 + n % #domains]),
    plan = plans[1 + n % #plans],
    country = countries[1 + n % #countries],
    age = string.format("%d", 13 + n % 60),
    signed_up_at = string.format("20%02d-%02d-01T00:00:00Z", 20 + n % 6, 1 + n % 12),
    last_seen_at = string.format("%d", 1672531200 + n * 7919 % 94608000),
    app_version = string.format("%d.%d.%d", 1 + n % 3, n % 20, n % 10),
    beta = (n % 10 == 0) and "true" or "false",
    early_access = (n % 20 == 0) and "true" or "false",
    organization = string.format("org-%d", n % 200),
    company = string.format("company-%d", n % 100),
    organization_tier = tiers[1 + n % #tiers],
    organization_seats = string.format("%d", 1 + n % 500),
    company_employees = string.format("%d", 5 * (1 + n % 400)),
  }
end

-- wrk's threads would otherwise repeat one another's random sequence.
local thread_count = 0
function M.setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end

function M.init()
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

function M.print_result(summary, latency)
  local e = summary.errors
  io.write(string.format(
    "wrk_result requests=%d duration_us=%d bytes=%d rps=%.1f mean_us=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
      "max_us=%d status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.bytes, summary.requests / (summary.duration / 1e6),
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end

return M
