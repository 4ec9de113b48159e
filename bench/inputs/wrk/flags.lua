-- wrk script for bench/own/service_bench.sh: POST /flags?v=2, one random subject per request.
--
--   FLAGS_MODE=stored  "user-<n>", one of the stored persons, and nothing else: person properties,
--                      cohorts and continuity keys come from the database (flag_eval.decide()).
--   FLAGS_MODE=local   "visitor-<n>" with every property the flags of FLAGS_TOKEN read (person
--                      and group properties, groups): for a team whose flags need nothing stored
--                      (bench/inputs/sql/service_local_team.sql), the service answers without the
--                      database.
--   FLAGS_TOKEN        the team's token (default phc_demo)
--   FLAGS_PERSONS      n is drawn from 1..FLAGS_PERSONS (default 100000)
--
-- done() prints one line "wrk_result key=value ..." that bench/own/service_bench.sh keeps. There is
-- no response() callback on purpose: it would copy every ~10 kB answer into Lua and cost wrk the
-- CPU the service needs (all of them share the machine); wrk's own count of responses with a status
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

local subjects = dofile("bench/inputs/wrk/subjects.lua")
setup, init = subjects.setup, subjects.init

local function local_body(n)
  local v = subjects.visitor(n)
  return string.format(
    '{"token": "%s", "distinct_id": "visitor-%d", "person_properties": {' ..
      '"email": "%s", "plan": "%s", "country": "%s", "age": %s, ' ..
      '"signed_up_at": "%s", "last_seen_at": %s, "app_version": "%s", ' ..
      '"beta": %s, "$feature_enrollment/early-access": %s}, ' ..
      '"groups": {"organization": "%s", "company": "%s"}, ' ..
      '"group_properties": {"organization": {"tier": "%s", "seats": %s}, "company": {"employees": %s}}}',
    token, n, v.email, v.plan, v.country, v.age, v.signed_up_at, v.last_seen_at, v.app_version,
    v.beta, v.early_access, v.organization, v.company, v.organization_tier, v.organization_seats,
    v.company_employees)
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
  subjects.print_result(summary, latency)
end
