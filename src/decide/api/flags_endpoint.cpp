#include "decide/api/flags_endpoint.hpp"

#include "decide/api/answer_shapes.hpp"
#include "decide/api/local_evaluation.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unordered_map>
#include <unordered_set>

namespace flag_eval::decide {
namespace {

using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

// GCC 12 miscompiles temporaries with destructors inside co_await expressions (double frees):
// arguments are built in named locals and only named awaitables are awaited.

// Unnamed statements with text parameters: PgBouncer in transaction pooling keeps no state for us.
// decide_outcomes() when the service holds the team's definitions (the rest of each answer is
// in them); decide()'s whole answer only before any definitions are loaded.
constexpr const char* kDecideOutcomesSql =
    "SELECT flag_eval.decide_outcomes($1, $2, $3::jsonb, $4::jsonb, $5::jsonb, $6, $7::text[], "
    "$8, $9, $10::text[])";
// The same for several requests in one statement (a busy route batches them): each parameter
// an array with one element per request, one row per request back, in their order.
constexpr BatchForm kDecideOutcomesBatch{
    "SELECT flag_eval.decide_outcomes(c.token, c.distinct_id, c.person_properties::jsonb, "
    "c.groups::jsonb, c.group_properties::jsonb, c.anon_distinct_id, c.flag_keys::text[], "
    "c.device_id, c.evaluation_runtime, c.evaluation_contexts::text[]) "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
    "$7::text[], $8::text[], $9::text[], $10::text[]) WITH ORDINALITY "
    "AS c(token, distinct_id, person_properties, groups, group_properties, anon_distinct_id, "
    "flag_keys, device_id, evaluation_runtime, evaluation_contexts, n) ORDER BY c.n"};
constexpr const char* kDecideSql =
    "SELECT flag_eval.decide($1, $2, $3::jsonb, $4::jsonb, $5::jsonb, $6, $7::text[], $8, $9, "
    "$10::text[])::text";
constexpr const char* kRecordOverridesSql =
    "SELECT flag_eval.record_hash_key_overrides($1, $2, $3)";
// The writes of several requests in one statement and one commit: they all go to the primary,
// whose pool they would otherwise hold one by one.
constexpr BatchForm kRecordOverridesBatch{
    "SELECT flag_eval.record_hash_key_overrides(c.token, c.distinct_id, c.anon_distinct_id) "
    "FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY "
    "AS c(token, distinct_id, anon_distinct_id, n) ORDER BY c.n"};
constexpr const char* kInvalidToken = "28000";

// Which of the evaluated flags the request asks for (flag_keys_to_evaluate), by position.
std::vector<bool> asked_for(const DecideRequest& request, const EvaluationSummary& summary) {
    std::vector<bool> asked(summary.flags.size(), !request.flag_keys);
    if (request.flag_keys) {
        const std::unordered_set<std::string_view> keys(request.flag_keys->begin(),
                                                        request.flag_keys->end());
        for (std::size_t i = 0; i < asked.size(); ++i)
            asked[i] = keys.contains(summary.flags[i].flag->key);
    }
    return asked;
}

// PostHog records continuity keys for person flags only (record_hash_key_overrides() does too).
bool records_override(const Flag& flag) {
    return flag.ensure_experience_continuity && !flag.aggregation_group_type_index;
}

// The outcome line of `key`. The database writes them in the team's stored order, the order
// they are asked for in here, so the search starts where the last one was found.
const OutcomeLine* line_of(const std::vector<OutcomeLine>& lines, std::string_view key,
                           std::size_t& next) {
    for (std::size_t i = next; i < lines.size(); ++i) {
        if (lines[i].key == key) {
            next = i + 1;
            return &lines[i];
        }
    }
    for (std::size_t i = 0; i < next && i < lines.size(); ++i)
        if (lines[i].key == key) return &lines[i];
    return nullptr;
}

// The single text value of a successful query, moved out, or nullopt.
std::optional<std::string> take_single_value(QueryOutcome& outcome) {
    if (!outcome.result.ok() || outcome.result.rows.empty() || outcome.result.rows[0].empty())
        return std::nullopt;
    return std::move(outcome.result.rows[0][0]);
}

std::string failure_description(const QueryOutcome& outcome) {
    return "stored data unavailable (" + describe(outcome.result) + ")";
}

}  // namespace

std::string text_array_literal(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        append_array_element(out, values[i]);
    }
    out += '}';
    return out;
}

