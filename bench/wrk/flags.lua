-- wrk script for bench/service_bench.sh: POST /flags?v=2, one random subject per request.
--
--   FLAGS_MODE=stored  "user-<n>", one of the stored persons, and nothing else: person properties,
--                      cohorts and continuity keys come from the database (flag_eval.decide()).
--   FLAGS_MODE=local   "visitor-<n>" with every property the flags of FLAGS_TOKEN read (person
--                      and group properties, groups): for a team whose flags need nothing stored
--                      (bench/sql/service_local_team.sql), the service answers without the database.
--   FLAGS_TOKEN        the team's token (default phc_demo)
--   FLAGS_PERSONS      n is drawn from 1..FLAGS_PERSONS (default 100000)
--
-- done() prints one line "wrk_result key=value ..." that bench/service_bench.sh keeps. There is no
-- response() callback on purpose: it would copy every ~10 kB answer into Lua and cost wrk the CPU
-- the service needs (all of them share the machine); wrk's own count of responses with a status
-- of 400 or more (summary.errors.status) says whether any request failed.
local mode = os.getenv("FLAGS_MODE") or "stored"
local token = os.getenv("FLAGS_TOKEN") or "phc_demo"
local persons = tonumber(os.getenv("FLAGS_PERSONS") or "100000")
if mode ~= "stored" and mode ~= "local" then
  error("FLAGS_MODE must be stored or local, not " .. mode)
end

wrk.method = "POST"
wrk.path = "/flags?v=2"
wrk.headers["Content-Type"] = "application/json"

-- Each thread gets its own random sequence (wrk's threads would otherwise repeat one another).
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

-- Property values vary with n so that the flags take different branches, as real subjects do.
local plans = {"free", "free", "starter", "pro", "Pro", "enterprise", "team"}
local countries = {"US", "us", "GB", "DE", "FR", "IN", "BR", "CA", "JP"}
local domains = {"example.com", "gmail.com", "posthog.com", "yahoo.co.uk", "corp.example"}
local tiers = {"free", "silver", "gold"}

local function local_body(n)
  return string.format(
    '{"token": "%s", "distinct_id": "visitor-%d", "person_properties": {' ..
      '"email": "user%d@%s", "plan": "%s", "country": "%s", "age": %d, ' ..
      '"signed_up_at": "20%02d-%02d-01T00:00:00Z", "last_seen_at": %d, "app_version": "%d.%d.%d", ' ..
      '"beta": %s, "$feature_enrollment/early-access": %s}, ' ..
      '"groups": {"organization": "org-%d", "company": "company-%d"}, ' ..
      '"group_properties": {"organization": {"tier": "%s", "seats": %d}, "company": {"employees": %d}}}',
    token, n,
    n, domains[1 + n % #domains], plans[1 + n % #plans], countries[1 + n % #countries], 13 + n % 60,
    20 + n % 6, 1 + n % 12, 1672531200 + n * 7919 % 94608000, 1 + n % 3, n % 20, n % 10,
    (n % 10 == 0) and "true" or "false", (n % 20 == 0) and "true" or "false",
    n % 200, n % 100,
    tiers[1 + n % #tiers], 1 + n % 500, 5 * (1 + n % 400))
end

function request()
  local n = math.random(1, persons)
  local body
  if mode == "local" then
    body = local_body(n)
  else
    body = '{"token": "' .. token .. '", "distinct_id": "user-' .. n .. '"}'
  end
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "wrk_result requests=%d duration_us=%d bytes=%d rps=%.1f mean_us=%.1f p50_us=%d p90_us=%d p99_us=%d " ..
      "max_us=%d status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.bytes, summary.requests / (summary.duration / 1e6),
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
