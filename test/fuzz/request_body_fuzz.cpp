// libFuzzer target: a POST /flags body as the service reads it. decode_body (gzip/zlib, base64,
// forms, percent escapes), parse_decide_request on what it decodes, and evaluate_locally of the
// request against a fixed set of flags, as flags_endpoint.cpp does.
//
// Input: four header bytes, then the body.
//   byte 0: Content-Encoding, byte 1: Content-Type, byte 2: the `compression` query parameter,
//   each an index into the tables below (modulo their size); byte 3: the decoded-size limit.
// Both functions promise never to throw: an exception escapes and libFuzzer reports it.
#include "core/flag_set.hpp"
#include "decide/api/decide_request.hpp"
#include "decide/api/local_evaluation.hpp"
#include "decide/http/request_body.hpp"

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

namespace {

namespace json = boost::json;
using namespace flag_eval;
using namespace flag_eval::decide;

constexpr std::string_view kContentEncodings[] = {"",       "gzip",       "deflate", "identity",
                                                  "x-gzip", "gzip, gzip", "br"};
constexpr std::string_view kContentTypes[] = {
    "", "application/json", "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8", "text/plain"};
constexpr std::string_view kCompressions[] = {"", "gzip", "gzip-js", "base64", "lz64"};
// Small limits reach the 413 paths (a gzip bomb is found without inflating it whole).
constexpr std::size_t kMaxDecodedBytes[] = {1 << 20, 64, 1024, 16 * 1024};

// Flags that read what a request can carry: person and group properties, variants, a group
// aggregation, a dynamic cohort and a dependency.
constexpr const char* kDefinitions = R"({
  "group_type_mapping": {"0": "organization", "1": "project"},
  "cohorts": {"7": {"type": "OR", "values": [{"type": "AND", "values": [
      {"key": "email", "type": "person", "operator": "icontains", "value": "@posthog.com"}]}]}},
  "flags": [
    {"id": 1, "key": "plan-gate", "active": true, "filters": {"groups": [
        {"properties": [{"key": "plan", "type": "person", "operator": "exact", "value": ["pro", "enterprise"]}],
         "rollout_percentage": 50}]}},
    {"id": 2, "key": "variants", "active": true, "bucketing": "sha1", "filters": {
        "groups": [{"properties": [{"key": "app_version", "type": "person", "operator": "semver_gte", "value": "1.2.0"}]}],
        "multivariate": {"variants": [{"key": "a", "rollout_percentage": 50}, {"key": "b", "rollout_percentage": 50}]},
        "payloads": {"a": "{\"x\":1}"}}},
    {"id": 3, "key": "org-flag", "active": true, "filters": {"aggregation_group_type_index": 0, "groups": [
        {"properties": [{"key": "seats", "type": "group", "group_type_index": 0, "operator": "gt", "value": 10}]}]}},
    {"id": 4, "key": "staff", "active": true, "filters": {"groups": [
        {"properties": [{"key": "id", "type": "cohort", "operator": "in", "value": 7}]}]}},
    {"id": 5, "key": "dependent", "active": true, "filters": {"groups": [
        {"properties": [{"key": "plan-gate", "type": "flag", "operator": "flag_evaluates_to", "value": true}]}]}},
    {"id": 6, "key": "recent", "active": true, "filters": {"groups": [
        {"properties": [{"key": "signup", "type": "person", "operator": "is_date_after", "value": "-30d"},
                        {"key": "name", "type": "person", "operator": "regex", "value": "^[a-z]+$"}]}]}}
  ]})";

const FlagSet& flags() {
    static const FlagSet set = FlagSet::parse(json::parse(kDefinitions), Bucketing::Xxh3);
    return set;
}

template <std::size_t N>
std::string_view pick(const std::string_view (&table)[N], std::uint8_t byte) {
    return table[byte % N];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 4) return -1;
    const std::string_view content_encoding = pick(kContentEncodings, data[0]);
    const std::string_view content_type = pick(kContentTypes, data[1]);
    const std::string_view compression = pick(kCompressions, data[2]);
    const std::size_t limit = kMaxDecodedBytes[data[3] % std::size(kMaxDecodedBytes)];
    const std::string_view body(reinterpret_cast<const char*>(data + 4), size - 4);

    const auto decoded = decode_body(body, content_encoding, content_type, compression, limit);
    const std::string* text = std::get_if<std::string>(&decoded);
    if (!text) return 0;
    if (text->size() > limit) __builtin_trap();  // the limit is the contract, not a hint

    const auto parsed = parse_decide_request(*text);
    const DecideRequest* request = std::get_if<DecideRequest>(&parsed);
    if (!request) return 0;

    const Subject subject{
        request->distinct_id,
        request->device_id ? std::string_view(*request->device_id) : std::string_view(),
        &request->person_properties, &request->groups, &request->group_properties};
    const LocalEvaluation local = evaluate_locally(flags(), subject);
    if (local.needs_database.size() != local.summary.flags.size()) __builtin_trap();
    return 0;
}