std::vector<std::optional<std::string>> decide_parameters(
    const DecideRequest& request, const std::optional<std::vector<std::string>>& flag_keys) {
    std::vector<std::optional<std::string>> params;
    params.reserve(10);
    params.emplace_back(request.token);
    params.emplace_back(request.distinct_id);
    // NULL for an empty object: both functions read it as none, and the server parses no jsonb.
    for (const boost::json::object* object :
         {&request.person_properties, &request.groups, &request.group_properties}) {
        if (object->empty())
            params.emplace_back(std::nullopt);
        else
            params.emplace_back(boost::json::serialize(*object));
    }
    params.emplace_back(request.anon_distinct_id);
    if (flag_keys)
        params.emplace_back(text_array_literal(*flag_keys));
    else
        params.emplace_back(std::nullopt);
    params.emplace_back(request.device_id);
    // The flags outside the request's scope count as off for the stored flags depending on them.
    params.emplace_back(std::string(request_runtime_name(request.scope.runtime)));
    if (request.scope.contexts.empty())
        params.emplace_back(std::nullopt);
    else
        params.emplace_back(text_array_literal(request.scope.contexts));
    return params;
}

boost::asio::awaitable<std::variant<Answer, FlagsFailure>> FlagsEndpoint::answer(
    const DecideRequest& request) {
    const Clock::time_point deadline = Clock::now() + deadline_;
    if (request.disable_flags) co_return Answer{};
    const std::shared_ptr<const TeamDefinitions> team = cache_.by_api_token(request.token);
    if (!team) {
        if (cache_.loaded()) co_return FlagsFailure{401, "invalid API token"};
        // No definitions yet (first start, no snapshot): the database is all there is.
        co_return co_await answer_from_database_only(request, deadline);
    }

    const Subject subject{
        request.distinct_id,
        request.device_id ? std::string_view(*request.device_id) : std::string_view(),
        &request.person_properties,
        &request.groups,
        &request.group_properties,
        &request.scope};
    const LocalEvaluation local = evaluate_locally(team->flags, subject);
    const std::vector<bool> asked = asked_for(request, local.summary);

    bool any_from_database = false;
    bool record_overrides = false;
    for (std::size_t i = 0; i < local.summary.flags.size(); ++i) {
        if (!asked[i] || !local.needs_database[i]) continue;
        any_from_database = true;
        // Written when the SDK names the anonymous id the subject had before identifying.
        record_overrides |=
            request.anon_distinct_id && records_override(*local.summary.flags[i].flag);
    }

    // Every flag's outcome comes back (a line each), so no list of keys is sent.
    std::optional<std::string> outcome_text;
    OutcomeLines outcomes;
    std::string stored_failure;
    std::string write_failure;
    if (any_from_database) {
        auto read =
            query(Purpose::PersonData, kDecideOutcomesSql, decide_parameters(request, std::nullopt),
                  deadline, &kDecideOutcomesBatch);
        QueryOutcome read_outcome;
        if (record_overrides) {
            auto write = query(Purpose::PrimaryWrite, kRecordOverridesSql,
                               {request.token, request.distinct_id, request.anon_distinct_id},
                               deadline, &kRecordOverridesBatch);
            auto both =
                std::move(read) && std::move(write);  // concurrently, each within the deadline
            auto results = co_await std::move(both);
            auto& [r, w] = results;
            read_outcome = std::move(r);
            if (!w.result.ok())
                write_failure = "experience continuity not recorded (" + describe(w.result) + ")";
        } else {
            read_outcome = co_await std::move(read);
        }
        outcome_text = take_single_value(read_outcome);
        if (outcome_text) {
            auto parsed = read_outcome_lines(*outcome_text);
            if (auto* lines = std::get_if<OutcomeLines>(&parsed)) {
                outcomes = std::move(*lines);
            } else {
                stored_failure =
                    "unreadable decide_outcomes() answer: " + std::get<std::string>(parsed);
            }
        } else {
            stored_failure = failure_description(read_outcome);
        }
    }

    Answer answer;
    answer.hold(team);  // the answer's views point into the team's flags
    answer.flags.reserve(local.summary.flags.size());
    if (team->flags.keys_unique()) answer.keys = FlagKeys::Unique;
    const std::string_view write_problem =
        write_failure.empty() ? std::string_view{} : answer.keep(write_failure);
    const std::string_view stored_problem = stored_failure.empty()
                                                ? "flag missing from the database's answer"
                                                : answer.keep(stored_failure);
    std::size_t next_line = 0;
    std::size_t computed_here = 0, from_stored = 0, failed = 0;
    for (std::size_t i = 0; i < local.summary.flags.size(); ++i) {
        const auto& [flag, result] = local.summary.flags[i];
        if (!asked[i]) continue;
        if (!local.needs_database[i]) {
            answer.flags.push_back(flag_answer_view(*flag, result, answer.descriptions.of(result)));
            ++computed_here;
        } else if (!write_failure.empty() && records_override(*flag)) {
            answer.flags.push_back(
                failed_answer(*flag, write_problem, "hash_key_override_error"));  // PostHog's code
        } else if (const OutcomeLine* line = line_of(outcomes.lines, flag->key, next_line)) {
            answer.flags.push_back(stored_answer(*flag, *line, answer));
            ++from_stored;
        } else {
            answer.flags.push_back(failed_answer(*flag, stored_problem));
        }
        if (answer.flags.back().failed) {
            answer.errors_while_computing = true;
            ++failed;
        }
    }
    metrics_.record_flags_evaluated(FlagSource::local, computed_here);
    metrics_.record_flags_evaluated(FlagSource::database, from_stored);
    metrics_.record_flags_evaluated(FlagSource::failed, failed);
    if (!stored_failure.empty() || !write_failure.empty()) metrics_.record_degraded_answer();
    answer.definitions_age = cache_.freshness().age(std::chrono::system_clock::now());
    if (answer.definitions_age && *answer.definitions_age > stale_after_)
        note_stale_definitions(
            answer, std::chrono::duration_cast<std::chrono::seconds>(*answer.definitions_age));
    co_return answer;
}

