-- wrk script for bench/unleash_bench.sh: GET /api/frontend of unleash-server, one random subject
-- per request, the same subjects and properties as bench/wrk/flags.lua sends in mode local
-- (keep local_body there and query() here in step), named as bench/unleash/translate_flags.mjs
-- names Unleash context fields: person properties as they are ("$feature_enrollment/early-access"
-- becomes feature_enrollment_early-access), group keys under the group type, group properties
-- as <group type>_<key>.
--
--   UNLEASH_FRONTEND_TOKEN   the frontend API token (Authorization header)
--   FLAGS_PERSONS            n is drawn from 1..FLAGS_PERSONS (default 100000)
--   WRK_COUNT_STATUS=1       count answers per second and status (bench/wrk/unleash_report.lua)
local report = dofile("bench/wrk/unleash_report.lua")
local token = os.getenv("UNLEASH_FRONTEND_TOKEN") or error("UNLEASH_FRONTEND_TOKEN is not set")
local persons = tonumber(os.getenv("FLAGS_PERSONS") or "100000")

wrk.method = "GET"
wrk.headers["Authorization"] = token

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
  report.setup(thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

report.install_counter()

local plans = {"free", "free", "starter", "pro", "Pro", "enterprise", "team"}
local countries = {"US", "us", "GB", "DE", "FR", "IN", "BR", "CA", "JP"}
local domains = {"example.com", "gmail.com", "posthog.com", "yahoo.co.uk", "corp.example"}
local tiers = {"free", "silver", "gold"}

local function query(n)
  -- Only "@" and "/" need escaping among the characters these values use.
  return string.format(
    "/api/frontend?userId=visitor-%d" ..
      "&properties[email]=user%d%%40%s&properties[plan]=%s&properties[country]=%s&properties[age]=%d" ..
      "&properties[signed_up_at]=20%02d-%02d-01T00:00:00Z&properties[last_seen_at]=%d" ..
      "&properties[app_version]=%d.%d.%d&properties[beta]=%s&properties[feature_enrollment_early-access]=%s" ..
      "&properties[organization]=org-%d&properties[company]=company-%d" ..
      "&properties[organization_tier]=%s&properties[organization_seats]=%d&properties[company_employees]=%d",
    n,
    n, domains[1 + n % #domains], plans[1 + n % #plans], countries[1 + n % #countries], 13 + n % 60,
    20 + n % 6, 1 + n % 12, 1672531200 + n * 7919 % 94608000, 1 + n % 3, n % 20, n % 10,
    (n % 10 == 0) and "true" or "false", (n % 20 == 0) and "true" or "false",
    n % 200, n % 100,
    tiers[1 + n % #tiers], 1 + n % 500, 5 * (1 + n % 400))
end

function request()
  return wrk.format(nil, query(math.random(1, persons)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "wrk_result requests=%d duration_us=%d bytes=%d rps=%.1f mean_us=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
      "max_us=%d status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.bytes, summary.requests / (summary.duration / 1e6),
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
  report.done(summary, latency, requests)
end
