-- wrk script for bench/field/unleash_bench.sh: GET /api/frontend of unleash-server, one random
-- subject per request, the same subjects and properties as bench/inputs/wrk/flags.lua sends in mode
-- local (both from bench/inputs/wrk/subjects.lua), named as bench/field/unleash/translate_flags.mjs
-- names Unleash context fields: person properties as they are ("$feature_enrollment/early-access"
-- becomes feature_enrollment_early-access), group keys under the group type, group properties
-- as <group type>_<key>.
--
--   UNLEASH_FRONTEND_TOKEN   the frontend API token (Authorization header)
--   FLAGS_PERSONS            n is drawn from 1..FLAGS_PERSONS (default 100000)
--   WRK_COUNT_STATUS=1       count answers per second and status
--                            (bench/field/wrk/unleash_report.lua)
local report = dofile("bench/field/wrk/unleash_report.lua")
local token = os.getenv("UNLEASH_FRONTEND_TOKEN") or error("UNLEASH_FRONTEND_TOKEN is not set")
local persons = tonumber(os.getenv("FLAGS_PERSONS") or "100000")

wrk.method = "GET"
wrk.headers["Authorization"] = token

local subjects = dofile("bench/inputs/wrk/subjects.lua")
function setup(thread)
  subjects.setup(thread)
  report.setup(thread)
end
init = subjects.init

report.install_counter()

-- "@" and "/" are the only characters of these values that need escaping in a query string.
local function escaped(value)
  return (value:gsub("@", "%%40"):gsub("/", "%%2F"))
end

local function query(n)
  local v = subjects.visitor(n)
  return string.format(
    "/api/frontend?userId=visitor-%d" ..
      "&properties[email]=%s&properties[plan]=%s&properties[country]=%s&properties[age]=%s" ..
      "&properties[signed_up_at]=%s&properties[last_seen_at]=%s" ..
      "&properties[app_version]=%s&properties[beta]=%s&properties[feature_enrollment_early-access]=%s" ..
      "&properties[organization]=%s&properties[company]=%s" ..
      "&properties[organization_tier]=%s&properties[organization_seats]=%s&properties[company_employees]=%s",
    n, escaped(v.email), v.plan, v.country, v.age, v.signed_up_at, v.last_seen_at, v.app_version,
    v.beta, v.early_access, v.organization, v.company, v.organization_tier, v.organization_seats,
    v.company_employees)
end

function request()
  return wrk.format(nil, query(math.random(1, persons)))
end

function done(summary, latency, requests)
  subjects.print_result(summary, latency)
  report.done(summary, latency, requests)
end