boost::asio::awaitable<std::variant<Answer, FlagsFailure>> FlagsEndpoint::answer_from_database_only(
    const DecideRequest& request, Clock::time_point deadline) {
    auto read = query(Purpose::PersonData, kDecideSql,
                      decide_parameters(request, request.flag_keys), deadline);
    QueryOutcome outcome = co_await std::move(read);
    if (outcome.result.sqlstate == kInvalidToken) co_return FlagsFailure{401, "invalid API token"};
    const auto body = take_single_value(outcome);
    if (!body)
        co_return FlagsFailure{503,
                               "no flag definitions loaded and " + failure_description(outcome)};
    auto parsed = parse_v2_body(*body);
    if (auto* answer = std::get_if<Answer>(&parsed)) co_return std::move(*answer);
    co_return FlagsFailure{503, "unreadable decide() answer: " + std::get<std::string>(parsed)};
}

boost::asio::awaitable<QueryOutcome> FlagsEndpoint::query(Purpose purpose, const char* sql,
                                                          QueryParams params,
                                                          Clock::time_point deadline,
                                                          const BatchForm* batch) {
    std::string statement(sql);
    auto on_routes = boost::asio::co_spawn(
        routes_.executor(),
        routes_.query(purpose, std::move(statement), std::move(params), deadline, batch),
        boost::asio::use_awaitable);
    co_return co_await std::move(on_routes);
}

}  // namespace flag_eval::decide
